// What the Kubernetes executor asks the API server for, as plain objects (no client, no I/O): the Job of
// one experiment, the ConfigMap that carries its spec, and the spec as the pod runs it. The pod's layout:
//   /workspace/repo            the candidate, fetched from the git remote by the fetch-code init container
//   /workspace/run             the job's run directory (output, result.json), /workspace/home its HOME
//   /data                      the prepared data: a PersistentVolumeClaim, or an archive fetched by fetch-data
//   /etc/autoresearch/spec     job.json (the ConfigMap), /etc/autoresearch/git the git credentials (a Secret)
// The pod's log is the job's log (`autoresearch job --log -`), ending with the marked result line.
import { join, relative } from "node:path";
import type { KubernetesExecutorConfig } from "../config/kubernetes.ts";
import { ENV_DATA_DIR, ENV_HOME, ENV_OUTPUT_DIR } from "../project/contract.ts";
import { SESSION_MARKER_ENV } from "../runner/markers.ts";
import { RESULT_TOKEN_ENV } from "../job/result-line.ts";
import type { JobSpec } from "../job/spec.ts";

export const POD_PATHS = {
  workspace: "/workspace",
  repo: "/workspace/repo",
  run: "/workspace/run",
  home: "/workspace/home",
  data: "/data",
  spec: "/etc/autoresearch/spec",
  git: "/etc/autoresearch/git",
} as const;

/** Where the worker images (Dockerfile, Dockerfile.cuda) put Python and the engine. */
export const IMAGE_ENV = {
  PATH: "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  [ENV_HOME]: "/opt/autoresearch",
  HOME: POD_PATHS.home,
} as const;

/** The job's container; its log is the experiment's log. */
export const JOB_CONTAINER = "job";
export const FETCH_CODE_CONTAINER = "fetch-code";
export const FETCH_DATA_CONTAINER = "fetch-data";

export const LABELS = { managedBy: "app.kubernetes.io/managed-by", session: "autoresearch/session", experiment: "autoresearch/experiment", job: "autoresearch/job" } as const;
export const ANNOTATIONS = { commit: "autoresearch/commit", ref: "autoresearch/ref" } as const;

/** Variables of the harness's machine that mean nothing in the pod (the image and the GPU plugin set their own). */
const MACHINE_LOCAL_ENV = [
  "PATH", "HOME", "TMPDIR", "SHELL", "PWD", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "CUDA_HOME",
  "AUTORESEARCH_PYTHON", ENV_HOME, ENV_DATA_DIR, ENV_OUTPUT_DIR, SESSION_MARKER_ENV,
];

export interface JobIdentity {
  /** The session's key (16 hex digits): every Job of the session carries it as a label. */
  sessionKey: string;
  /** refs/autoresearch/<tag>/<id>: where the harness pushed the candidate. */
  ref: string;
  /** 0 for the first submission, 1 for the one re-submission after a lost node. */
  attempt: number;
  /** Proves the result line was written by `autoresearch job`, not printed by the workload. */
  resultToken: string;
}

/** The Job's (and its ConfigMap's) name: a DNS label, the same for the same experiment in every harness run. */
export function jobName(sessionKey: string, experimentId: number, attempt: number): string {
  return `autoresearch-${sessionKey}-${experimentId}${attempt > 0 ? `-retry${attempt}` : ""}`;
}

/** The pod's hard deadline: every phase's limit, the kill graces, and the allowance for scheduling, pulling and fetching. */
export function activeDeadlineSeconds(job: JobSpec, config: KubernetesExecutorConfig): number {
  const phases = (job.train?.timeoutSeconds ?? 0) + (job.evaluate?.timeoutSeconds ?? 0) + (job.measure?.timeoutSeconds ?? 0);
  return Math.ceil(phases + 3 * job.killGraceSeconds + config.startupSeconds);
}

/** The spec as the pod runs it: the pod's paths, a scratch checkout of the fetched repository, the image's environment. */
export function podJobSpec(job: JobSpec, config: KubernetesExecutorConfig): JobSpec {
  const env = Object.fromEntries(Object.entries(job.env).filter(([name]) => !MACHINE_LOCAL_ENV.includes(name)));
  const inData = (path: string) => join(POD_PATHS.data, relative(job.data.dir, path));
  return {
    ...job,
    repository: POD_PATHS.repo,
    workdir: null,
    data: { ...job.data, dir: POD_PATHS.data, hidden: job.data.hidden.map(inData) },
    env: { ...env, ...IMAGE_ENV, ...config.env },
    sandbox: job.sandbox ? { ...job.sandbox, readOnly: [...config.sandboxReadOnly] } : null,
    runDir: POD_PATHS.run,
    outputDir: join(POD_PATHS.run, relative(job.runDir, job.outputDir) || "out"),
    logPath: join(POD_PATHS.run, "job.log"),
    resultPath: join(POD_PATHS.run, "result.json"),
  };
}

/** Fetches exactly the candidate commit (shallow) into /workspace/repo; refuses a ref that moved. */
const FETCH_CODE_SCRIPT = `set -eu
mkdir -p ${POD_PATHS.home} ${POD_PATHS.run}
export HOME=${POD_PATHS.home}
if [ -f ${POD_PATHS.git}/ssh-privatekey ]; then
  export GIT_SSH_COMMAND="ssh -i ${POD_PATHS.git}/ssh-privatekey -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new"
fi
git init -q ${POD_PATHS.repo}
cd ${POD_PATHS.repo}
if [ -f ${POD_PATHS.git}/.git-credentials ]; then
  git config credential.helper "store --file=${POD_PATHS.git}/.git-credentials"
fi
git fetch -q --depth=1 "$AUTORESEARCH_GIT_REMOTE" "+$AUTORESEARCH_GIT_REF:$AUTORESEARCH_GIT_REF"
fetched=$(git rev-parse "$AUTORESEARCH_GIT_REF^{commit}")
if [ "$fetched" != "$AUTORESEARCH_COMMIT" ]; then
  echo "fetch-code: $AUTORESEARCH_GIT_REF is $fetched on the remote, expected $AUTORESEARCH_COMMIT" >&2
  exit 3
fi
echo "fetch-code: $AUTORESEARCH_GIT_REF at $fetched"
`;

