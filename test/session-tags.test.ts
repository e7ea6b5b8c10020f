// Tags become git branch and ref names: every tag we accept is one git accepts, and a refused one says why.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { tagProblem } from "../src/loop/session.ts";

function gitAccepts(tag: string): boolean {
  const branch = spawnSync("git", ["check-ref-format", `refs/heads/autoresearch/${tag}`]).status === 0;
  const candidate = spawnSync("git", ["check-ref-format", `refs/autoresearch/${tag}/12`]).status === 0;
  return branch && candidate;
}

test("tags: what git refuses as a ref name is refused up front, with the reason", () => {
  const refused: Array<[string, RegExp]> = [
    ["a..b", /contains "\.\."/],
    ["a.", /ends with "\."/],
    ["x.lock", /\.lock/],
    ["a b", /contains " "/],
    ["a~1", /contains "~"/],
    ["a:b", /contains ":"/],
    ["a/b", /contains "\/"/],
    ["-x", /start with a letter or a digit/],
    [".x", /start with a letter or a digit/],
    ["", /empty/],
    ["é", /contains "é"/],
    ["x".repeat(65), /limit is 64/],
  ];
  for (const [tag, reason] of refused) assert.match(tagProblem(tag) ?? "accepted", reason, tag);
});

test("tags: every tag accepted is a valid git ref name (checked by git itself)", () => {
  const alphabet = ["a", "Z", "0", ".", "_", "-", "l", "o", "c", "k"];
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  let accepted = 0;
  for (let index = 0; index < 80; index++) {
    const length = 1 + (next() % 7);
    const tag = Array.from({ length }, () => alphabet[next() % alphabet.length]).join("");
    const ours = tagProblem(tag) === null;
    if (ours) {
      accepted += 1;
      assert.ok(gitAccepts(tag), `we accept "${tag}" but git refuses it`);
    }
  }
  assert.ok(accepted > 15, `the sample exercised accepted tags (${accepted})`);
  for (const tag of ["mar5", "mar5-lr.2", "2025.01.02", "a_b"]) assert.equal(tagProblem(tag), null, tag);
});
