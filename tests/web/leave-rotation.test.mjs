// A member who leaves for good (member-list.js, key-rotation.js): the server's GET keys
// says `rotate_due` while the current epoch's key is known to someone gone, and the
// owner's client, listing the room's people (on the "keys" frame the server sends then,
// or as the room opens after being offline), rotates once to the members left, replacing
// the invites; the one who left cannot open what comes next. A fake server keeps wraps
// and the due flag as server/keys_api.py does.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateIdentity, publicBytes } from "../../src/peerlane/web/e2e/identity.js";
import { RoomKeys } from "../../src/peerlane/web/e2e/key-rotation.js";
import { MemberList } from "../../src/peerlane/web/e2e/member-list.js";
import { RoomCrypto, UNDECRYPTABLE } from "../../src/peerlane/web/e2e/room-crypto.js";
import { b64uEncode, openRoomName, RoomKey, sealChatBody } from "../../src/peerlane/web/e2e/scheme.js";

const ROOM = "room1";

async function device() {
  const identity = await generateIdentity();
  const publicKey = await publicBytes(identity.publicKey);
  return { identity, publicKey, publicText: b64uEncode(publicKey) };
}

/** /identity, /keys and the room's name for one room, with departures (rooms.left_epoch). */
function fakeServer() {
  const s = {
    epoch: 0,
    leftEpoch: /** @type {number | null} */ (null),
    keys: new Map(),
    wraps: [],
    names: [],
    rotations: 0,
  };
  s.leave = (id) => {
    s.keys.delete(id);
    s.leftEpoch = s.epoch;
  };
  s.as = (me) => async (method, path, body) => {
    if (method === "PUT" && path.endsWith("/identity")) {
      s.keys.set(me, body.key);
      return { participant_id: me, identity_key: body.key };
    }
    if (method === "GET" && path.endsWith("/keys")) {
      const mine = s.wraps.filter((w) => w.to === me);
      return {
        epoch: s.epoch,
        history: "joined",
        wraps: mine.map((w) => ({ epoch: w.epoch, sender: w.from, sender_key: s.keys.get(w.from), wrap: w.wrap })),
        needs: [],
        rotate_due: s.leftEpoch !== null && s.leftEpoch >= s.epoch,
      };
    }
    if (method === "POST" && path.endsWith("/keys")) {
      if (body.rotate_to !== undefined) {
        if (body.rotate_to !== s.epoch + 1) {
          throw Object.assign(new Error("conflict"), { status: 409, code: "key_epoch_conflict" });
        }
        s.epoch = body.rotate_to;
        s.rotations += 1;
      }
      for (const w of body.wraps) s.wraps.push({ ...w, from: me });
      return { epoch: s.epoch };
    }
    if (method === "PATCH") {
      s.names.push(body.name);
      return {};
    }
    throw new Error(`unexpected ${method} ${path}`);
  };
  return s;
}

async function sealedFrom(key, sender, id, body) {
  return {
    id,
    sender,
    kind: "text",
    seq: 1,
    body: await sealChatBody(key, body, { roomId: ROOM, sender, contentId: id }),
  };
}

/** Alice (the owner), bob and carol, all holding epoch 0 and with published keys. */
async function threeMembers() {
  const server = fakeServer();
  const [alice, bob, carol] = await Promise.all([device(), device(), device()]);
  const k0 = await RoomKey.generate(0);
  const cryptos = { alice: new RoomCrypto(ROOM, k0), bob: new RoomCrypto(ROOM, k0), carol: new RoomCrypto(ROOM, k0) };
  const keysOf = (me, d) => new RoomKeys(ROOM, cryptos[me], { http: server.as(me), device: async () => d });
  const keys = { alice: keysOf("alice", alice), bob: keysOf("bob", bob), carol: keysOf("carol", carol) };
  for (const k of Object.values(keys)) await k.publish(null);
  const resets = [];
  const ownerList = () =>
    new MemberList(ROOM, cryptos.alice, {
      device: async () => alice,
      keys: keys.alice,
      replaceInvites: async (_room, key) => {
        resets.push(key.epoch);
        return { made: { id: "new" }, retire: async () => [], undo: async () => null };
      },
    });
  const people = () => [...server.keys].map(([id, identity_key]) => ({ id, identity_key }));
  return { server, cryptos, keys, ownerList, people, resets, k0 };
}

describe("a member leaving for good (member-list.js)", () => {
  test("the owner's client rotates once; bob opens the next message, carol cannot", async () => {
    const { server, cryptos, keys, ownerList, people, resets } = await threeMembers();
    const list = ownerList();
    assert.equal(await list.update(people(), "alice", true, "Planning"), false, "nobody left: no rotation");
    assert.equal(server.epoch, 0);
    // Carol signs out of her last session: the server takes her out and marks epoch 0.
    server.leave("carol");
    assert.equal(await list.update(people(), "alice", true, "Planning"), true);
    assert.equal(server.epoch, 1);
    assert.deepEqual(resets, [1], "the invites she knew replaced, under the new key");
    assert.equal(await openRoomName(cryptos.alice.key, server.names.at(-1)), "Planning");
    // Listing again (another keys frame, the room opened again): no second rotation.
    assert.equal(await list.update(people(), "alice", true, "Planning"), false);
    assert.equal(server.rotations, 1);
    const msg = await sealedFrom(cryptos.alice.key, "alice", "m1", "after carol left");
    cryptos.bob.fetchMissing = () => keys.bob.fetch();
    assert.equal((await cryptos.bob.openMessage(msg)).body, "after carol left");
    cryptos.carol.fetchMissing = () => keys.carol.fetch();
    const seen = await cryptos.carol.openMessage(msg);
    assert.equal(seen.body, UNDECRYPTABLE);
    assert.equal(seen.e2e_error, "wrong_key");
  });

  test("an owner offline when she left rotates as the room opens (a new page's list)", async () => {
    const { server, cryptos, ownerList, people } = await threeMembers();
    server.leave("carol");
    // A fresh MemberList, as a page opened later makes: the flag is on the server.
    assert.equal(await ownerList().update(people(), "alice", true, "Planning"), true);
    assert.equal(server.epoch, 1);
    assert.equal(cryptos.alice.key.epoch, 1);
    assert.deepEqual(
      server.wraps.map((w) => w.to),
      ["bob"],
    );
  });

  test("not without the room's name, not for a member's client, and two lists rotate once", async () => {
    const { server, ownerList, people } = await threeMembers();
    server.leave("carol");
    assert.equal(await ownerList().update(people(), "alice", true, ""), false, "no name yet: it would be lost");
    assert.equal(await ownerList().update(people(), "alice", false, "Planning"), false, "a member never rotates");
    assert.equal(server.epoch, 0);
    // Two owner pages at once (two tabs; no Web Locks in node): one rotation, the other
    // finds it done or is refused by the server, and neither throws.
    const both = await Promise.all([
      ownerList().update(people(), "alice", true, "Planning"),
      ownerList().update(people(), "alice", true, "Planning"),
    ]);
    assert.equal(server.rotations, 1);
    assert.deepEqual(both.filter(Boolean), [true]);
  });
});
