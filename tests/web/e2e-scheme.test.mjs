// The WebCrypto implementation of end-to-end encryption (web/e2e/*.js) against the test
// vectors Python made (tests/vectors/e2e.json, peerlane.core.e2e): the same bytes sealed
// from the same inputs, Python's envelopes opened, every failure as its typed error.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import {
  importIdentity,
  publicBytes,
  safetyCode,
  unwrapRoomKey,
  wrapRoomKey,
} from "../../src/peerlane/web/e2e/identity.js";
import {
  b64uDecode,
  b64uEncode,
  bodyPlaintext,
  chatAad,
  E2EError,
  envelopeKid,
  fromHex,
  hkdf,
  inviteFragment,
  isEnvelope,
  openChatBody,
  openRoomName,
  parseInviteFragment,
  RoomKey,
  sealChatBody,
  sealRoomName,
  toHex,
} from "../../src/peerlane/web/e2e/scheme.js";

const VECTORS = JSON.parse(readFileSync(new URL("../vectors/e2e.json", import.meta.url), "utf-8"));
const context = (c) => ({ roomId: c.room_id, sender: c.sender, contentId: c.content_id });
const party = (p) => importIdentity(b64uDecode(p.private), b64uDecode(p.public));

/** The E2EError code an operation fails with (or "ok"). */
async function codeOf(operation) {
  try {
    await operation();
    return "ok";
  } catch (error) {
    assert.ok(error instanceof E2EError, `not an E2EError: ${error}`);
    return error.code;
  }
}

/** One error vector, as tests/core/test_core_e2e.py runs it. */
function runErrorCase(c) {
  if (c.op === "open_chat") return async () => openChatBody(await RoomKey.decode(c.key), c.envelope, context(c));
  if (c.op === "open_name") return async () => openRoomName(await RoomKey.decode(c.key), c.envelope);
  if (c.op === "parse_fragment") return () => parseInviteFragment(c.fragment);
  assert.equal(c.op, "unwrap");
  return async () => {
    const recipient = await party({ private: c.recipient_private, public: c.recipient_public });
    return unwrapRoomKey(c.wrapped, { roomId: c.room_id, recipient, senderPublic: b64uDecode(c.sender_public) });
  };
}

describe("e2e scheme: the vectors", () => {
  test("HKDF-SHA256 with an empty salt", async () => {
    for (const c of VECTORS.hkdf) {
      const ikm = fromHex(c.ikm);
      assert.equal(toHex(await hkdf(ikm, c.info, c.length)), c.okm, c.info);
    }
  });

  test("room keys: key id and encoding", async () => {
    for (const c of VECTORS.keys) {
      const key = await RoomKey.decode(c.secret, c.epoch);
      assert.equal(key.kid, c.kid);
      assert.equal(key.encoded(), c.secret);
      assert.equal(toHex(await hkdf(key.secret, "peerlane e2e v1 chat")), c.chat_key);
      assert.equal(toHex(await hkdf(key.secret, "peerlane e2e v1 room name")), c.name_key);
    }
  });

  test("chat bodies: the same envelope from the same nonce, and Python's opens", async () => {
    for (const c of VECTORS.chat) {
      const key = await RoomKey.decode(c.key);
      assert.equal(new TextDecoder().decode(bodyPlaintext(c.body)), c.plaintext, c.label);
      assert.equal(toHex(chatAad(c.room_id, c.sender, c.content_id)), c.aad, c.label);
      assert.equal(await sealChatBody(key, c.body, context(c), b64uDecode(c.nonce)), c.envelope, c.label);
      assert.deepEqual(await openChatBody(key, c.envelope, context(c)), c.body, c.label);
      assert.ok(isEnvelope(c.envelope));
      assert.equal(envelopeKid(c.envelope), key.kid);
    }
  });

  test("room names", async () => {
    for (const c of VECTORS.room_name) {
      const key = await RoomKey.decode(c.key);
      assert.equal(await sealRoomName(key, c.name, b64uDecode(c.nonce)), c.envelope);
      assert.equal(await openRoomName(key, c.envelope), c.name);
    }
  });

  test("invite fragments", async () => {
    for (const c of VECTORS.fragment) {
      const { token, key } = await parseInviteFragment(c.fragment);
      assert.equal(token, c.token);
      assert.equal(key ? key.encoded() : null, c.key);
      assert.equal(`#${inviteFragment(token, key)}`, c.fragment);
    }
  });

  test("key wrapping: the same wrap from the same ephemeral key and nonce, and Python's unwraps", async () => {
    for (const c of VECTORS.wrap) {
      const key = await RoomKey.decode(c.key, c.epoch);
      const sender = await party(c.sender);
      const recipient = await party(c.recipient);
      const ephemeral = await party(c.ephemeral);
      const to = {
        roomId: c.room_id,
        sender,
        recipientPublic: b64uDecode(c.recipient.public),
        ephemeral,
        nonce: b64uDecode(c.nonce),
      };
      assert.equal(await wrapRoomKey(key, to), c.wrapped);
      const opened = await unwrapRoomKey(c.wrapped, {
        roomId: c.room_id,
        recipient,
        senderPublic: b64uDecode(c.sender.public),
      });
      assert.equal(opened.encoded(), c.key);
      assert.equal(opened.epoch, c.epoch);
      assert.equal(opened.kid, key.kid);
    }
  });

  test("safety codes", async () => {
    for (const c of VECTORS.safety) {
      assert.equal(await safetyCode(b64uDecode(c.a), b64uDecode(c.b)), c.code);
    }
  });

  test("every failure is its typed error", async () => {
    for (const c of VECTORS.errors) {
      assert.equal(await codeOf(runErrorCase(c)), c.code, `${c.op}: ${c.label}`);
    }
  });
});

