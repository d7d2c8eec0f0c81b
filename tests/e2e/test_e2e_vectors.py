"""Chromium's WebCrypto against Python's ``cryptography``: the end-to-end encryption scheme
(web/e2e/*.js, served by the server, against peerlane.core.e2e) for every primitive and
message, both ways: the checked-in vectors, Python sealing and wrapping for the browser
to open, and the browser sealing and wrapping with its own fresh randomness for Python
to open. Every failure vector must give its typed error in the browser too."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from e2e.helpers import origin_page
from e2e_vectors import VECTORS_PATH
from peerlane.core import e2e, e2e_file, integrity

pytestmark = pytest.mark.browser

ROOM = "r_canary-Room"
BODIES: list[Any] = [
    "plain text",
    'ünïcödé 😀 and \u2028 and \\ "quotes"',
    {"emoji": "🎉"},
    {"name": "a.bin", "size": 3, "type": "application/octet-stream"},
    [1, None, True, {"nested": ["x"]}],
    "",
]
NAMES = ["Planning", "", "Équipe 🚀 " + "x" * 60]

# Runs in the page: imports the client's own modules from the server and does what the
# Python side asks, returning plain JSON (bytes as base64url, failures as their codes).
BROWSER_JS = """
async ({vectors, fromPython, bodies, names, room}) => {
  const s = await import("/static/e2e/scheme.js");
  const id = await import("/static/e2e/identity.js");
  const ctx = (c) => ({roomId: c.room_id, sender: c.sender, contentId: c.content_id});
  const party = (p) => id.importIdentity(s.b64uDecode(p.private), s.b64uDecode(p.public));
  const codeOf = async (op) => {
    try { await op(); return "ok"; }
    catch (e) { return e instanceof s.E2EError ? e.code : `not typed: ${e}`; }
  };
  const out = {vectors: {}, opened: {}, sealed: {}};

  // 1. The vectors: the same bytes from the same inputs, and Python's open.
  const v = out.vectors;
  v.hkdf = [];
  for (const c of vectors.hkdf) {
    v.hkdf.push(s.toHex(await s.hkdf(s.fromHex(c.ikm), c.info, c.length)));
  }
  v.kids = [];
  for (const c of vectors.keys) v.kids.push((await s.RoomKey.decode(c.secret, c.epoch)).kid);
  v.chat = [];
  for (const c of vectors.chat) {
    const key = await s.RoomKey.decode(c.key);
    v.chat.push({
      sealed: await s.sealChatBody(key, c.body, ctx(c), s.b64uDecode(c.nonce)),
      opened: await s.openChatBody(key, c.envelope, ctx(c)),
    });
  }
  v.names = [];
  for (const c of vectors.room_name) {
    const key = await s.RoomKey.decode(c.key);
    v.names.push({
      sealed: await s.sealRoomName(key, c.name, s.b64uDecode(c.nonce)),
      opened: await s.openRoomName(key, c.envelope),
    });
  }
  v.fragments = [];
  for (const c of vectors.fragment) {
    const {token, key} = await s.parseInviteFragment(c.fragment);
    v.fragments.push({token, key: key ? key.encoded() : null});
  }
  v.wraps = [];
  for (const c of vectors.wrap) {
    const key = await s.RoomKey.decode(c.key, c.epoch);
    const sender = await party(c.sender);
    const recipient = await party(c.recipient);
    const wrapped = await id.wrapRoomKey(key, {roomId: c.room_id, sender,
      recipientPublic: s.b64uDecode(c.recipient.public), ephemeral: await party(c.ephemeral),
      nonce: s.b64uDecode(c.nonce)});
    const opened = await id.unwrapRoomKey(c.wrapped, {roomId: c.room_id, recipient,
      senderPublic: s.b64uDecode(c.sender.public)});
    v.wraps.push({wrapped, opened: opened.encoded(), epoch: opened.epoch});
  }
  v.safety = [];
  for (const c of vectors.safety) {
    v.safety.push(await id.safetyCode(s.b64uDecode(c.a), s.b64uDecode(c.b)));
  }
  v.errors = [];
  for (const c of vectors.errors) {
    v.errors.push(await codeOf(async () => {
      if (c.op === "parse_fragment") return s.parseInviteFragment(c.fragment);
      if (c.op === "unwrap") {
        const recipient = await party({private: c.recipient_private, public: c.recipient_public});
        const senderPublic = s.b64uDecode(c.sender_public);
        return id.unwrapRoomKey(c.wrapped, {roomId: c.room_id, recipient, senderPublic});
      }
      const key = await s.RoomKey.decode(c.key);
      if (c.op === "open_chat") return s.openChatBody(key, c.envelope, ctx(c));
      return s.openRoomName(key, c.envelope);
    }));
  }

  // 1b. Files: the same sealed blocks (compared by SHA-256) and metadata, typed failures.
  const f = await import("/static/e2e/file-crypto.js");
  const pattern = (n) => Uint8Array.from({length: n}, (_, i) => (i * 31 + 7) % 251);
  const digest = async (b) => s.toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", b)));
  v.fileBlocks = [];
  for (const c of vectors.files.blocks) {
    const key = await f.FileKey.decode(c.key);
    const plain = pattern(c.size).subarray(c.index * f.BLOCK_SIZE, (c.index + 1) * f.BLOCK_SIZE);
    const sealed = await f.sealBlock(key, c.index, c.count, plain);
    const opened = await f.openBlock(key, c.index, c.count, sealed);
    const same = await digest(opened) === await digest(plain);
    v.fileBlocks.push({sha256: await digest(sealed), opened: same});
  }
  v.fileMetadata = [];
  for (const c of vectors.files.metadata) {
    const key = await f.FileKey.decode(c.key);
    v.fileMetadata.push({
      sealed: await f.sealFileMetadata(key, c.metadata, s.b64uDecode(c.nonce)),
      opened: await f.openFileMetadata(key, c.envelope),
    });
  }
  v.fileErrors = [];
  for (const c of vectors.files.errors) {
    v.fileErrors.push(await codeOf(async () => {
      if (c.op === "decode_key") return f.FileKey.decode(c.key);
      const key = await f.FileKey.decode(c.key);
      if (c.op === "open_metadata") return f.openFileMetadata(key, c.envelope);
      return f.openBlock(key, c.index, c.count, s.fromHex(c.sealed));
    }));
  }
  // The browser seals a fresh file key's block and metadata: Python opens them.
  const fileKey = await f.FileKey.generate();
  out.sealed.file = {key: fileKey.encoded(),
    block: s.toHex(await f.sealBlock(fileKey, 1, 2, pattern(5))),
    metadata: await f.sealFileMetadata(fileKey, {name: "a 😀.bin", size: 5})};

  // 2. Python sealed with its own random nonces: open here.
  const pyKey = await s.RoomKey.decode(fromPython.key);
  out.opened.bodies = [];
  for (const c of fromPython.bodies) {
    out.opened.bodies.push(await s.openChatBody(pyKey, c.envelope, ctx(c)));
  }
  out.opened.names = [];
  for (const envelope of fromPython.names) {
    out.opened.names.push(await s.openRoomName(pyKey, envelope));
  }
  const browserIdentity = await id.generateIdentity();
  const browserPublic = await id.publicBytes(browserIdentity.publicKey);
  out.sealed.identity = s.b64uEncode(browserPublic);
  // Python wrapped its key to this browser's fresh identity once it knew its public key:
  // that happens in step 4, after this call returns.

  // 3. Sealed here with a fresh key and fresh nonces: Python opens.
  const key = await s.RoomKey.generate();
  out.sealed.key = key.encoded();
  out.sealed.fragment = s.inviteFragment("tok_X", key);
  out.sealed.bodies = [];
  for (const [i, body] of bodies.entries()) {
    const c = {roomId: room, sender: `p_${i}`, contentId: `m_${i}`};
    out.sealed.bodies.push(await s.sealChatBody(key, body, c));
  }
  out.sealed.names = [];
  for (const name of names) out.sealed.names.push(await s.sealRoomName(key, name));
  out.sealed.wrapped = await id.wrapRoomKey(key, {roomId: room, sender: browserIdentity,
    recipientPublic: s.b64uDecode(fromPython.identityPublic)});
  out.sealed.safety = await id.safetyCode(browserPublic, s.b64uDecode(fromPython.identityPublic));
  window.__e2eIdentity = browserIdentity;
  return out;
}
"""

UNWRAP_JS = """
async ({wrapped, room, senderPublic}) => {
  const s = await import("/static/e2e/scheme.js");
  const id = await import("/static/e2e/identity.js");
  const key = await id.unwrapRoomKey(wrapped, {roomId: room, recipient: window.__e2eIdentity,
    senderPublic: s.b64uDecode(senderPublic)});
  return {key: key.encoded(), epoch: key.epoch};
}
"""


def _python_side() -> tuple[e2e.RoomKey, e2e.X25519PrivateKey, dict[str, Any]]:
    key = e2e.RoomKey(os.urandom(32))
    identity = e2e.x25519_private(os.urandom(32))
    bodies = []
    for index, body in enumerate(BODIES):
        context = {"room_id": ROOM, "sender": f"p_{index}", "content_id": f"m_{index}"}
        envelope = e2e.seal_chat_body(key, os.urandom(12), body, **context)
        bodies.append({**context, "envelope": envelope})
    from_python = {
        "key": key.encoded(),
        "bodies": bodies,
        "names": [e2e.seal_room_name(key, os.urandom(12), name) for name in NAMES],
        "identityPublic": e2e.b64u_encode(e2e.x25519_public_bytes(identity)),
    }
    return key, identity, from_python


def _check_vectors(vectors: dict[str, Any], got: dict[str, Any]) -> None:
    assert got["hkdf"] == [case["okm"] for case in vectors["hkdf"]]
    assert got["kids"] == [case["kid"] for case in vectors["keys"]]
    for case, result in zip(vectors["chat"], got["chat"], strict=True):
        assert result == {"sealed": case["envelope"], "opened": case["body"]}, case["label"]
    for case, result in zip(vectors["room_name"], got["names"], strict=True):
        assert result == {"sealed": case["envelope"], "opened": case["name"]}
    assert got["fragments"] == [{"token": c["token"], "key": c["key"]} for c in vectors["fragment"]]
    for case, result in zip(vectors["wrap"], got["wraps"], strict=True):
        assert result == {"wrapped": case["wrapped"], "opened": case["key"], "epoch": case["epoch"]}
    assert got["safety"] == [case["code"] for case in vectors["safety"]]
    files = vectors["files"]
    assert got["fileBlocks"] == [
        {"sha256": c["sealed_sha256"], "opened": True} for c in files["blocks"]
    ]
    assert got["fileMetadata"] == [
        {"sealed": c["envelope"], "opened": c["metadata"]} for c in files["metadata"]
    ]
    assert got["fileErrors"] == [c["code"] for c in files["errors"]]
    expected_errors = [f"{c['op']}: {c['label']}: {c['code']}" for c in vectors["errors"]]
    got_errors = [
        f"{c['op']}: {c['label']}: {code}"
        for c, code in zip(vectors["errors"], got["errors"], strict=True)
    ]
    assert got_errors == expected_errors


def test_browser_and_python_implement_the_same_scheme(browsers: Any, server: Any) -> None:
    vectors = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    key, identity, from_python = _python_side()
    browser = browsers.new("crypto")
    origin_page(browser.page, server.base)

    got = browser.page.evaluate(
        BROWSER_JS,
        {
            "vectors": vectors,
            "fromPython": from_python,
            "bodies": BODIES,
            "names": NAMES,
            "room": ROOM,
        },
    )

    _check_vectors(vectors, got["vectors"])
    # Python sealed → the browser opened.
    assert got["opened"]["bodies"] == BODIES
    assert got["opened"]["names"] == NAMES
    # The browser sealed (its key, its nonces) → Python opens.
    sealed = got["sealed"]
    browser_key = e2e.RoomKey.decode(sealed["key"])
    assert e2e.parse_invite_fragment(sealed["fragment"]) == ("tok_X", browser_key)
    for index, envelope in enumerate(sealed["bodies"]):
        context = {"room_id": ROOM, "sender": f"p_{index}", "content_id": f"m_{index}"}
        opened = e2e.open_chat_body(browser_key, envelope, **context)
        assert opened == BODIES[index]
        with pytest.raises(e2e.AuthFailed):
            e2e.open_chat_body(browser_key, envelope, **{**context, "room_id": "r_other"})
    assert [e2e.open_room_name(browser_key, name) for name in sealed["names"]] == NAMES
    file_key = e2e_file.FileKey.decode(sealed["file"]["key"])
    block = bytes.fromhex(sealed["file"]["block"])
    assert e2e_file.open_block(file_key, 1, 2, block) == integrity.pattern(5)
    metadata = e2e_file.open_file_metadata(file_key, sealed["file"]["metadata"])
    assert metadata == {"name": "a 😀.bin", "size": 5}
    # Key wrapping, both ways, between the browser's fresh identity and Python's.
    browser_public = e2e.b64u_decode(sealed["identity"])
    unwrapped = e2e.unwrap_room_key(
        sealed["wrapped"], room_id=ROOM, recipient=identity, sender_public=browser_public
    )
    assert unwrapped == browser_key
    assert sealed["safety"] == e2e.safety_code(e2e.x25519_public_bytes(identity), browser_public)
    wrapped = e2e.wrap_room_key(
        e2e.RoomKey(key.secret, 5),
        room_id=ROOM,
        sender=identity,
        recipient_public=browser_public,
        ephemeral=e2e.x25519_private(os.urandom(32)),
        nonce=os.urandom(12),
    )
    opened_in_browser = browser.page.evaluate(
        UNWRAP_JS, {"wrapped": wrapped, "room": ROOM, "senderPublic": from_python["identityPublic"]}
    )
    assert opened_in_browser == {"key": key.encoded(), "epoch": 5}
    assert browser.errors == []
