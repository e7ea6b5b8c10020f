// `init`: a research project is a git repository made from a template.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as git from "../git/index.ts";
import { EXIT, UserError } from "../errors.ts";
import { CONFIG_FILE } from "../config/load.ts";
import { harnessHome } from "./paths.ts";

export function templatesDir(): string {
  return join(harnessHome(), "templates");
}

export function listTemplates(): string[] {
  return readdirSync(templatesDir(), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(templatesDir(), entry.name, CONFIG_FILE)))
    .map((entry) => entry.name)
    .sort();
}

export interface InitOptions {
  /** Patches merged into the template's config before the first commit (the demo shortens the budget). */
  configPatch?: Record<string, unknown>;
}

export async function initProject(dir: string, template: string, options: InitOptions = {}): Promise<string> {
  const templates = listTemplates();
  if (!templates.includes(template)) {
    throw new UserError(`unknown template "${template}"`, { exitCode: EXIT.usage, hint: `Available templates: ${templates.join(", ")}.` });
  }
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new UserError(`${target} already exists and is not empty`, { exitCode: EXIT.usage, hint: "Pick a new directory name; init never overwrites files." });
  }
  mkdirSync(target, { recursive: true });
  cpSync(join(templatesDir(), template), target, { recursive: true });
  if (options.configPatch) {
    const configPath = join(target, CONFIG_FILE);
    const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(configPath, `${JSON.stringify({ ...config, ...options.configPatch }, null, 2)}\n`);
  }
  const gitignore = join(target, ".gitignore");
  const ignored = ["/.autoresearch/", "/results.tsv", "node_modules/"];
  const existing = existsSync(gitignore) ? readFileSync(gitignore, "utf8") : "";
  writeFileSync(gitignore, existing + ignored.filter((line) => !existing.includes(line)).map((line) => `${line}\n`).join(""));
  await git.initRepo(target);
  await git.commitInitial(target, `autoresearch: new ${template} project`);
  return target;
}