describe("e2e scheme: round trips and bad input", () => {
  test("a fresh key seals with fresh nonces and opens its own envelopes", async () => {
    const key = await RoomKey.generate();
    const ctx = { roomId: "r1", sender: "p1", contentId: "m1" };
    const one = await sealChatBody(key, { text: "hi 😀", n: [1, null] }, ctx);
    const two = await sealChatBody(key, { text: "hi 😀", n: [1, null] }, ctx);
    assert.notEqual(one, two);
    assert.deepEqual(await openChatBody(key, one, ctx), { text: "hi 😀", n: [1, null] });
    assert.equal(await openRoomName(key, await sealRoomName(key, "")), "");
  });

  test("a fresh wrap (random ephemeral key) unwraps", async () => {
    const { generateIdentity } = await import("../../src/peerlane/web/e2e/identity.js");
    const alice = await generateIdentity();
    const bob = await generateIdentity();
    const key = await RoomKey.generate(3);
    const wrapped = await wrapRoomKey(key, {
      roomId: "r1",
      sender: alice,
      recipientPublic: await publicBytes(bob.publicKey),
    });
    const opened = await unwrapRoomKey(wrapped, {
      roomId: "r1",
      recipient: bob,
      senderPublic: await publicBytes(alice.publicKey),
    });
    assert.equal(opened.encoded(), key.encoded());
    assert.equal(opened.epoch, 3);
  });

  test("sealed bytes that are not UTF-8 JSON are malformed, not a crash", async () => {
    const key = await RoomKey.generate();
    const { seal, ROOM_NAME_AAD } = await import("../../src/peerlane/web/e2e/scheme.js");
    const ctx = { roomId: "r1", sender: "p1", contentId: "m1" };
    const notJson = await seal(
      key.chatKey,
      key.kid,
      new Uint8Array(12),
      new TextEncoder().encode("{x"),
      chatAad("r1", "p1", "m1"),
    );
    assert.equal(await codeOf(() => openChatBody(key, notJson, ctx)), "malformed");
    const notUtf8 = await seal(key.nameKey, key.kid, new Uint8Array(12), Uint8Array.of(0xff), ROOM_NAME_AAD);
    assert.equal(await codeOf(() => openRoomName(key, notUtf8)), "malformed");
  });

  test("bad keys, nonces and base64url", async () => {
    assert.equal(await codeOf(() => RoomKey.fromSecret(new Uint8Array(31))), "bad_key");
    assert.equal(await codeOf(() => RoomKey.fromSecret(new Uint8Array(32), -1)), "bad_key");
    assert.equal(await codeOf(() => RoomKey.fromSecret(new Uint8Array(32), 2 ** 32)), "bad_key");
    assert.equal(await codeOf(() => RoomKey.decode("not a key!")), "bad_key");
    const key = await RoomKey.generate();
    assert.equal(await codeOf(() => sealRoomName(key, "x", new Uint8Array(11))), "bad_key");
    for (const text of ["a+b", "abc=", "a", "ab/c", "AB"]) {
      assert.equal(await codeOf(() => b64uDecode(text)), "malformed", text);
    }
    for (let size = 0; size < 6; size++) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => 250 + i);
      assert.deepEqual(b64uDecode(b64uEncode(bytes)), bytes);
    }
    assert.equal(await codeOf(() => safetyCode(new Uint8Array(31), new Uint8Array(32))), "bad_key");
  });

  test("isEnvelope", () => {
    assert.ok(isEnvelope("e2e1.x"));
    assert.ok(isEnvelope("e2e9"));
    assert.ok(!isEnvelope("hello e2e1"));
    assert.ok(!isEnvelope("e2e.x"));
    assert.ok(!isEnvelope({ e2e1: 1 }));
  });
});
