// The Kubernetes executor against a stand-in API server (test/helpers/fake-kube.ts; there is no cluster on
// these machines) with the real @kubernetes/client-node: each Job's pod really runs `autoresearch job` on
// the experiment's spec, so results are real. Create/watch/log/cancel, a pod that fails, an OOMKilled
// container, 409/410/500 from the API, a dropped watch and a lost node are each recorded as they should be;
// doctor says what is wrong with the kubeconfig, the namespace's permissions or the section.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test, type TestContext } from "node:test";
import { kubernetesExecutorSchema } from "../../src/config/kubernetes.ts";
import { createKubernetesExecutor } from "../../src/executors/kubernetes.ts";
import type { JobResult, JobSpec } from "../../src/job/spec.ts";
import { runSession } from "../../src/loop/session.ts";
import { FakeKube } from "../helpers/fake-kube.ts";
import { baseConfig, CLI, gitIn, ledgerRows, makeProject, recordingBus } from "../helpers/project.ts";

const never = new AbortController().signal;
const REPO = join(import.meta.dirname, "..", "..");

/** The executor section the tests use: the stand-in's kubeconfig, a bare repository as the git remote, the project's data as a claim. */
function executorSection(kube: FakeKube, remote: string, extra: Record<string, unknown> = {}) {
  return {
    kind: "kubernetes", image: "autoresearch-worker:test", gitRemote: remote, kubeconfig: kube.kubeconfig, namespace: "research",
    gpusPerJob: 0, data: { claimName: "prepared" },
    // The "image" here is this machine: its Node, and the engine from this checkout.
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, AUTORESEARCH_HOME: REPO }, sandboxReadOnly: [process.execPath],
    ...extra,
  };
}

function bareRemote(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "autoresearch-remote-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync("git", ["init", "-q", "--bare", dir]);
  return dir;
}

interface Fixture {
  dir: string;
  spec: JobSpec;
  metric: number;
}

/** A project whose baseline ran locally: its job spec is what each scenario submits to the stand-in. */
async function fixture(t: TestContext): Promise<Fixture> {
  const dir = makeProject(t, { proposals: [] });
  await runSession({ projectDir: dir, tag: "local", bus: recordingBus().bus, signal: never });
  const baseline = ledgerRows(dir)[0]!;
  assert.equal(baseline.status, "ok");
  const spec = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(baseline.id), "job.json"), "utf8")) as JobSpec;
  return { dir, spec, metric: baseline.metric! };
}

let sessionCounter = 0;

/** One submission's executor and spec, in a run directory of its own. */
function scenario(t: TestContext, fx: Fixture, kube: FakeKube, remote: string, extra: Record<string, unknown> = {}) {
  const runDir = mkdtempSync(join(tmpdir(), "autoresearch-k8s-run-"));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  const spec: JobSpec = { ...fx.spec, workdir: null, runDir, outputDir: join(runDir, "out"), logPath: join(runDir, "log"), resultPath: join(runDir, "result.json") };
  const sessionKey = `5e5510e${String(++sessionCounter).padStart(9, "0")}`;
  const config = kubernetesExecutorSchema.parse(executorSection(kube, remote, extra));
  const make = () => createKubernetesExecutor({ config, slots: 1, sessionKey, tag: "k8s", retry: { attempts: 3, baseMs: 20 } });
  const jobName = `autoresearch-${sessionKey}-${spec.experimentId}`;
  return { spec, executor: make(), make, jobName, log: () => readFileSync(spec.logPath, "utf8") };
}

