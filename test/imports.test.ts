// The shape of src/ as an import graph: no cycles (type imports count: a cycle of types is a
// cycle of concepts), and the session driver in src/loop/ is a top layer that only its drivers use.
//
// The rules (also in docs/architecture.md):
// - A file outside src/loop/ imports from src/loop/ only if it drives sessions: src/cli/ (run, demo,
//   status) and src/mcp/ (run_experiment, the views). Everything else — the ledger, proposers, the
//   runner, executors, views, the dashboard — sits below the loop, so the loop can change without
//   touching them and they can be used without a session.
// - src/core/ (the experiment and session records, statuses, summary counts) imports nothing but
//   itself: everything may depend on it, and the dashboard's front end bundles it for the browser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");
const LOOP_DRIVERS = ["src/cli/", "src/mcp/"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

/** Every module a file names: import/export ... from (type-only included), import "x", import("x"), import("x").Type. */
export function moduleSpecifiers(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function specifiersOf(file: string): string[] {
  return moduleSpecifiers(file, readFileSync(join(ROOT, file), "utf8"));
}

/** file -> the src/ files it imports (relative specifiers only; packages and node: builtins are not edges). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const targets = specifiersOf(file)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)))
      .filter((target) => target.startsWith("src/"));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Each cycle once, as the path that closes it (a → b → a). Depth-first search with colours. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === "open") cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test("the checker sees every kind of import, and finds a cycle when there is one", () => {
  const text = [
    `import { a } from "./a.ts";`,
    `import type {\n  B,\n} from "./b.ts";`,
    `export { c } from "./c.ts";`,
    `export type * from "./d.ts";`,
    `import "./e.ts";`,
    `const f = await import("./f.ts");`,
    `type G = import("./g.ts").G;`,
    `// import { h } from "./h.ts";`,
    `const text = 'import { i } from "./i.ts"';`,
  ].join("\n");
  assert.deepEqual(moduleSpecifiers("x.ts", text).sort(), ["./a.ts", "./b.ts", "./c.ts", "./d.ts", "./e.ts", "./f.ts", "./g.ts"]);
  const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(findCycles(graph), [["a", "b", "c", "a"]]);
  assert.deepEqual(findCycles(new Map([["a", ["b"]], ["b", []]])), []);
});

test("src/ has no import cycle, type imports included", () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, `expected the whole of src/, found ${graph.size} files`);
  const cycles = findCycles(graph);
  assert.deepEqual(cycles.map((cycle) => cycle.join(" → ")), []);
});

test("only the session drivers (src/cli/, src/mcp/) import from src/loop/", () => {
  const upward: string[] = [];
  for (const [file, targets] of importGraph()) {
    if (file.startsWith("src/loop/") || LOOP_DRIVERS.some((driver) => file.startsWith(driver))) continue;
    for (const target of targets) if (target.startsWith("src/loop/")) upward.push(`${file} → ${target}`);
  }
  assert.deepEqual(upward, []);
});

test("src/core/ imports nothing but itself: no other folder, no package, no Node builtin", () => {
  const outside: string[] = [];
  for (const file of sourceFiles(join(SRC, "core"))) {
    for (const specifier of specifiersOf(file)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      if (!specifier.startsWith(".") || !target.startsWith("src/core/")) outside.push(`${file} → ${specifier}`);
    }
  }
  assert.ok(sourceFiles(join(SRC, "core")).length >= 3);
  assert.deepEqual(outside, []);
});
