import { parse, type Command, type Io } from "./args.ts";
import { UsageError } from "../errors.ts";
import { initProject, listTemplates } from "../project/init.ts";

export const initCommand: Command = {
  help: `usage: autoresearch init <dir> [--template NAME]

Creates <dir> (new, or empty) as a git repository from a template, with program.md and
autoresearch.config.json, and commits it; then \`cd <dir> && autoresearch run\` starts a session.

  --template NAME   the template to copy: ${listTemplates().join(", ")} (default: ts-demo)

example:
  autoresearch init my-study --template gpt`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("init", argv, { template: { type: "string", short: "t" } }, 1);
    const dir = positionals[0];
    if (!dir) throw new UsageError("init: missing <dir>", "Usage: autoresearch init <dir> --template ts-demo");
    const target = await initProject(dir, values.template ?? "ts-demo");
    io.stdout(`created ${target} from template ${values.template ?? "ts-demo"}\n\nnext:\n  cd ${dir}\n  autoresearch run\n`);
    return 0;
  },
};
