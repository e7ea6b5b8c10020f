// Protected: prepares the data described in constants.json into $AUTORESEARCH_DATA_DIR with the
// implementation that ships with autoresearch (src/data): reads the sources, fixes the
// train/validation/test splits, trains each profile's tokenizer on the train split, and writes
// token shards, evaluation rows and a manifest with the SHA-256 of every file.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const home = process.env.AUTORESEARCH_HOME;
const implementation = home ? join(home, "src", "data", "index.ts") : "";
if (!home || !existsSync(implementation)) {
  console.error(
    `prepare: ${home ? `${implementation} does not exist` : "AUTORESEARCH_HOME is not set"}; run this through \`autoresearch run\`, ` +
      "or set AUTORESEARCH_HOME to the autoresearch installation.",
  );
  process.exit(1);
}
const { runPrepare } = (await import(pathToFileURL(implementation).href)) as { runPrepare: (constantsPath: string) => Promise<number> };
process.exitCode = await runPrepare(join(import.meta.dirname, "constants.json"));
