import assert from "node:assert/strict";
import { test } from "node:test";

import { connectionQuality } from "../../src/peerlane/web/connection-quality.js";

test("quality: good / fair / poor from the round-trip time, the path in words", () => {
  assert.deepEqual(connectionQuality("direct", 42), {
    level: "good",
    text: "Connection good: direct, 42 ms round trip",
  });
  assert.equal(connectionQuality("turn", 150)?.level, "fair");
  assert.match(connectionQuality("turn", 220)?.text ?? "", /through a relay \(TURN\), 220 ms/);
  assert.equal(connectionQuality("direct", 399.6)?.level, "fair");
  assert.equal(connectionQuality("direct", 400)?.level, "poor");
});

test("quality: unknown without an RTT, through the server, or while connecting", () => {
  assert.equal(connectionQuality("direct", null), null);
  assert.equal(connectionQuality("server", 10), null);
  assert.equal(connectionQuality("connecting", 10), null);
});
