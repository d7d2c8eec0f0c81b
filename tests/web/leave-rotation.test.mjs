// A member who leaves for good (member-list.js, key-rotation.js): the server's GET keys
// says `rotate_due` while the current epoch's key is known to someone gone, and the
// owner's client, listing the room's people (on the "keys" frame the server sends then,
// or as the room opens after being offline), rotates once to the members left, replacing
// the invites; the one who left cannot open what comes next. A fake server keeps wraps
// and the due flag as server/keys_api.py does (keys-fakes.mjs).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemberList } from "../../src/peerlane/web/e2e/member-list.js";
import { UNDECRYPTABLE } from "../../src/peerlane/web/e2e/room-crypto.js";
import { openRoomName } from "../../src/peerlane/web/e2e/scheme.js";
import { ROOM, sealedFrom, threeMembers } from "./keys-fakes.mjs";

/** Alice (the owner), bob and carol, all holding epoch 0 and with published keys; the
 * owner's MemberList as a page makes it, recording the invites it replaces. */
async function ownerOfThree() {
  const { server, devices, cryptos, keys } = await threeMembers({ history: "joined" });
  const resets = [];
  const ownerList = () =>
    new MemberList(ROOM, cryptos.alice, {
      device: async () => devices.alice,
      keys: keys.alice,
      replaceInvites: async (_room, key) => {
        resets.push(key.epoch);
        return { made: { id: "new" }, retire: async () => [], undo: async () => null };
      },
    });
  return { server, cryptos, keys, ownerList, people: server.people, resets };
}

describe("a member leaving for good (member-list.js)", () => {
  test("the owner's client rotates once; bob opens the next message, carol cannot", async () => {
    const { server, cryptos, keys, ownerList, people, resets } = await ownerOfThree();
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
    const { server, cryptos, ownerList, people } = await ownerOfThree();
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
    const { server, ownerList, people } = await ownerOfThree();
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
