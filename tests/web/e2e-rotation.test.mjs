// Identity keys and key rotation in the browser (web/e2e/member-keys.js, key-rotation.js,
// member-list.js, room-crypto.js's keyring), with a fake server that keeps wraps as the
// real one does: what a changed key means, safety codes the same from both sides, a
// rotation that reaches the members left and not the removed one, and history sealed
// under an older epoch still opening.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChatRoom } from "../../src/peerlane/web/chat.js";
import { openCodeWords } from "../../src/peerlane/web/e2e/code-words.js";
import { safetyCode } from "../../src/peerlane/web/e2e/identity.js";
import { replaceInvites } from "../../src/peerlane/web/e2e/invite-reset.js";
import { RoomKeys } from "../../src/peerlane/web/e2e/key-rotation.js";
import {
  dismissChange,
  keyNote,
  markVerified,
  reviewKey,
  trustedSender,
} from "../../src/peerlane/web/e2e/member-keys.js";
import { MemberList } from "../../src/peerlane/web/e2e/member-list.js";
import { RoomCrypto, UNDECRYPTABLE } from "../../src/peerlane/web/e2e/room-crypto.js";
import { openRoomName, RoomKey, sealChatBody } from "../../src/peerlane/web/e2e/scheme.js";
import { memoryStore } from "../../src/peerlane/web/store.js";
import { FakeClock, fakeApi, recordingFactories, serverMessage, until } from "./fakes.mjs";
import { device, fakeKeysServer, ROOM, rotatedAlone, sealedFrom, threeMembers } from "./keys-fakes.mjs";

describe("what a member's key means (member-keys.js)", () => {
  test("first seen is remembered; the same is nothing new; another is a change", () => {
    assert.deepEqual(reviewKey(undefined, null), { state: "none", next: null });
    const first = reviewKey(undefined, "K1");
    assert.deepEqual(first, { state: "new", next: { key: "K1", verified: false, changed: "" } });
    assert.equal(reviewKey(first.next, "K1").state, "same");
    const changed = reviewKey(first.next, "K2");
    assert.deepEqual(changed, { state: "changed", next: { key: "K2", verified: false, changed: "changed" } });
    assert.match(keyNote(changed.next), /changed/);
    assert.equal(keyNote(dismissChange(changed.next)), "");
  });

  test("a verified member's new key is a loud warning and no longer verified", () => {
    const verified = markVerified({ key: "K1", verified: false, changed: "" });
    assert.equal(verified.verified, true);
    const { next } = reviewKey(verified, "K2");
    assert.deepEqual(next, { key: "K2", verified: false, changed: "verified-changed" });
    assert.match(keyNote(next), /^Warning: .*verified person changed/);
    // Changing again before anyone looked keeps it loud.
    assert.equal(reviewKey(next, "K3").next.changed, "verified-changed");
  });

  test("a wrap's sender is trusted with the key known for it, or when not known yet", () => {
    assert.equal(trustedSender(undefined, "K"), true);
    assert.equal(trustedSender({ key: "K", verified: false, changed: "" }, "K"), true);
    assert.equal(trustedSender({ key: "K", verified: true, changed: "" }, "X"), false);
  });
});

describe("safety codes in the people list (member-list.js)", () => {
  test("the same six groups on both members' screens; a substituted key gives another", async () => {
    const server = fakeKeysServer();
    const [alice, bob, mallory] = await Promise.all([device(), device(), device()]);
    const listFor = (me, d) =>
      new MemberList(ROOM, new RoomCrypto(ROOM, null), {
        device: async () => d,
        keys: server.roomKeys(me, d, new RoomCrypto(ROOM, null)),
      });
    const a = listFor("alice", alice);
    const b = listFor("bob", bob);
    await a.update([{ id: "alice" }], "alice", true); // publishes alice's key
    await b.update([{ id: "bob" }], "bob", false);
    await a.update(server.people(), "alice", true);
    await b.update(server.people(), "bob", false);
    const code = a.view("bob").code;
    assert.match(code, /^\d{5}( \d{5}){5}$/);
    assert.equal(b.view("alice").code, code);
    assert.equal(code, await safetyCode(alice.publicKey, bob.publicKey));
    // Alice verifies bob; then the server hands out mallory's key as bob's.
    await a.verify("bob");
    assert.equal(a.view("bob").verified, true);
    server.keys.set("bob", mallory.publicText);
    await a.update(server.people(), "alice", true);
    const view = a.view("bob");
    assert.notEqual(view.code, code);
    assert.equal(view.verified, false);
    assert.equal(view.loud, true);
    assert.match(view.note, /Warning/);
  });
});