test("the Kubernetes executor against a stand-in API server", async (t) => {
  const fx = await fixture(t);
  const kube = await FakeKube.start(t, { claims: { prepared: join(fx.dir, ".autoresearch", "data") } });
  const remote = bareRemote(t);

  await t.test("a job runs in a pod, and its result comes back from the pod's log alone", async (t) => {
    const { spec, executor, jobName, log } = scenario(t, fx, kube, remote);
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "ok", log());
    assert.equal(result.metric, fx.metric, "the pod's run measures what the local run measured");
    assert.equal(result.host?.name, "node-1", "the node it ran on");
    assert.match(result.host?.pod ?? "", new RegExp(`^${jobName}-`));
    assert.equal(result.logPath, spec.logPath);
    assert.deepEqual(JSON.parse(readFileSync(spec.resultPath, "utf8")), JSON.parse(JSON.stringify(result)), "result.json is written on the harness's side");
    assert.match(log(), /--- train: node train\.js/, "the pod's log is copied into the experiment's log");
    assert.doesNotMatch(log(), /AUTORESEARCH_RESULT/, "the result line (and its token) stays out of the log");
    assert.equal(gitIn(remote, "rev-parse", `refs/autoresearch/k8s/${spec.experimentId}`), spec.commit, "the candidate was pushed to the remote");
    const job = kube.job(`research/${jobName}`)!;
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.ttlSecondsAfterFinished, 3600);
    assert.equal(job.spec.activeDeadlineSeconds, Math.ceil(spec.train!.timeoutSeconds + spec.evaluate!.timeoutSeconds + 3 * spec.killGraceSeconds + 900));
    assert.equal(job.spec.template.spec.automountServiceAccountToken, false, "proposed code gets no API credentials");
    assert.deepEqual(job.spec.template.spec.containers[0].resources.limits, {}, "no GPU asked for with gpusPerJob 0");
    const configMap = kube.configMaps().find((each) => each.metadata.name === jobName)!;
    assert.deepEqual(configMap.metadata.ownerReferences.map((owner: { uid: string }) => owner.uid), [job.metadata.uid], "the spec's ConfigMap goes with its Job");
    assert.equal(JSON.parse(configMap.data["job.json"]).repository, "/workspace/repo");
  });

  await t.test("cancel deletes the Job with background propagation, and no pod is left running", async (t) => {
    const { spec, executor, jobName, log } = scenario(t, fx, kube, remote);
    const handle = executor.submit(spec);
    kube.onContainerStart = () => handle.cancel();
    t.after(() => (kube.onContainerStart = () => {}));
    const result = await handle.wait();
    assert.equal(result.status, "interrupted", log());
    assert.match(result.reason!, /cancelled by the harness/);
    const deletion = kube.requests.find((request) => request.method === "DELETE" && request.path.endsWith(`/jobs/${jobName}`));
    assert.equal(deletion?.query.get("propagationPolicy"), "Background");
    assert.equal(kube.pods().filter((pod) => pod.metadata.labels["autoresearch/job"] === jobName).length, 0, "the pod was removed with its Job");
    assert.equal(kube.configMaps().filter((each) => each.metadata.name === jobName).length, 0);
    assert.equal(kube.runningContainers(), 0, "its processes are gone");
  });

  await t.test("an OOMKilled container is a crash that says it ran out of memory", async (t) => {
    const { spec, executor, jobName, log } = scenario(t, fx, kube, remote, { memory: "2Gi" });
    kube.podFault = (name) => (name === jobName ? { kind: "oom" } : undefined);
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "crash", log());
    assert.match(result.reason!, /ran out of memory: the pod's container was OOMKilled \(memory limit 2Gi\) on node node-1/);
    assert.equal(result.harnessError, false, "the workload's fault, not the harness's");
    assert.equal(kube.job(`research/${jobName}`)!.spec.template.spec.containers[0].resources.limits.memory, "2Gi");
  });

  await t.test("a pod whose container dies without a result is a crash with its exit code", async (t) => {
    const { spec, executor, jobName, log } = scenario(t, fx, kube, remote);
    kube.podFault = (name) => (name === jobName ? { kind: "killed", exitCode: 139 } : undefined);
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "crash", log());
    assert.match(result.reason!, /the job's container exited 139 \(Error\) on node node-1 without a result/);
  });

  await t.test("a create answered 500 that did happen gets 409 on retry and the Job is adopted, not made twice", async (t) => {
    const { spec, executor, log } = scenario(t, fx, kube, remote);
    const before = kube.requests.filter((request) => request.method === "POST" && request.path.endsWith("/jobs")).length;
    kube.inject({ method: "POST", path: /\/jobs$/, status: 500, apply: true });
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "ok", log());
    assert.equal(kube.requests.filter((request) => request.method === "POST" && request.path.endsWith("/jobs")).length - before, 2);
    assert.match(log(), /already existed \(its create was answered with an error, then 409 Conflict\): adopted/);
  });

  await t.test("5xx answers are retried; when they go on, the experiment is a harness error and its Job is deleted", async (t) => {
    const retried = scenario(t, fx, kube, remote);
    kube.inject({ method: "GET", path: /\/log$/, status: 503, times: 2 });
    assert.equal((await retried.executor.submit(retried.spec).wait()).status, "ok", retried.log());

    const failing = scenario(t, fx, kube, remote);
    kube.inject({ method: "GET", path: /\/pods$/, status: 500, times: 3 });
    const result = await failing.executor.submit(failing.spec).wait();
    assert.equal(result.status, "crash", failing.log());
    assert.equal(result.harnessError, true);
    assert.match(result.reason!, /harness error: listing the job's pods: HTTP 500: injected 500 \(3 attempts\)/);
    assert.equal(kube.job(`research/${failing.jobName}`), undefined, "its Job was deleted");
  });

  await t.test("410 Gone inside a watch: the Jobs are listed again and watched afresh", async (t) => {
    const { spec, executor, log } = scenario(t, fx, kube, remote);
    kube.inject({ method: "GET", path: /\/jobs$/, watch: true, status: 410 });
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "ok", log());
    assert.ok(executor.watchStats.expired >= 1, JSON.stringify(executor.watchStats));
    assert.ok(executor.watchStats.lists >= 2, JSON.stringify(executor.watchStats));
  });

  await t.test("a watch dropped while the pod runs: the Jobs are listed again and nothing is missed", async (t) => {
    const { spec, executor, log } = scenario(t, fx, kube, remote);
    kube.onContainerStart = () => kube.dropWatches();
    t.after(() => (kube.onContainerStart = () => {}));
    const result = await executor.submit(spec).wait();
    assert.equal(result.status, "ok", log());
    assert.ok(executor.watchStats.lists >= 2, JSON.stringify(executor.watchStats));
  });

  await t.test("a pod lost with its node runs once more as a new Job; lost twice, it is interrupted", async (t) => {
    const once = scenario(t, fx, kube, remote);
    kube.podFault = (name) => (name === once.jobName ? { kind: "node-lost" } : undefined);
    const result = await once.executor.submit(once.spec).wait();
    assert.equal(result.status, "ok", once.log());
    assert.match(once.log(), /lost its pod on node node-1 \(DeletionByTaintManager: Taint manager: deleting due to NoExecute taint/);
    assert.match(result.host?.pod ?? "", new RegExp(`^${once.jobName}-retry1-`));

    const twice = scenario(t, fx, kube, remote);
    kube.podFault = (name) => (name.startsWith(twice.jobName) ? { kind: "node-lost" } : undefined);
    const lost = await twice.executor.submit(twice.spec).wait();
    assert.equal(lost.status, "interrupted", twice.log());
    assert.match(lost.reason!, /lost its pod .* \(after a re-run as a new Job\)/);
  });

  await t.test("after a harness restart, a Job still running is found and adopted; one never submitted is not", async (t) => {
    const { spec, executor, make, log } = scenario(t, fx, kube, remote);
    assert.equal(await make().adopt!(spec), null, "nothing to adopt before the Job exists");
    let adopted: Promise<JobResult | null> | null = null;
    kube.onContainerStart = () => {
      adopted ??= make().adopt!(spec).then((handle) => handle && handle.wait());
    };
    t.after(() => (kube.onContainerStart = () => {}));
    const original = await executor.submit(spec).wait();
    const result = await adopted!;
    assert.equal(result?.status, "ok", log());
    assert.equal(result?.metric, original.metric);
    assert.match(log(), /found after a restart of the harness: adopted/);
  });
  kube.podFault = () => undefined;
});

