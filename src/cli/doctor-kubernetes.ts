// `autoresearch doctor`'s checks for the Kubernetes executor: the config's section, the API server through
// the kubeconfig, what this identity may do in the namespace (SelfSubjectAccessReview), the git remote.
import { kubernetesExecutorSchema, type KubernetesExecutorConfig } from "../config/kubernetes.ts";
import { connectKube, KubeApiError, type KubeClient } from "../executors/kubernetes-api.ts";
import { runGit } from "../git/index.ts";
import type { ExecutorCheck } from "./doctor-slurm.ts";

/** What the executor asks the API for: [verb, API group, resource, subresource]. */
const NEEDED: Array<[string, string, string, string?]> = [
  ["create", "batch", "jobs"], ["get", "batch", "jobs"], ["list", "batch", "jobs"], ["watch", "batch", "jobs"], ["delete", "batch", "jobs"],
  ["create", "", "configmaps"], ["list", "", "pods"], ["get", "", "pods", "log"],
];

export async function checkKubernetes(section: unknown, projectDir: string): Promise<ExecutorCheck[]> {
  const parsed = kubernetesExecutorSchema.safeParse(section ?? { kind: "kubernetes" });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `executor.${issue.path.join(".")}: ${issue.message}`).join("; ");
    return [{
      name: "kubernetes config", required: true, ok: false, detail: problems,
      fix: 'Set "executor": {"kind": "kubernetes", "image": ..., "gitRemote": ...} in autoresearch.config.json (README.md "Kubernetes" lists the fields).',
    }];
  }
  const config = parsed.data;
  const checks: ExecutorCheck[] = [];
  let client: KubeClient;
  try {
    client = await connectKube({ namespace: config.namespace, kubeconfig: config.kubeconfig, context: config.context, retry: { attempts: 2, baseMs: 500 } });
  } catch (error) {
    return [{
      name: "kubernetes API", required: true, ok: false, detail: `no usable kubeconfig: ${(error as Error).message.split("\n")[0]}`,
      fix: "Point executor.kubeconfig or $KUBECONFIG at your cluster's kubeconfig (kubectl config view shows the one in use), or name executor.context.",
    }];
  }
  const allowed = await permissions(client, config);
  if (allowed instanceof KubeApiError) {
    const refused = allowed.status === 401 || allowed.status === 403;
    return [{
      name: "kubernetes API", required: true, ok: false, detail: `${client.server}: ${allowed.message}`,
      fix: refused
        ? "The API server refused these credentials: renew them (your cloud's get-credentials, or a new token in the kubeconfig), then run doctor again."
        : "Check that the kubeconfig's server is reachable from here (kubectl cluster-info; a VPN or a bastion), then run doctor again.",
    }];
  }
  checks.push({ name: "kubernetes API", required: true, ok: true, detail: `${client.server} answers (namespace ${config.namespace})` });
  const missing = allowed.filter((each) => !each.allowed).map((each) => each.what);
  checks.push({
    name: "kubernetes permissions", required: true, ok: missing.length === 0,
    detail: missing.length === 0 ? `may create, watch and delete Jobs, create ConfigMaps, list pods and read their logs in ${config.namespace}` : `may not ${missing.join(", ")} in namespace ${config.namespace}`,
    fix: `Ask your cluster's admin for a Role and RoleBinding in ${config.namespace}, e.g. kubectl create role autoresearch -n ${config.namespace} --verb=create,get,list,watch,delete --resource=jobs.batch,configmaps,pods,pods/log && kubectl create rolebinding autoresearch -n ${config.namespace} --role=autoresearch --user=<you>`,
  });
  checks.push(await checkRemote(config, projectDir));
  return checks;
}

async function permissions(client: KubeClient, config: KubernetesExecutorConfig): Promise<Array<{ what: string; allowed: boolean }> | KubeApiError> {
  try {
    return await Promise.all(NEEDED.map(async ([verb, group, resource, subresource]) => ({
      what: `${verb} ${subresource ? `${resource}/${subresource}` : group ? `${resource}.${group}` : resource}`,
      allowed: (await client.canI(verb, group, resource, subresource)).allowed,
    })));
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    return new KubeApiError(`asking what this identity may do in ${config.namespace}: ${(error as Error).message}`, null);
  }
}

async function checkRemote(config: KubernetesExecutorConfig, projectDir: string): Promise<ExecutorCheck> {
  try {
    await runGit(projectDir, ["ls-remote", "--heads", "--", config.gitRemote]);
    return { name: "git remote", required: true, ok: true, detail: `${config.gitRemote} answers (candidates are pushed there as refs/autoresearch/<tag>/<id>)` };
  } catch (error) {
    return {
      name: "git remote", required: true, ok: false, detail: `${config.gitRemote}: ${(error as Error).message.split("\n")[0]}`,
      fix: "The harness pushes each candidate to executor.gitRemote and the pods fetch it from there: check the URL and your credentials (git ls-remote <url>); the pods need executor.gitSecret for a private remote.",
    };
  }
}