describe("rotation (key-rotation.js)", () => {
  test("after a removal the members left open new messages, the removed one cannot", async () => {
    const { server, devices, cryptos, keys, published, k0 } = await threeMembers();
    const { alice: ca, bob: cb, carol: cc } = cryptos;
    const { alice: ka, bob: kb, carol: kc } = keys;
    const { alice, bob } = devices;
    assert.deepEqual(published, [true, true, true]);
    assert.equal(await ka.publish(alice.publicText), false); // already published
    // Carol is removed: alice rotates to the members left (bob).
    const epoch = await ka.rotate([{ id: "bob", identity_key: bob.publicText }], "Planning");
    assert.equal(epoch, 1);
    assert.equal(ca.key.epoch, 1);
    assert.equal(await openRoomName(ca.key, server.names.at(-1)), "Planning");
    const msg = await sealedFrom(ca.key, "alice", "m1", "after the removal");
    // Bob holds no epoch-1 key yet: the envelope's key id makes him fetch his wrap.
    cb.fetchMissing = () => kb.fetch();
    assert.equal((await cb.openMessage(msg)).body, "after the removal");
    assert.equal(cb.key.epoch, 1, "bob seals with the new key from now on");
    // Carol's client asks too, and gets nothing: it shows the placeholder.
    cc.fetchMissing = () => kc.fetch();
    const seen = await cc.openMessage(msg);
    assert.equal(seen.body, UNDECRYPTABLE);
    assert.equal(seen.e2e_error, "wrong_key");
    // History from before the rotation still opens for bob.
    const old = await sealedFrom(k0, "alice", "m0", "before");
    assert.equal((await cb.openMessage(old)).body, "before");
    // A second rotation to the same epoch by another client is refused by the server.
    server.epoch = 1;
    await assert.rejects(kb.http("POST", `/api/rooms/${ROOM}/keys`, { rotate_to: 1, wraps: [] }));
  });

  test("the owner hands every epoch to a member who joined later (all history)", async () => {
    const { server, k0, ca, ka } = await rotatedAlone();
    const dave = await device();
    // Dave joins by a link made after the rotation: he holds only epoch 1's key.
    const cd = new RoomCrypto(ROOM, ca.key);
    const kd = server.roomKeys("dave", dave, cd);
    await kd.publish(null);
    const out = await ka.fetch();
    assert.deepEqual(out.needs, [{ participant_id: "dave", identity_key: dave.publicText, epochs: [0, 1] }]);
    assert.equal(await ka.fill(out.needs), 2);
    cd.fetchMissing = () => kd.fetch();
    const old = await sealedFrom(k0, "alice", "m0", "the first words");
    assert.equal((await cd.openMessage(old)).body, "the first words");
  });

  test("a member who joined by a link made after a rotation gets epoch 0 in one fetch", async () => {
    const { server, k0, ca, ka } = await rotatedAlone();
    const dave = await device();
    // The link carries epoch 1's key, which dave's device holds as epoch 0 (links name no epoch).
    const cd = new RoomCrypto(ROOM, await RoomKey.decode(ca.key.encoded()));
    assert.equal(cd.key.epoch, 0);
    const kd = server.roomKeys("dave", dave, cd);
    await kd.publish(null);
    await ka.fill((await ka.fetch()).needs);
    await kd.fetch();
    assert.equal(cd.keyOfEpoch(1)?.kid, ca.key.kid, "the link's key learnt its epoch");
    assert.equal(cd.keyOfEpoch(0)?.kid, k0.kid, "and the real epoch 0 came in the same fetch");
  });

  test("a wrap from a sender whose known key differs is refused", async () => {
    const server = fakeKeysServer();
    const [alice, bob] = await Promise.all([device(), device()]);
    const ca = new RoomCrypto(ROOM, await RoomKey.generate(0));
    const ka = server.roomKeys("alice", alice, ca);
    await ka.publish(null);
    await ka.rotate([{ id: "bob", identity_key: bob.publicText }], "");
    // Bob's wrap is handed out with another sender key than the one it was made with.
    const http = server.as("bob");
    const cb = new RoomCrypto(ROOM, null);
    const tampered = async (method, path, body) => {
      const out = await http(method, path, body);
      if (method === "GET") out.wraps = out.wraps.map((w) => ({ ...w, sender_key: bob.publicText }));
      return out;
    };
    const kb = new RoomKeys(ROOM, cb, { http: tampered, device: async () => bob });
    await kb.fetch();
    assert.equal(cb.hasEpoch(1), false, "a wrap that does not open with the named sender's key adds nothing");
  });
});

