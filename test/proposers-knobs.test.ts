import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatKnobNumber, parseKnobs, setKnobValue, type Knob } from "../src/proposers/knobs.ts";

const TS = [
  "import { x } from './x';",
  "const LEARNING_RATE = 0.003; // @knob min=0.0001 max=0.3 scale=log",
  "const HIDDEN_SIZE = 32; // @knob min=8 max=512 scale=log int",
  "export const CONTEXT_BYTES = 3; // @knob min=1 max=16 int",
  'const ACTIVATION = "tanh"; // @knob choices=tanh,relu',
  "const config = {",
  "  lr: 0.5, // @knob min=0.01 max=2 scale=log",
  "  mode: 'fast', // @knob choices=fast,slow",
  "};",
  "let DECAY: number = -1.5e-3; // @knob min=-0.01 max=0",
  "// Mark tunable values with @knob comments (prose, not a marker).",
].join("\n");

const PY = ["LR = 0.04  # @knob min=1e-4 max=1 scale=log", "LAYERS: int = 2  # @knob choices=1,2,4", "print(LR)"].join("\n");

function knob(knobs: Knob[], name: string): Knob {
  const found = knobs.find((candidate) => candidate.name === name);
  assert.ok(found, `knob ${name} not found`);
  return found;
}

describe("parseKnobs", () => {
  it("reads every TypeScript form with its line, value and range", () => {
    const { knobs, errors } = parseKnobs("model.ts", TS);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      knobs.map((k) => k.name),
      ["LEARNING_RATE", "HIDDEN_SIZE", "CONTEXT_BYTES", "ACTIVATION", "lr", "mode", "DECAY"],
    );
    const lr = knob(knobs, "LEARNING_RATE");
    assert.equal(lr.id, "model.ts:LEARNING_RATE");
    assert.equal(lr.line, 2);
    assert.equal(lr.value, 0.003);
    assert.deepEqual(lr.spec, { kind: "range", min: 0.0001, max: 0.3, scale: "log", int: false });
    assert.deepEqual(knob(knobs, "HIDDEN_SIZE").spec, { kind: "range", min: 8, max: 512, scale: "log", int: true });
    assert.deepEqual(knob(knobs, "CONTEXT_BYTES").spec, { kind: "range", min: 1, max: 16, scale: "linear", int: true });
    assert.equal(knob(knobs, "ACTIVATION").value, "tanh");
    assert.deepEqual(knob(knobs, "ACTIVATION").spec, { kind: "choices", choices: ["tanh", "relu"] });
    assert.equal(knob(knobs, "lr").value, 0.5);
    assert.equal(knob(knobs, "lr").line, 7);
    assert.equal(knob(knobs, "mode").value, "fast");
    assert.equal(knob(knobs, "DECAY").value, -0.0015);
  });

  it("reads Python markers, including numeric choices and type annotations", () => {
    const { knobs, errors } = parseKnobs("train.py", PY);
    assert.deepEqual(errors, []);
    assert.equal(knob(knobs, "LR").value, 0.04);
    assert.deepEqual(knob(knobs, "LR").spec, { kind: "range", min: 0.0001, max: 1, scale: "log", int: false });
    assert.deepEqual(knob(knobs, "LAYERS").spec, { kind: "choices", choices: [1, 2, 4] });
  });

  it("reads CRLF files", () => {
    const { knobs, errors } = parseKnobs("model.ts", "const A = 1; // @knob min=0 max=2\r\nconst B = 2;\r\n");
    assert.deepEqual(errors, []);
    assert.equal(knob(knobs, "A").value, 1);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ["no declaration", "// @knob min=1 max=2", /must end a line of the form NAME = value/],
    ["expression value", "const A = 2 * 3; // @knob min=1 max=9", /must end a line of the form NAME = value/],
    ["missing max", "const A = 1; // @knob min=0", /missing max=/],
    ["unknown option", "const A = 1; // @knob min=0 max=2 step=0.1", /unknown @knob option "step=0\.1"/],
    ["min above max", "const A = 1; // @knob min=5 max=2", /min \(5\) must be below max \(2\)/],
    ["log with zero min", "const A = 1; // @knob min=0 max=2 scale=log", /scale=log needs min > 0/],
    ["bad scale", "const A = 1; // @knob min=0 max=2 scale=exp", /scale=exp is not supported/],
    ["value outside range", "const A = 9; // @knob min=0 max=2", /value 9 is outside min=0 max=2/],
    ["int with a fraction", "const A = 1.5; // @knob min=0 max=2 int", /int needs integer/],
    ["string without choices", 'const A = "x"; // @knob min=0 max=2', /a string value needs choices/],
    ["value not among choices", 'const A = "gelu"; // @knob choices=tanh,relu', /current value gelu is not among choices/],
    ["choices mixed with a range", 'const A = "a"; // @knob choices=a,b min=0', /cannot be combined/],
    ["single choice", 'const A = "a"; // @knob choices=a', /at least two values/],
    ["non-numeric choice for a number", "const A = 1; // @knob choices=1,two", /every choice must be a number/],
    ["non-numeric min", "const A = 1; // @knob min=zero max=2", /min and max must be numbers/],
  ];
  for (const [label, line, expected] of malformed) {
    it(`reports a malformed marker with file:line: ${label}`, () => {
      const { knobs, errors } = parseKnobs("model.ts", `const OK = 1; // @knob min=0 max=2\n${line}\n`);
      assert.equal(knobs.length, 1, "the good knob is still read");
      assert.equal(errors.length, 1);
      assert.match(errors[0], /^model\.ts:2: /);
      assert.match(errors[0], expected);
    });
  }

  it("reports a knob name marked twice in one file", () => {
    const { errors } = parseKnobs("m.ts", "const A = 1; // @knob min=0 max=2\nconst A = 1; // @knob min=0 max=2\n");
    assert.equal(errors.length, 1);
    assert.match(errors[0], /^m\.ts:2: A has a second @knob marker/);
  });
});

