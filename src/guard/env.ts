// The environment a workload runs with: the harness's own, minus anything that could
// be a credential. Proposed code runs unattended; it must not see API keys or tokens.

export interface ScrubResult {
  env: Record<string, string>;
  /** Names (never values) of the variables taken out, sorted. */
  removed: string[];
}

/** Kept even though a rule below might match them: programs need these. */
const ALWAYS_KEPT = new Set([
  "PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TERM", "COLORTERM", "TZ",
  "LANG", "LANGUAGE", "TMPDIR", "TMP", "TEMP", "NODE_OPTIONS", "NODE_PATH", "LD_LIBRARY_PATH",
  "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM", "VIRTUAL_ENV",
]);

/** Families that only hold paths, ids and switches (XDG_SESSION_ID is not a secret). */
const KEPT_PREFIXES = ["XDG_", "LC_"];

/** Whole families that hold cloud, forge or LLM-provider access; removed by name prefix. */
const SECRET_PREFIXES = [
  "AWS_", "AZURE_", "ARM_CLIENT_", "GCP_", "GCLOUD_", "CLOUDSDK_", "GOOGLE_", "GH_", "GITHUB_", "GITLAB_",
  "OPENAI_", "ANTHROPIC_", "GEMINI_", "MISTRAL_", "COHERE_", "GROQ_", "OPENROUTER_", "REPLICATE_",
  "VAULT_", "ACTIONS_", "TWINE_", "DOCKER_", "SLACK_", "STRIPE_", "CLOUDFLARE_", "DIGITALOCEAN_",
];

/** Single names that point at credentials without saying KEY or TOKEN. */
const SECRET_NAMES = new Set([
  "SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO", "KUBECONFIG", "NETRC", "DBUS_SESSION_BUS_ADDRESS",
  "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY", "NPM_TOKEN", "DATABASE_URL", "SENTRY_DSN", "VSCODE_GIT_IPC_HANDLE",
]);

/**
 * Words that mark a credential when they appear as a whole word of the name
 * (split on "_", "-", "." and camelCase), so TOKENIZERS_PARALLELISM and KEYBOARD stay.
 */
const SECRET_WORDS = new Set([
  "KEY", "KEYS", "APIKEY", "ACCESSKEY", "SECRETKEY", "PRIVATEKEY",
  "TOKEN", "TOKENS", "AUTHTOKEN", "ACCESSTOKEN", "JWT",
  "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PWD", "PASSPHRASE", "ASKPASS",
  "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "COOKIE", "COOKIES", "SESSION", "DSN",
]);

/** Fragments unambiguous enough to match inside a word too (PGPASSWORD, MYAPIKEY). */
const SECRET_FRAGMENTS = ["PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY", "ACCESSKEY", "AUTHTOKEN", "ACCESSTOKEN"];

/** Values shaped like well-known tokens, whatever the variable is called. */
const SECRET_VALUES = [
  /^(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/, // GitHub
  /^github_pat_[A-Za-z0-9_]{20,}/,
  /^glpat-[A-Za-z0-9_-]{20,}/,               // GitLab
  /^sk-[A-Za-z0-9_-]{20,}/,                  // OpenAI, Anthropic (sk-ant-...)
  /^hf_[A-Za-z0-9]{20,}/,                    // Hugging Face
  /^xox[abprs]-[A-Za-z0-9-]{10,}/,           // Slack
  /^npm_[A-Za-z0-9]{30,}/,
  /^(AKIA|ASIA)[0-9A-Z]{16}$/,               // AWS access key id
  /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, // a URL with user:password@
];

/**
 * Returns a copy of env without credentials. `allow` names variables to keep even if
 * they look secret (the user vouches for them, e.g. a dataset server's token).
 */
export function scrubEnvironment(env: NodeJS.ProcessEnv, options: { allow?: string[] } = {}): ScrubResult {
  const allowed = new Set(options.allow ?? []);
  const kept: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const alwaysKept = ALWAYS_KEPT.has(name) || KEPT_PREFIXES.some((prefix) => name.startsWith(prefix));
    if (allowed.has(name) || alwaysKept || !looksSecret(name, value)) kept[name] = value;
    else removed.push(name);
  }
  return { env: kept, removed: removed.sort() };
}

export function looksSecret(name: string, value: string): boolean {
  const upper = name.toUpperCase();
  if (SECRET_NAMES.has(upper)) return true;
  if (SECRET_PREFIXES.some((prefix) => upper.startsWith(prefix))) return true;
  const words = nameWords(name);
  if (words.some((word) => SECRET_WORDS.has(word))) return true;
  const joined = words.join("");
  if (SECRET_FRAGMENTS.some((fragment) => joined.includes(fragment))) return true;
  return SECRET_VALUES.some((pattern) => pattern.test(value));
}

function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "")
    .map((word) => word.toUpperCase());
}
