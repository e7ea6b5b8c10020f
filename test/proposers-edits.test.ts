import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyEdits } from "../src/proposers/edits.ts";

const files = {
  "model.ts": "const LR = 0.1;\nconst SIZE = 8;\nexport function train() {\n  return LR * SIZE;\n}\n",
  "notes.py": "x = 1\nx = 1\n",
};

function failure(result: ReturnType<typeof applyEdits>): string {
  assert.equal(result.ok, false, "expected the edits to be refused");
  return (result as { error: string }).error;
}

describe("applyEdits", () => {
  it("applies a search/replace edit and reports the changed file", () => {
    const result = applyEdits(files, [{ path: "model.ts", search: "const LR = 0.1;", replace: "const LR = 0.2;" }]);
    assert.ok(result.ok);
    assert.equal(result.files["model.ts"], files["model.ts"].replace("0.1", "0.2"));
    assert.equal(result.files["notes.py"], files["notes.py"]);
    assert.deepEqual(result.changed, ["model.ts"]);
  });

  it("does not modify the input files", () => {
    const before = { ...files };
    applyEdits(files, [{ path: "model.ts", search: "SIZE = 8", replace: "SIZE = 9" }]);
    assert.deepEqual(files, before);
  });

  it("applies edits in order, a later one seeing the earlier one's result", () => {
    const result = applyEdits(files, [
      { path: "model.ts", search: "const LR = 0.1;", replace: "const LR = 0.2;" },
      { path: "model.ts", search: "const LR = 0.2;", replace: "const LR = 0.3;" },
    ]);
    assert.ok(result.ok);
    assert.match(result.files["model.ts"], /const LR = 0\.3;/);
  });

  it("keeps $ patterns in the replacement literal", () => {
    const result = applyEdits(files, [{ path: "model.ts", search: "LR * SIZE", replace: "$& + '$1'" }]);
    assert.ok(result.ok);
    assert.match(result.files["model.ts"], /return \$& \+ '\$1';/);
  });

  it("replaces or creates whole files", () => {
    const result = applyEdits(files, [
      { path: "notes.py", content: "y = 2\n" },
      { path: "src/extra.ts", content: "export const EXTRA = 1;\n" },
    ]);
    assert.ok(result.ok);
    assert.equal(result.files["notes.py"], "y = 2\n");
    assert.equal(result.files["src/extra.ts"], "export const EXTRA = 1;\n");
    assert.deepEqual(result.changed, ["notes.py", "src/extra.ts"]);
  });

  it("does not list files whose content ends up unchanged", () => {
    const result = applyEdits(files, [{ path: "model.ts", search: "SIZE = 8", replace: "SIZE = 8" }]);
    assert.ok(result.ok);
    assert.deepEqual(result.changed, []);
  });

  it("refuses a search text that is not in the file, with an excerpt", () => {
    const error = failure(applyEdits(files, [{ path: "model.ts", search: "const LR = 0.5;", replace: "x" }]));
    assert.match(error, /edit 1 of 1 \(model\.ts\)/);
    assert.match(error, /"const LR = 0\.5;" was not found/);
  });

  it("points at the line when only the first line of the search text matches", () => {
    const error = failure(applyEdits(files, [{ path: "model.ts", search: "export function train() {\n    return LR;", replace: "x" }]));
    assert.match(error, /first line appears at line 3/);
    assert.match(error, /whitespace/);
  });

  it("refuses a search text that matches more than once, saying how often and where", () => {
    const error = failure(applyEdits(files, [{ path: "notes.py", search: "x = 1", replace: "x = 2" }]));
    assert.match(error, /matched 2 times \(at lines 1, 2\)/);
    assert.match(error, /exactly once/);
  });

  it("names the failing edit among several", () => {
    const error = failure(
      applyEdits(files, [
        { path: "model.ts", search: "SIZE = 8", replace: "SIZE = 9" },
        { path: "model.ts", search: "missing", replace: "x" },
      ]),
    );
    assert.match(error, /^edit 2 of 2 \(model\.ts\)/);
  });

  it("refuses absolute paths, '..', and backslashes", () => {
    assert.match(failure(applyEdits(files, [{ path: "/etc/passwd", content: "x" }])), /absolute/);
    assert.match(failure(applyEdits(files, [{ path: "C:/x.ts", content: "x" }])), /absolute/);
    assert.match(failure(applyEdits(files, [{ path: "../outside.ts", content: "x" }])), /"\.\."/);
    assert.match(failure(applyEdits(files, [{ path: "src/../../x.ts", content: "x" }])), /"\.\."/);
    assert.match(failure(applyEdits(files, [{ path: "src\\x.ts", content: "x" }])), /backslashes/);
  });

  it("refuses a search/replace edit on a file that is not among the mutable files", () => {
    const error = failure(applyEdits(files, [{ path: "evaluate.ts", search: "a", replace: "b" }]));
    assert.match(error, /no such file among the mutable files \(model\.ts, notes\.py\)/);
    assert.match(error, /"content"/);
  });

  it("refuses an empty search text and an empty edit list", () => {
    assert.match(failure(applyEdits(files, [{ path: "model.ts", search: "", replace: "x" }])), /"search" is empty/);
    assert.match(failure(applyEdits(files, [])), /no edits/);
  });
});