describe("the keys frame", () => {
  test("a room passes the server's keys frame on as a keys event (the Roster lists again)", async () => {
    const fakes = recordingFactories();
    const room = new ChatRoom(ROOM, {
      api: fakeApi({}),
      store: memoryStore(),
      clock: new FakeClock(),
      ...fakes.factories,
    });
    const seen = [];
    room.addEventListener("keys", (ev) => seen.push(/** @type {CustomEvent} */ (ev).detail));
    await room.start();
    const signaling = fakes.signalings.at(-1);
    signaling.join({ peers: [], read: {}, limits: {}, latest: 0 });
    signaling.server({ type: "keys", participant_id: "bob", epoch: 1 });
    assert.deepEqual(seen, [{ type: "keys", participant_id: "bob", epoch: 1 }]);
    room.close();
  });
});

describe("late keys (room-crypto.js, chat-reopen.js)", () => {
  /** A server message from alice sealed under `key` (its content id is its id). */
  const sealedMessage = async (key, seq, body, over = {}) => {
    const m = serverMessage(seq, { body: null, ...over });
    return { ...m, body: await sealChatBody(key, body, { roomId: ROOM, sender: m.sender, contentId: m.id }) };
  };

  test("a placeholder opens in place once a wrap of its key comes (the keys frame)", async () => {
    // Bob holds epoch 0 only and has not published a key: the rotation cannot reach him.
    const { server, k0, ca, ka } = await rotatedAlone();
    const bob = await device();
    const cb = new RoomCrypto(ROOM, k0);
    const kb = server.roomKeys("bob", bob, cb);
    cb.fetchMissing = () => kb.fetch();
    const fakes = recordingFactories();
    const room = new ChatRoom(ROOM, {
      api: fakeApi({ participant: { id: "bob", name: "Bob", role: "member" } }),
      store: memoryStore(),
      clock: new FakeClock(),
      e2e: cb,
      ...fakes.factories,
    });
    await room.start();
    const signaling = fakes.signalings.at(-1);
    signaling.join({ peers: [], read: {}, limits: {}, latest: 0 });
    signaling.server(await sealedMessage(ca.key, 1, "sealed under the new key"));
    signaling.server(await sealedMessage(ca.key, 2, "👍", { kind: "reaction", ref: 1 }));
    await until(() => room.messages.length === 2, "both shown as placeholders", 20_000);
    assert.deepEqual(
      room.messages.map((m) => m.body),
      [UNDECRYPTABLE, UNDECRYPTABLE],
    );
    // Bob publishes his key; the owner's client wraps the epochs he lacks; the server
    // tells the room's sockets.
    await kb.publish(null);
    assert.equal(await ka.fill((await ka.fetch()).needs), 2);
    signaling.server({ type: "keys", participant_id: "alice", epoch: 1 });
    await until(() => cb.locked.size === 0 && room.messages.length === 1, "both opened in place", 20_000);
    assert.equal(room.messages[0].body, "sealed under the new key");
    assert.equal(room.messages.length, 1, "the reaction is a reaction again, not a row");
    await until(() => room.messages[0].reactions.size === 1, "the reaction counted", 20_000);
    assert.deepEqual([...room.messages[0].reactions.keys()], ["👍"]);
    room.close();
  });

  test("a key added later opens what waited for it; other keys' messages stay locked", async () => {
    const k0 = await RoomKey.generate(0);
    const k1 = await RoomKey.generate(1);
    const k2 = await RoomKey.generate(2);
    const crypto = new RoomCrypto(ROOM, k0);
    const reopened = [];
    crypto.onReopen = (m) => reopened.push(m.body);
    const seen = await crypto.openMessage(await sealedMessage(k1, 1, "one"));
    await crypto.openMessage(await sealedMessage(k2, 2, "two"));
    assert.equal(seen.body, UNDECRYPTABLE);
    assert.equal(crypto.locked.size, 2);
    crypto.addKey(k1, false);
    await until(() => reopened.length === 1, "the epoch-1 message", 20_000);
    assert.deepEqual(reopened, ["one"]);
    assert.equal(crypto.locked.size, 1);
  });
});