describe("setKnobValue", () => {
  const { knobs } = parseKnobs("model.ts", TS);

  it("rewrites only the value and keeps the rest of the line and file intact", () => {
    const updated = setKnobValue(TS, knob(knobs, "LEARNING_RATE"), 0.006);
    const expected = TS.replace("const LEARNING_RATE = 0.003;", "const LEARNING_RATE = 0.006;");
    assert.equal(updated, expected);
  });

  it("rewrites object properties, strings (keeping the quote style) and CRLF lines", () => {
    assert.match(setKnobValue(TS, knob(knobs, "lr"), 0.25), /\n {2}lr: 0\.25, \/\/ @knob min=0\.01 max=2 scale=log\n/);
    assert.match(setKnobValue(TS, knob(knobs, "ACTIVATION"), "relu"), /const ACTIVATION = "relu"; \/\/ @knob choices=tanh,relu/);
    assert.match(setKnobValue(TS, knob(knobs, "mode"), "slow"), / {2}mode: 'slow', \/\/ @knob choices=fast,slow/);
    const crlf = "const A = 1.5; // @knob min=0 max=2\r\nconst B = 2;\r\n";
    const a = parseKnobs("m.ts", crlf).knobs[0];
    assert.equal(setKnobValue(crlf, a, 0.75), "const A = 0.75; // @knob min=0 max=2\r\nconst B = 2;\r\n");
  });

  it("formats numbers readably: ints as ints, floats with few digits, exponents kept", () => {
    assert.equal(formatKnobNumber(knob(knobs, "HIDDEN_SIZE"), 63.7), "64");
    assert.equal(formatKnobNumber(knob(knobs, "LEARNING_RATE"), 0.0045000000001), "0.0045");
    assert.equal(formatKnobNumber(knob(knobs, "LEARNING_RATE"), 1 / 3), "0.333");
    assert.equal(formatKnobNumber(knob(knobs, "DECAY"), -0.0022222), "-2.22e-3");
    assert.equal(formatKnobNumber(knob(knobs, "lr"), 1), "1.0", "a float stays a float");
    const py = parseKnobs("train.py", PY).knobs;
    assert.equal(formatKnobNumber(knob(py, "LR"), 0.06), "0.06", "exponent style follows the value, not min/max");
    assert.match(setKnobValue(PY, knob(py, "LAYERS"), 4), /^LAYERS: int = 4 {2}# @knob choices=1,2,4$/m);
  });

  it("refuses to write when the knob's line has changed", () => {
    const moved = "\n" + TS;
    assert.throws(() => setKnobValue(moved, knob(knobs, "LEARNING_RATE"), 0.1), /no longer there/);
  });
});