test("a session on Kubernetes gives the kinds of results it gives on this machine, each saying where it ran", async (t) => {
  const remote = bareRemote(t);
  const dir = makeProject(t, { proposals: [{ description: "x to 6", params: { x: 6, mode: "ok" } }, { description: "crash", params: { x: 1, mode: "crash" } }] });
  const kube = await FakeKube.start(t, { claims: { prepared: join(dir, ".autoresearch", "data") } });
  writeFileSync(join(dir, "autoresearch.config.json"), `${JSON.stringify(baseConfig({ slots: 2, outputs: "all", executor: executorSection(kube, remote) }), null, 2)}\n`);
  gitIn(dir, "-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qam", "run on kubernetes");
  const result = await runSession({ projectDir: dir, tag: "k8s", bus: recordingBus().bus, signal: never });
  assert.match(result.reason, /replay file exhausted/);
  const rows = ledgerRows(dir);
  assert.deepEqual(rows.map((row) => [row.description, row.status]), [["baseline (unchanged code)", "ok"], ["x to 6", "ok"], ["crash", "crash"]]);
  assert.equal(rows[1]!.metric, 1);
  assert.match(rows[2]!.reason!, /exit/);
  for (const row of rows) {
    const stored = JSON.parse(readFileSync(join(dir, ".autoresearch", "runs", String(row.id), "result.json"), "utf8")) as JobResult;
    assert.equal(stored.host?.name, "node-1");
    assert.equal(gitIn(remote, "rev-parse", `refs/autoresearch/k8s/${row.id}`), row.candidateCommit ?? row.parentCommit);
  }
});

