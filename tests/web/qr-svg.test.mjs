// The browser-drawn QR code (web/ui/qr-svg.js) of an encrypted room's invite: its path,
// painted at 4 px per module, decodes to exactly the link (key included), and keeps the
// 2-module quiet zone the server's segno SVG has.
import assert from "node:assert/strict";
import { test } from "node:test";

import decodeQR from "qr/decode.js";

import { qrPath } from "../../src/peerlane/web/ui/qr-svg.js";

const LINK = "https://peerlane.example:8443/join#Yk3pQ0vRz8L2wXcT9hJmNa.q7Vt3Kd9PzX1cB6nLwY0eRfGhJsUaMi2oTq8vZ4yXk0";
const RUN = /M(\d+) (\d+(?:\.5)?)h(\d+)/g;

/** @param {string} d  @returns {boolean[][]} the dark modules the path strokes */
function modules(size, d) {
  const grid = Array.from({ length: size }, () => new Array(size).fill(false));
  let covered = 0;
  for (const [whole, x, y, n] of d.matchAll(RUN)) {
    covered += whole.length;
    for (let i = 0; i < Number(n); i++) grid[Number(y) - 0.5][Number(x) + i] = true;
  }
  assert.equal(covered, d.length, "the path is only row runs");
  return grid;
}

/** Paint the modules black on white, `scale` pixels each, as RGBA. */
function image(grid, scale) {
  const width = grid.length * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let py = 0; py < width; py++) {
    for (let px = 0; px < width; px++) {
      if (!grid[Math.floor(py / scale)][Math.floor(px / scale)]) continue;
      data.fill(0, (py * width + px) * 4, (py * width + px) * 4 + 3);
    }
  }
  return { width, height: width, data };
}

test("the drawn QR code decodes to exactly the link, key included", () => {
  const { size, d } = qrPath(LINK);
  assert.equal(decodeQR(image(modules(size, d), 4)), LINK);
});

test("a 2-module quiet zone surrounds the symbol, whose side is 17 + 4 × version", () => {
  const { size, d } = qrPath(LINK);
  const grid = modules(size, d);
  const symbol = size - 4;
  assert.equal((symbol - 17) % 4, 0);
  for (const i of [0, 1, size - 2, size - 1]) {
    assert.ok(
      grid[i].every((dark) => !dark),
      `row ${i} is blank`,
    );
    assert.ok(
      grid.every((row) => !row[i]),
      `column ${i} is blank`,
    );
  }
  assert.ok(grid[2].slice(2, 9).every(Boolean), "the top-left finder starts right after the zone");
});

test("different links give different symbols", () => {
  assert.notEqual(qrPath(LINK).d, qrPath(`${LINK}x`).d);
});
