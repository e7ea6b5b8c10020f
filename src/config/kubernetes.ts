// The `executor` section for Kubernetes (README.md "Kubernetes"): one batch/v1 Job per experiment, the
// candidate's code fetched from a git remote by an init container, the data from a volume or an archive.
import { z } from "zod";

/** A DNS-1123 label: what Kubernetes accepts as a namespace or a Secret's name. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a lowercase DNS label like research").max(63);
/** A quantity as Kubernetes writes them: "4", "500m", "16Gi". */
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, 'must be a Kubernetes quantity like "4", "500m" or "16Gi"');

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(["Equal", "Exists"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
  tolerationSeconds: z.number().int().optional(),
});

export const kubernetesExecutorSchema = z.strictObject({
  kind: z.literal("kubernetes"),
  /** The worker image: Node 24, git, Python with PyTorch and the engine (Dockerfile, Dockerfile.cuda). */
  image: z.string().min(1),
  /** Where the harness pushes each candidate as refs/autoresearch/<tag>/<id>, and the pod fetches it from. */
  gitRemote: z.string().min(1),
  /** A Secret with the pod's git credentials: an `ssh-privatekey` key (SSH remotes) or a `.git-credentials` file (HTTPS). */
  gitSecret: dnsLabel.optional(),
  namespace: dnsLabel.default("default"),
  /** A kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then the pod's service account). */
  kubeconfig: z.string().min(1).optional(),
  /** A context of that kubeconfig (default: its current context). */
  context: z.string().min(1).optional(),
  serviceAccount: dnsLabel.optional(),
  imagePullSecrets: z.array(dnsLabel).default([]),
  /** The prepared data: a PersistentVolumeClaim that holds it, or the URL of a .tar.gz of it; checked against the session's snapshot in the pod. */
  data: z.union([
    z.strictObject({ claimName: dnsLabel, subPath: z.string().min(1).optional() }),
    z.strictObject({ url: z.string().url() }),
  ]).optional(),
  /** nvidia.com/gpu per job; 0 runs the jobs on CPUs. */
  gpusPerJob: z.number().int().min(0).default(1),
  /** Requests (and limits, for memory) of the job's container. */
  cpu: quantity.optional(),
  memory: quantity.optional(),
  nodeSelector: z.record(z.string(), z.string()).default({}),
  tolerations: z.array(toleration).default([]),
  /** Seconds a finished Job (and its pod and log) is kept before Kubernetes removes it; the harness copies the log first. */
  ttlSecondsAfterFinished: z.number().int().min(60).default(3600),
  /** Seconds allowed beyond the phases' hard limits for scheduling, pulling the image and fetching code and data (activeDeadlineSeconds). */
  startupSeconds: z.number().int().min(30).default(900),
  /** The environment of the job's phases in the pod, over the harness's (PATH, HOME and where the engine is come from the image). */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * The job container's securityContext, as Kubernetes takes it. The sandbox (bubblewrap) needs user and mount
   * namespaces, which many clusters' default AppArmor and seccomp profiles refuse: e.g.
   * {"appArmorProfile": {"type": "Unconfined"}, "seccompProfile": {"type": "Unconfined"}}.
   */
  securityContext: z.record(z.string(), z.unknown()).optional(),
  /** Paths of the image the sandbox shows read-only besides /usr (an interpreter's prefix). */
  sandboxReadOnly: z.array(z.string().startsWith("/")).default(["/opt/venv"]),
});

export type KubernetesExecutorConfig = z.output<typeof kubernetesExecutorSchema>;