test("run --executor kubernetes without the config's section says what to add", async (t) => {
  const dir = makeProject(t, { proposals: [] });
  await assert.rejects(
    runSession({ projectDir: dir, tag: "k", bus: recordingBus().bus, signal: never, executorKind: "kubernetes" }),
    /--executor kubernetes needs an "executor" section of kind "kubernetes"/,
  );
});

test("doctor checks the Kubernetes executor: the API through the kubeconfig, what the namespace allows, the git remote", async (t) => {
  const remote = bareRemote(t);
  const denied = new Set<string>();
  const kube = await FakeKube.start(t, { allow: ({ verb, resource }) => !denied.has(`${verb} ${resource}`) });
  const project = (executor: Record<string, unknown>) => makeProject(t, { config: baseConfig({ executor }) });
  // Asynchronously: the stand-in answers from this process.
  const doctor = async (dir: string) => {
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [CLI, "doctor", "--json", "--project", dir], { encoding: "utf8", timeout: 300_000 }, (error, stdout) => resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout }));
    });
    const checks = JSON.parse(out.stdout) as Array<{ name: string; ok: boolean; detail: string; fix?: string }>;
    return { code: out.code, checks: new Map(checks.map((check) => [check.name, check])) };
  };

  const good = await doctor(project(executorSection(kube, remote)));
  assert.equal(good.checks.get("kubernetes API")?.ok, true, JSON.stringify([...good.checks.values()]));
  assert.match(good.checks.get("kubernetes API")!.detail, new RegExp(`${kube.url} answers \\(namespace research\\)`));
  assert.equal(good.checks.get("kubernetes permissions")?.ok, true);
  assert.equal(good.checks.get("git remote")?.ok, true);
  assert.ok(kube.requests.some((request) => request.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"));

  denied.add("delete jobs");
  denied.add("get pods");
  const forbidden = await doctor(project(executorSection(kube, remote)));
  assert.equal(forbidden.code, 4);
  assert.equal(forbidden.checks.get("kubernetes permissions")?.ok, false);
  assert.match(forbidden.checks.get("kubernetes permissions")!.detail, /may not delete jobs\.batch, get pods\/log in namespace research/);
  assert.match(forbidden.checks.get("kubernetes permissions")!.fix!, /kubectl create role autoresearch -n research/);

  const wrongToken = join(mkdtempSync(join(tmpdir(), "autoresearch-kubeconfig-")), "kubeconfig");
  const kubeconfig = JSON.parse(readFileSync(kube.kubeconfig, "utf8"));
  kubeconfig.users[0].user.token = "not-the-token";
  writeFileSync(wrongToken, JSON.stringify(kubeconfig));
  const refused = await doctor(project(executorSection(kube, remote, { kubeconfig: wrongToken })));
  assert.equal(refused.checks.get("kubernetes API")?.ok, false);
  assert.match(refused.checks.get("kubernetes API")!.detail, /HTTP 401/);
  assert.match(refused.checks.get("kubernetes API")!.fix!, /refused these credentials/);

  const incomplete = await doctor(project({ kind: "kubernetes", gitRemote: remote }));
  assert.equal(incomplete.checks.get("kubernetes config")?.ok, false);
  assert.match(incomplete.checks.get("kubernetes config")!.detail, /executor\.image/);
});
