// What the Kubernetes executor asks for, as plain values: the Job of one experiment from the config's
// section, the spec as the pod runs it, and the result line only `autoresearch job` can write.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kubernetesExecutorSchema } from "../src/config/kubernetes.ts";
import { jobManifest, podJobSpec } from "../src/executors/kubernetes-manifest.ts";
import { formatResultLine, readResultLine } from "../src/job/result-line.ts";
import type { JobResult, JobSpec } from "../src/job/spec.ts";

const spec: JobSpec = {
  version: 1, experimentId: 12, repository: "/home/me/study", commit: "a".repeat(40), workdir: "/home/me/study/.autoresearch/slots/0",
  protectedGlobs: ["evaluate.py"], protectedChecksums: { "evaluate.py": "b".repeat(64) },
  data: { dir: "/home/me/study/.autoresearch/data", snapshot: null, hidden: ["/home/me/study/.autoresearch/data/shards/val.bin"] },
  train: { command: "python train.py", budgetSeconds: 300, timeoutSeconds: 325 }, measure: null,
  evaluate: { command: "python evaluate.py", timeoutSeconds: 120, serve: null, replicas: 2 }, killGraceSeconds: 5, device: "cuda:0",
  env: { PATH: "/home/me/.venv/bin:/usr/bin", HOME: "/home/me", CUDA_VISIBLE_DEVICES: "3", LANG: "C.UTF-8", AUTORESEARCH_SESSION_MARKER: "k" },
  sandbox: { network: false, readOnly: ["/home/me/.venv"], limits: { tmpMb: 512, maxFileMb: 1024, maxProcesses: 256 } },
  metric: { name: "val_bpb", secondary: [] },
  runDir: "/home/me/study/.autoresearch/runs/12", outputDir: "/home/me/study/.autoresearch/runs/12/out",
  logPath: "/home/me/study/.autoresearch/logs/12.log", resultPath: "/home/me/study/.autoresearch/runs/12/result.json",
  marker: { name: "AUTORESEARCH_RUN_MARKER", value: "k/12" },
};

const config = kubernetesExecutorSchema.parse({
  kind: "kubernetes", image: "registry.example.com/worker:cuda", gitRemote: "git@example.com:me/study.git", gitSecret: "study-git",
  namespace: "research", serviceAccount: "researcher", gpusPerJob: 2, memory: "32Gi", cpu: "8",
  nodeSelector: { "nvidia.com/gpu.product": "H100" }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
  data: { url: "https://example.com/data.tar.gz" }, securityContext: { seccompProfile: { type: "Unconfined" } },
});
const identity = { sessionKey: "0123456789abcdef", ref: "refs/autoresearch/mar5/12", attempt: 0, resultToken: "t0k3n" };

test("the Job asks for what the config says: GPUs, memory, node selector, tolerations, the service account, no API token", () => {
  const job = jobManifest(spec, config, identity) as any;
  assert.equal(job.metadata.name, "autoresearch-0123456789abcdef-12");
  assert.equal(job.spec.backoffLimit, 0);
  assert.equal(job.spec.activeDeadlineSeconds, 325 + 120 + 15 + 900);
  const pod = job.spec.template.spec;
  assert.equal(pod.restartPolicy, "Never");
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.serviceAccountName, "researcher");
  assert.deepEqual(pod.nodeSelector, { "nvidia.com/gpu.product": "H100" });
  assert.deepEqual(pod.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  const [main] = pod.containers;
  assert.deepEqual(main.resources, { requests: { cpu: "8", memory: "32Gi" }, limits: { memory: "32Gi", "nvidia.com/gpu": "2" } });
  assert.deepEqual(main.securityContext, { seccompProfile: { type: "Unconfined" } });
  assert.deepEqual(main.command, ["autoresearch", "job", "/etc/autoresearch/spec/job.json", "--log", "-", "--print-result", "--devices-from-env"]);
  assert.deepEqual(pod.initContainers.map((each: { name: string }) => each.name), ["fetch-code", "fetch-data"]);
  assert.deepEqual(pod.initContainers[0].env.map((each: { value: string }) => each.value), ["git@example.com:me/study.git", "refs/autoresearch/mar5/12", "a".repeat(40)]);
  assert.deepEqual(pod.volumes.find((each: { name: string }) => each.name === "git"), { name: "git", secret: { secretName: "study-git", defaultMode: 0o400 } });
  assert.equal(job.spec.template.metadata.labels["autoresearch/session"], "0123456789abcdef");
});

test("the pod's spec has the pod's paths, a scratch checkout of the fetched repository and the image's environment", () => {
  const inPod = podJobSpec(spec, config);
  assert.equal(inPod.repository, "/workspace/repo");
  assert.equal(inPod.workdir, null);
  assert.deepEqual(inPod.data.hidden, ["/data/shards/val.bin"]);
  assert.equal(inPod.outputDir, "/workspace/run/out");
  assert.equal(inPod.env.PATH, "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  assert.equal(inPod.env.HOME, "/workspace/home");
  assert.equal(inPod.env.LANG, "C.UTF-8", "the rest of the harness's allow-listed environment goes along");
  assert.equal(inPod.env.CUDA_VISIBLE_DEVICES, undefined, "the GPU plugin decides what the pod sees");
  assert.equal(inPod.env.AUTORESEARCH_SESSION_MARKER, undefined);
  assert.deepEqual(inPod.sandbox?.readOnly, ["/opt/venv"]);
  assert.deepEqual(inPod.protectedChecksums, spec.protectedChecksums, "the checks travel unchanged");
});

test("only the log's last line, with the submission's token, is a result", () => {
  const result = { version: 1, experimentId: 12, status: "ok", metric: 0.91 } as JobResult;
  const line = formatResultLine(result, "t0k3n");
  assert.equal(readResultLine(`step 1\n${line}\n`, "t0k3n", 12)?.metric, 0.91);
  const forged = formatResultLine({ ...result, metric: 0.01 }, "guess");
  assert.equal(readResultLine(`${forged}\n`, "t0k3n", 12), null, "printed by the workload, without the token");
  assert.equal(readResultLine(`${line}\nOOM killed\n`, "t0k3n", 12), null, "not the last line: the job did not end there");
  assert.equal(readResultLine(`${formatResultLine({ ...result, experimentId: 11 }, "t0k3n")}\n`, "t0k3n", 12), null, "another experiment's");
  assert.equal(readResultLine(`${line}\n`, "", 12), null, "no token, no result");
});
