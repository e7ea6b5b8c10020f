// What can be checked of train.py's GPU path without a GPU, on PyTorch 2.x on the CPU: fused
// attention with the window mask, flex_attention, torch.compile, bf16 embeddings with fused AdamW
// and Muon, the checkpoint the evaluator loads, and the inputs of the MFU figure. The real speed
// and the CUDA kernels need a GPU: `node bench/gpt.ts --device cuda:0` (docs/benchmarks.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { GPT_TEMPLATE, torchLegs } from "./helpers/gpt.ts";
import { REPO_ROOT } from "./helpers/ts-demo.ts";

const torch2 = torchLegs().find((leg) => leg.name === "torch 2.x")!;

test("the GPU path's pieces agree with the plain ones on PyTorch 2.x", { skip: torch2.python ? false : torch2.reason, timeout: 600_000 }, () => {
  const result = spawnSync(torch2.python!, [join(REPO_ROOT, "test", "helpers", "gpt_gpu_path.py"), GPT_TEMPLATE], {
    encoding: "utf8", timeout: 540_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  assert.equal(result.status, 0, result.stderr);
  const findings = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  const number = (key: string) => findings[key] as number;

  assert.ok(number("sdpa_vs_by_hand") < 1e-5, `SDPA with the window mask differs from attention by hand by ${number("sdpa_vs_by_hand")}`);
  if (findings.flex_missing === undefined) assert.ok(number("flex_vs_by_hand") < 1e-5, `flex_attention differs by ${number("flex_vs_by_hand")}`);
  assert.ok(number("compiled_vs_eager") < 1e-3, `the compiled model's logits differ by ${number("compiled_vs_eager")}`);
  assert.equal(findings.compiled_grads_finite, true);

  assert.equal(findings.bf16_logits_dtype, "torch.float32", "the soft-capped logits come out in float32 for the loss");
  assert.ok(number("bf16_vs_float32") < 0.05, `bf16 autocast moved the logits by ${number("bf16_vs_float32")}`);
  assert.ok(Number.isFinite(number("bf16_loss")));
  assert.deepEqual(findings.params_unchanged_after_step, [], "every parameter with a gradient moves in one step of fused AdamW + Muon");
  assert.equal(findings.wte_dtype_after_step, "torch.bfloat16");
  assert.equal(findings.reloaded_wte_dtype, "torch.float32");
  assert.equal(findings.reloaded_matches, true);

  assert.equal(findings.peak_h100_sxm, 989.5e12);
  assert.equal(findings.peak_h100_pcie, 756e12);
  const model = findings.cuda_model as { depth: number; width: number; windows: number[]; params: number; matrix_params: number; flops_per_token: number };
  assert.deepEqual([model.depth, model.width], [8, 512]);
  assert.deepEqual(model.windows, [1024, 1024, 1024, 2048, 1024, 1024, 1024, 2048], "SSSL over 8 layers, the last one long");
  // 6 FLOPs per matrix parameter and token, plus 12 x width x window per layer for attention.
  assert.equal(model.flops_per_token, 6 * model.matrix_params + 12 * 512 * model.windows.reduce((a, b) => a + b, 0));
});