describe("a removal retires the invites the removed member knew (invite-reset.js)", () => {
  /** The invite routes of one room, as server/invites_api.py answers them. */
  function inviteServer(invites) {
    const calls = [];
    const http = async (method, path, body) => {
      calls.push([method, path.replace(`/api/rooms/${ROOM}/invites`, ""), body]);
      if (method === "GET") return { invites: invites.map((i) => ({ ...i })) };
      if (method === "POST") {
        const made = { id: `i${invites.length + 1}`, status: "live", sealed_code: null };
        invites.push(made);
        return made;
      }
      const inv = invites.find((i) => path.endsWith(`/${i.id}`));
      if (method === "PATCH") inv.sealed_code = body.sealed_code;
      if (method === "DELETE") inv.status = "revoked";
      return inv;
    };
    return { invites, calls, http };
  }

  test("one new invite with words sealed under the new key; every other live one revoked", async () => {
    const server = inviteServer([
      { id: "i1", status: "live" },
      { id: "i2", status: "expired" },
      { id: "i3", status: "live" },
    ]);
    const key = await RoomKey.generate(1);
    const { made, retire } = await replaceInvites(ROOM, key, server.http);
    assert.equal(made.id, "i4");
    // The earlier ones go only once the rotation was accepted (retire).
    assert.deepEqual(
      server.invites.map((i) => i.status),
      ["live", "expired", "live", "live"],
    );
    assert.deepEqual(await retire(), ["i1", "i3"]);
    assert.deepEqual(
      server.invites.map((i) => i.status),
      ["revoked", "expired", "revoked", "live"],
    );
    const words = await openCodeWords(key, server.invites[3].sealed_code, ROOM, "i4");
    assert.match(words, /^[a-z]+-[a-z]+$/);
    // Made before the others go: the room is never left without a live invite.
    assert.deepEqual(
      server.calls.map(([method]) => method),
      ["GET", "POST", "PATCH", "DELETE", "DELETE"],
    );
  });

  test("the owner's rotation replaces them with the new key, before the server moves epoch", async () => {
    const server = fakeKeysServer();
    const alice = await device();
    const ca = new RoomCrypto(ROOM, await RoomKey.generate(0));
    const seen = [];
    const list = new MemberList(ROOM, ca, {
      device: async () => alice,
      keys: server.roomKeys("alice", alice, ca),
      replaceInvites: async (roomId, key) => {
        seen.push({ roomId, epoch: key.epoch, serverEpoch: server.epoch, key });
        return { made: { id: "new" }, retire: async () => [], undo: async () => null };
      },
    });
    await list.keys.publish(null);
    assert.equal(await list.rotate([], ""), 1);
    assert.equal(seen.length, 1);
    assert.deepEqual({ ...seen[0], key: undefined }, { roomId: ROOM, epoch: 1, serverEpoch: 0, key: undefined });
    assert.equal(seen[0].key.kid, ca.key.kid, "sealed under the key the room moved to");
  });
});
