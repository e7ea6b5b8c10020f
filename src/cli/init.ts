import { parse, type Command, type Io } from "./args.ts";
import { UsageError } from "../errors.ts";
import { initProject, listTemplates } from "../project/init.ts";

export const initCommand: Command = {
  help: `usage: autoresearch init <dir> --template NAME

Creates <dir> as a new git repository from a template and commits it.
Templates: ${listTemplates().join(", ")}

  --template NAME   the template to copy (default: ts-demo)`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse("init", argv, { template: { type: "string", short: "t" } }, 1);
    const dir = positionals[0];
    if (!dir) throw new UsageError("init: missing <dir>", "Usage: autoresearch init <dir> --template ts-demo");
    const target = await initProject(dir, values.template ?? "ts-demo");
    io.stdout(`created ${target} from template ${values.template ?? "ts-demo"}\n\nnext:\n  cd ${dir}\n  autoresearch run\n`);
    return 0;
  },
};
