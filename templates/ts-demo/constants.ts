// Protected: what prepare.ts and evaluate.ts agree on. Changing any of these changes the
// data or the metric, so results from before and after would no longer be comparable.

/** Split files written into AUTORESEARCH_DATA_DIR (raw UTF-8 text, ASCII in practice). */
export const TRAIN_FILE = "train.bin";
export const VAL_FILE = "val.bin";
export const TEST_FILE = "test.bin";
/** A small JSON description of the splits (which documents went where, sizes). */
export const MANIFEST_FILE = "splits.json";

/**
 * Whole Brown-corpus documents go to a split by their index in sorted file-name order
 * (ca01 = 0 … cr09 = 499): index % 100 == VAL_REMAINDER -> validation, == TEST_REMAINDER
 * -> test, anything else -> train. Four documents each (~48 KB), spread across genres.
 */
export const SPLIT_MODULUS = 125;
export const VAL_REMAINDER = 7;
export const TEST_REMAINDER = 57;

/** The evaluator hands the model at most this many preceding bytes of the split. */
export const EVAL_CONTEXT_BYTES = 64;
/** Positions per predictBatch call during evaluation. */
export const EVAL_BATCH = 512;
/** A prediction is a distribution if its 256 values are finite, >= 0 and sum to 1 within this. */
export const DISTRIBUTION_TOLERANCE = 1e-3;
/**
 * Probabilities below this count as this when scoring (at most ~30 bits for one byte), so a
 * float underflow to 0 costs a bounded amount instead of making the metric infinite.
 */
export const PROBABILITY_FLOOR = 1e-9;
