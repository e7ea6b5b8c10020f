"""The pieces of train.py's GPU path, run on a CPU with PyTorch >= 2: what can be checked of it
without a GPU. Usage: python gpt_gpu_path.py TEMPLATE_DIR. Prints one JSON object of findings;
the test (gpt-gpu-path.test.ts) judges them.

Covered: PyTorch's fused attention with the sliding-window mask against attention by hand and
against flex_attention; bf16 embeddings under bf16 autocast with fused AdamW and Muon in bf16
(one optimizer step); torch.compile of the model against eager, forward and backward; a
checkpoint with bf16 embeddings loaded into the evaluator's float32 model; the MFU inputs.
Not covered (needs a GPU): CUDA kernels, TF32, pinned-memory copies, the real speed."""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[1])
import gpt_data  # noqa: E402
import train  # noqa: E402

findings = {"torch": torch.__version__}
torch.manual_seed(0)

# Attention: the same windowed mask three ways.
length, window, head_dim = 128, 64, 32
q, k, v = (torch.randn(2, 2, length, head_dim) for _ in range(3))
position = torch.arange(length)
distance = position[:, None] - position[None, :]
mask = (distance >= 0) & (distance < window)
by_hand = torch.softmax(((q @ k.transpose(-2, -1)) / math.sqrt(head_dim)).masked_fill(~mask, float("-inf")), -1) @ v
sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
findings["sdpa_vs_by_hand"] = (sdpa - by_hand).abs().max().item()
try:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "called without torch.compile": expected on a CPU
        flex = train.flex_attend(q, k, v, window)
    findings["flex_vs_by_hand"] = (flex - by_hand).abs().max().item()
except ImportError as error:  # PyTorch < 2.5 has no flex_attention
    findings["flex_missing"] = str(error)

# A small model of the cuda profile's shape (sliding windows, value embeddings), with non-zero
# output projections so that every path carries signal.
args = dict(vocab_size=500, sequence_len=128, n_layer=4, n_head=2, n_kv_head=2, n_embd=64, window_pattern="SSSL")
model = train.build_model(args)
model.init_weights()
with torch.no_grad():
    for block in model.blocks:
        block.attn.c_proj.weight.normal_(0, 0.02)
        block.mlp.c_proj.weight.normal_(0, 0.02)
idx = torch.randint(0, 500, (2, 128))
targets = torch.randint(0, 500, (2, 128))
reference = model(idx).detach()

# torch.compile against eager, in float32 (before the bf16 casts below).
started = time.time()
compiled = torch.compile(model, dynamic=False)
out = compiled(idx)
findings["compiled_vs_eager"] = (out - reference).abs().max().item()
F.cross_entropy(out.reshape(-1, out.size(-1)), targets.reshape(-1)).backward()
findings["compiled_grads_finite"] = all(torch.isfinite(p.grad).all().item() for p in model.parameters() if p.grad is not None)
findings["compile_seconds"] = time.time() - started
model.zero_grad(set_to_none=True)

# What main() does on a GPU: bf16 embeddings, bf16 autocast, fused AdamW, Muon in bf16.
model.wte.to(torch.bfloat16)
model.value_embeds.to(torch.bfloat16)
adam, muon = train.build_optimizers(model, fused=True, compute_dtype=torch.bfloat16)
before = {name: p.detach().float().clone() for name, p in model.named_parameters()}
with torch.autocast("cpu", dtype=torch.bfloat16):
    logits = model(idx)
findings["bf16_logits_dtype"] = str(logits.dtype)
findings["bf16_vs_float32"] = (logits.detach() - reference).abs().max().item()
loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
loss.backward()
adam.step()
muon.step()
findings["bf16_loss"] = loss.item()
findings["params_unchanged_after_step"] = sorted(
    name for name, p in model.named_parameters() if torch.equal(p.detach().float(), before[name]) and p.grad is not None
)
findings["wte_dtype_after_step"] = str(model.wte.weight.dtype)

# The checkpoint as train.py saves it, loaded as evaluate.py does (a float32 model).
evaluator_model = train.build_model(args)
evaluator_model.load_state_dict(model.state_dict())
findings["reloaded_wte_dtype"] = str(evaluator_model.wte.weight.dtype)
findings["reloaded_matches"] = torch.equal(evaluator_model.wte.weight, model.wte.weight.float())

# MFU inputs: the H100 peak by its name as CUDA reports it, and FLOPs per token of the cuda profile's model.
findings["peak_h100_sxm"] = gpt_data.peak_flops("NVIDIA H100 80GB HBM3")
findings["peak_h100_pcie"] = gpt_data.peak_flops("NVIDIA H100 PCIe")
constants = gpt_data.load_constants(sys.argv[1])
cuda_profile = constants["profiles"]["cuda"]
cuda_args = train.model_arguments(cuda_profile, {"vocab_size": cuda_profile["tokenizer"]["vocab_size"], "context": cuda_profile["context"]})
with torch.device("meta"):
    cuda_model = train.build_model(cuda_args)
matrices = sum(p.numel() for p in cuda_model.blocks.parameters() if p.ndim == 2) + cuda_model.lm_head.weight.numel()
findings["cuda_model"] = {
    "depth": cuda_args["n_layer"], "width": cuda_args["n_embd"], "windows": cuda_model.windows,
    "params": sum(p.numel() for p in cuda_model.parameters()), "matrix_params": matrices,
    "flops_per_token": train.flops_per_token(cuda_model),
}
print(json.dumps(findings))
