// Protected: what prepare.ts and evaluate.ts agree on. Changing any of these changes the
// data or the metric, so results from before and after would no longer be comparable.

/** Split files written into AUTORESEARCH_DATA_DIR (raw UTF-8 text, ASCII in practice). */
export const TRAIN_FILE = "train.bin";
export const VAL_FILE = "val.bin";
export const TEST_FILE = "test.bin";
/** A small JSON description of the splits (documents per split, sizes; not which documents). */
export const MANIFEST_FILE = "splits.json";

/**
 * Whole Brown-corpus documents go to a split in blocks of SPLIT_BLOCK consecutive documents
 * (sorted file names, ca01 … cr09, so each block covers other genres): in each block the document
 * with the smallest HMAC-SHA256(split secret, file name) goes to validation, the next to test,
 * the rest to train. Four documents each (~48 KB); which four only the secret says.
 */
export const SPLIT_BLOCK = 125;
/** The secret's environment variable; the harness draws it once per project. */
export const SPLIT_SECRET_ENV = "AUTORESEARCH_SPLIT_SECRET";
/** A shorter secret is refused (the harness hands 64 hex digits). */
export const MIN_SPLIT_SECRET_LENGTH = 32;

/** The model sees at most this many preceding bytes of the split (serve.ts cuts each context to it). */
export const EVAL_CONTEXT_BYTES = 64;
/**
 * One request to a model server: EVAL_ROWS rows of EVAL_COLUMNS bytes of a split. A row's first
 * EVAL_CONTEXT_BYTES columns are only context (except at the start of a split); the rest are scored.
 */
export const EVAL_ROWS = 4;
export const EVAL_COLUMNS = 512;
/**
 * Share of the scored rows whose copy, with every byte from a random column on taken from another
 * row, also goes to another replica: up to that column both answers must agree (causality).
 */
export const CAUSALITY_CHECK_SHARE = 0.5;
/** How far (nats) two log-probabilities of the same byte after the same bytes may differ. */
export const CAUSALITY_TOLERANCE = 1e-3;
/** A prediction is a distribution if its 256 probabilities sum to 1 within this. */
export const DISTRIBUTION_TOLERANCE = 1e-3;
/**
 * Probabilities below this count as this when scoring (at most ~30 bits for one byte), so a
 * float underflow to 0 costs a bounded amount instead of making the metric infinite.
 */
export const PROBABILITY_FLOOR = 1e-9;