const FETCH_DATA_SCRIPT = `set -eu
curl -fsSL --retry 3 "$AUTORESEARCH_DATA_URL" | tar -xz -C ${POD_PATHS.data}
echo "fetch-data: $(find ${POD_PATHS.data} -type f | wc -l) file(s) from $AUTORESEARCH_DATA_URL"
`;

type Manifest = Record<string, unknown>;

export function sessionLabels(sessionKey: string): Record<string, string> {
  return { [LABELS.managedBy]: "autoresearch", [LABELS.session]: sessionKey };
}

export function jobManifest(job: JobSpec, config: KubernetesExecutorConfig, identity: JobIdentity): Manifest {
  const name = jobName(identity.sessionKey, job.experimentId, identity.attempt);
  const labels = { ...sessionLabels(identity.sessionKey), [LABELS.experiment]: String(job.experimentId), [LABELS.job]: name };
  const data = config.data;
  const resources: Manifest = {
    requests: { ...(config.cpu ? { cpu: config.cpu } : {}), ...(config.memory ? { memory: config.memory } : {}) },
    limits: { ...(config.memory ? { memory: config.memory } : {}), ...(config.gpusPerJob > 0 ? { "nvidia.com/gpu": String(config.gpusPerJob) } : {}) },
  };
  const workspaceMount = { name: "workspace", mountPath: POD_PATHS.workspace };
  const dataMount = { name: "data", mountPath: POD_PATHS.data, ...(data && "claimName" in data && data.subPath ? { subPath: data.subPath } : {}) };
  const gitMount = config.gitSecret ? [{ name: "git", mountPath: POD_PATHS.git, readOnly: true }] : [];
  const initContainers: Manifest[] = [{
    name: FETCH_CODE_CONTAINER,
    image: config.image,
    command: ["/bin/sh", "-c", FETCH_CODE_SCRIPT],
    env: [
      { name: "AUTORESEARCH_GIT_REMOTE", value: config.gitRemote },
      { name: "AUTORESEARCH_GIT_REF", value: identity.ref },
      { name: "AUTORESEARCH_COMMIT", value: job.commit },
    ],
    volumeMounts: [workspaceMount, ...gitMount],
  }];
  if (data && "url" in data) {
    initContainers.push({
      name: FETCH_DATA_CONTAINER, image: config.image, command: ["/bin/sh", "-c", FETCH_DATA_SCRIPT],
      env: [{ name: "AUTORESEARCH_DATA_URL", value: data.url }], volumeMounts: [dataMount],
    });
  }
  const volumes: Manifest[] = [
    { name: "workspace", emptyDir: {} },
    data && "claimName" in data ? { name: "data", persistentVolumeClaim: { claimName: data.claimName, readOnly: true } } : { name: "data", emptyDir: {} },
    { name: "spec", configMap: { name } },
    ...(config.gitSecret ? [{ name: "git", secret: { secretName: config.gitSecret, defaultMode: 0o400 } }] : []),
  ];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: config.namespace, labels, annotations: { [ANNOTATIONS.commit]: job.commit, [ANNOTATIONS.ref]: identity.ref } },
    spec: {
      // A failed pod is the experiment's result, never retried behind the harness's back.
      backoffLimit: 0,
      activeDeadlineSeconds: activeDeadlineSeconds(job, config),
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // The pod runs proposed code: it gets no credentials for the API server.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: job.killGraceSeconds + 10,
          ...(config.serviceAccount ? { serviceAccountName: config.serviceAccount } : {}),
          ...(config.imagePullSecrets.length > 0 ? { imagePullSecrets: config.imagePullSecrets.map((secret) => ({ name: secret })) } : {}),
          ...(Object.keys(config.nodeSelector).length > 0 ? { nodeSelector: config.nodeSelector } : {}),
          ...(config.tolerations.length > 0 ? { tolerations: config.tolerations } : {}),
          initContainers,
          containers: [{
            name: JOB_CONTAINER,
            image: config.image,
            command: ["autoresearch", "job", `${POD_PATHS.spec}/job.json`, "--log", "-", "--print-result", "--devices-from-env"],
            env: [
              { name: RESULT_TOKEN_ENV, value: identity.resultToken },
              { name: "AUTORESEARCH_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            ],
            resources,
            ...(config.securityContext ? { securityContext: config.securityContext } : {}),
            volumeMounts: [workspaceMount, { ...dataMount, readOnly: true }, { name: "spec", mountPath: POD_PATHS.spec, readOnly: true }],
          }],
          volumes,
        },
      },
    },
  };
}

/** The ConfigMap with the pod's spec, owned by the Job: deleting the Job (or its TTL) deletes it too. */
export function specConfigMap(job: JobSpec, config: KubernetesExecutorConfig, owner: { name: string; uid: string }, sessionKey: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: owner.name, namespace: config.namespace, labels: { ...sessionLabels(sessionKey), [LABELS.experiment]: String(job.experimentId) },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: owner.name, uid: owner.uid }],
    },
    data: { "job.json": `${JSON.stringify(podJobSpec(job, config), null, 2)}\n` },
  };
}
