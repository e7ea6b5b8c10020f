// The environment a workload or an agent starts from: an allow-list of the harness's own. Proposed
// code runs unattended; whatever the user's shell holds (API keys, tokens, agent sockets, cloud
// profiles) stays out unless it is named here or in the config. Guessing which names are secret
// cannot be done reliably, so nothing is passed for not looking like a secret.

export interface ScrubResult {
  env: Record<string, string>;
  /** Names (never values) of the variables left out, sorted. */
  removed: string[];
}

/**
 * What programs need to start and behave as the user expects, and nothing that grants access:
 * the search path, locale, terminal, temporary directory, thread counts, the GPU selection and
 * libraries, the Python and Node module paths, and the interpreter the gpt template should use.
 */
export const PASSED_BY_DEFAULT: readonly string[] = [
  "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "COLORTERM", "NO_COLOR", "TMPDIR",
  "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "TOKENIZERS_PARALLELISM",
  "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "CUDA_HOME", "LD_LIBRARY_PATH",
  "VIRTUAL_ENV", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE",
  "NODE_OPTIONS", "NODE_PATH",
  "AUTORESEARCH_PYTHON",
];

/** Families of locale settings (LC_ALL, LC_CTYPE, ...). */
const PASSED_PREFIXES = ["LC_"];

const DEFAULTS = new Set(PASSED_BY_DEFAULT);

/**
 * A copy of `env` holding only the variables passed by default and those in `pass` (the config
 * names them: `env.pass` for workloads, `proposer.passEnv` for agents). The harness adds the
 * workload contract's own variables (AUTORESEARCH_*) per phase afterwards.
 */
export function scrubEnvironment(env: NodeJS.ProcessEnv, options: { pass?: readonly string[] } = {}): ScrubResult {
  const passed = new Set(options.pass ?? []);
  const kept: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (DEFAULTS.has(name) || passed.has(name) || PASSED_PREFIXES.some((prefix) => name.startsWith(prefix))) kept[name] = value;
    else removed.push(name);
  }
  return { env: kept, removed: removed.sort() };
}
