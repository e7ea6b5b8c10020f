// Cutting documents into BOS-led pieces that fit a row, and best-fit packing of rows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentPieces, packRows } from "../src/data/packing.ts";
import { byteTokenizer } from "../src/data/tokenizer.ts";

const bytes = byteTokenizer();
const BOS = bytes.bosId;

test("a long document becomes pieces that each fit a row, start with BOS, and lose no text", () => {
  const text = Array.from({ length: 30 }, (_, i) => `Line ${i} says something.\n`).join("");
  const pieces = documentPieces(bytes, text, 64);
  assert.ok(pieces.length > 1);
  for (const piece of pieces) {
    assert.ok(piece.length <= 64, `piece of ${piece.length} tokens exceeds the row`);
    assert.equal(piece[0], BOS);
  }
  assert.equal(pieces.map((piece) => bytes.decode(piece.subarray(1))).join(""), text);
  // Cut at line ends: every piece but the last ends with a newline.
  for (const piece of pieces.slice(0, -1)) assert.equal(piece[piece.length - 1], 10);
});

test("a line longer than a row is cut inside the line; a short document stays whole", () => {
  const long = "x".repeat(150);
  const pieces = documentPieces(bytes, long, 64);
  assert.deepEqual(pieces.map((piece) => piece.length), [64, 64, 25]);
  assert.equal(pieces.map((piece) => bytes.decode(piece.subarray(1))).join(""), long);
  assert.deepEqual([...documentPieces(bytes, "hi\n", 64)[0]], [BOS, 104, 105, 10]);
});

function piece(length: number, fill: number): Uint32Array {
  const tokens = new Uint32Array(length).fill(fill);
  tokens[0] = BOS;
  return tokens;
}

test("best-fit packing fills rows exactly, every row starting with BOS, largest fitting piece first", () => {
  // Row of 10: 7 goes first (the largest that fits), then 3 fills it; the next row takes 6, then 4.
  const rows = packRows([piece(6, 1), piece(3, 2), piece(4, 3), piece(7, 4)], { rowLength: 10, maxRows: 10 });
  assert.equal(rows.length, 2);
  assert.deepEqual([...rows[0]], [BOS, 4, 4, 4, 4, 4, 4, BOS, 2, 2]);
  assert.deepEqual([...rows[1]], [BOS, 1, 1, 1, 1, 1, BOS, 3, 3, 3]);
});

test("when nothing fits the space left, the shortest piece is cropped to fill the row", () => {
  const rows = packRows([piece(8, 1), piece(6, 2), piece(9, 3)], { rowLength: 10, maxRows: 1 });
  // 9 first, one token left: nothing fits, so the shortest (6) is cropped to its BOS.
  assert.deepEqual([...rows[0]], [BOS, 3, 3, 3, 3, 3, 3, 3, 3, BOS]);
});

test("packing stops at maxRows and drops an incomplete last row; the buffer bounds what it looks at", () => {
  const many = Array.from({ length: 50 }, (_, i) => piece(5, i + 1));
  assert.equal(packRows(many, { rowLength: 10, maxRows: 3 }).length, 3);
  assert.equal(packRows([piece(5, 1), piece(3, 2)], { rowLength: 10, maxRows: 5 }).length, 0);
  // With a buffer of one, pieces are taken strictly in order.
  const ordered = packRows([piece(4, 1), piece(6, 2), piece(2, 3)], { rowLength: 12, maxRows: 1, bufferSize: 1 });
  assert.deepEqual([...ordered[0]], [BOS, 1, 1, 1, BOS, 2, 2, 2, 2, 2, BOS, 3]);
});
