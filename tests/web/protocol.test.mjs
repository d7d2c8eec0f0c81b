import assert from "node:assert/strict";
import { test } from "node:test";

import { PEER_TYPES, parsePeerMessage, parseServerMessage, SERVER_TYPES } from "../../src/peerlane/web/protocol.js";

test("parseServerMessage accepts known types only", () => {
  assert.deepEqual(parseServerMessage('{"type":"pong","nonce":"1"}'), { type: "pong", nonce: "1" });
  for (const bad of ['{"type":"nope"}', "[]", "null", "not json", '{"t":"chat"}']) {
    assert.equal(parseServerMessage(bad), null, bad);
  }
  assert.equal(parseServerMessage(new ArrayBuffer(2)), null);
  assert.ok(SERVER_TYPES.includes("synced"));
});

test("parsePeerMessage accepts known t only", () => {
  assert.deepEqual(parsePeerMessage('{"t":"ack","id":"x","sender":"a"}'), { t: "ack", id: "x", sender: "a" });
  assert.equal(parsePeerMessage('{"t":"evil"}'), null);
  assert.equal(parsePeerMessage('{"type":"chat"}'), null);
  assert.deepEqual([...PEER_TYPES].sort(), ["ack", "chat", "hello", "moved", "read", "typing"]);
});
