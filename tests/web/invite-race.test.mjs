// Two sessions of a room's owner rotating at once after a member left for good (issue
// #15; e2e/invite-reset.js, key-rotation.js, member-list.js): the server takes one
// `rotate_to` and refuses the other with `key_epoch_conflict`. The invites must come out
// as the terminal owner leaves them (peer/owner_keys.py): exactly the winner's new invite
// live, the earlier ones and the loser's new one revoked. A fake server keeps the keys,
// the due flag and the invites as server/keys_api.py and invites_api.py do, and holds
// the rotations until both sessions have posted, to let them through in a chosen order.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openCodeWords } from "../../src/peerlane/web/e2e/code-words.js";
import { generateIdentity, publicBytes } from "../../src/peerlane/web/e2e/identity.js";
import { replaceInvites } from "../../src/peerlane/web/e2e/invite-reset.js";
import { RoomKeys } from "../../src/peerlane/web/e2e/key-rotation.js";
import { MemberList } from "../../src/peerlane/web/e2e/member-list.js";
import { RoomCrypto } from "../../src/peerlane/web/e2e/room-crypto.js";
import { b64uEncode, RoomKey } from "../../src/peerlane/web/e2e/scheme.js";

const ROOM = "room1";

async function device() {
  const identity = await generateIdentity();
  const publicKey = await publicBytes(identity.publicKey);
  return { identity, publicKey, publicText: b64uEncode(publicKey) };
}

/**
 * One room's keys, due flag and invites. `as(me, session)` is the http function of
 * participant `me`'s session; `race(order)` holds each `rotate_to` until every session
 * in `order` has posted one, then lets them through in that order (`firstHeld` resolves
 * once the first is held).
 */
function fakeServer() {
  const s = {
    epoch: 0,
    leftEpoch: /** @type {number | null} */ (null),
    keys: new Map(),
    wraps: [],
    invites: [{ id: "i1", status: "live", session: "" }],
    rotatedBy: /** @type {string[]} */ ([]),
    gate: /** @type {((session: string) => Promise<void>) | null} */ (null),
    firstHeld: Promise.resolve(),
  };
  s.leave = (id) => {
    s.keys.delete(id);
    s.leftEpoch = s.epoch;
  };
  s.people = () => [...s.keys].map(([id, identity_key]) => ({ id, identity_key }));
  s.race = (order) => {
    const held = new Map();
    let first = () => {};
    s.firstHeld = new Promise((resolve) => (first = resolve));
    s.gate = (session) =>
      new Promise((go) => {
        held.set(session, go);
        if (held.size === 1) first();
        // Released once the last one awaits its gate too; each one's handler then runs
        // to its answer without awaiting: in this order.
        if (held.size < order.length) return;
        queueMicrotask(() => {
          for (const who of order) held.get(who)();
        });
      });
  };
  s.live = () => s.invites.filter((i) => i.status === "live");
  s.as = (me, session) => async (method, path, body) => {
    const invitePath = path.split("/invites")[1];
    if (invitePath === "" && method === "GET") return { invites: s.invites.map((i) => ({ ...i })) };
    if (invitePath === "" && method === "POST") {
      const made = { id: `i${s.invites.length + 1}`, status: "live", session };
      s.invites.push(made);
      return { ...made };
    }
    if (invitePath) {
      const inv = s.invites.find((i) => invitePath === `/${i.id}`);
      if (method === "PATCH") inv.sealed_code = body.sealed_code;
      if (method === "DELETE") inv.status = "revoked";
      return { ...inv };
    }
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
        if (s.gate) await s.gate(session);
        if (body.rotate_to !== s.epoch + 1) {
          throw Object.assign(new Error("conflict"), { status: 409, code: "key_epoch_conflict" });
        }
        s.epoch = body.rotate_to;
        s.rotatedBy.push(session);
      }
      for (const w of body.wraps) s.wraps.push({ ...w, from: me });
      return { epoch: s.epoch };
    }
    if (method === "PATCH") return {};
    throw new Error(`unexpected ${method} ${path}`);
  };
  return s;
}

/** Alice (the owner, two sessions "tab1" and "tab2" of one device), bob and carol. */
async function ownerTwice() {
  const server = fakeServer();
  const [alice, bob, carol] = await Promise.all([device(), device(), device()]);
  const k0 = await RoomKey.generate(0);
  const devices = { alice, bob, carol };
  for (const [me, d] of Object.entries(devices)) {
    const keys = new RoomKeys(ROOM, new RoomCrypto(ROOM, k0), { http: server.as(me, me), device: async () => d });
    await keys.publish(null);
  }
  /** An owner's page: its RoomCrypto and MemberList, with the real invite replacement. */
  const session = (name) => {
    const crypto = new RoomCrypto(ROOM, k0);
    const http = server.as("alice", name);
    const list = new MemberList(ROOM, crypto, {
      device: async () => alice,
      keys: new RoomKeys(ROOM, crypto, { http, device: async () => alice }),
      replaceInvites: (roomId, key) => replaceInvites(roomId, key, http),
    });
    return { crypto, list };
  };
  return { server, alice, tab1: session("tab1"), tab2: session("tab2") };
}

describe("two owner sessions rotating at once keep the winner's invite (invite-reset.js)", () => {
  for (const order of [
    ["tab1", "tab2"],
    ["tab2", "tab1"],
  ]) {
    test(`the second lists the invites after the first made its own; ${order[0]} wins`, async () => {
      const { server, tab1, tab2 } = await ownerTwice();
      server.leave("carol");
      server.race(order);
      // tab2 lists the invites only once tab1's new one is made (tab1 is posting its
      // rotation): the order in which the old code revoked the winner's.
      const first = tab1.list.update(server.people(), "alice", true, "Planning");
      await server.firstHeld;
      const second = tab2.list.update(server.people(), "alice", true, "Planning");
      const rotated = await Promise.all([first, second]);
      assert.deepEqual(server.rotatedBy, [order[0]], "one rotation, the first let through");
      assert.deepEqual(rotated, order[0] === "tab1" ? [true, false] : [false, true], "the loser counts it done");
      const live = server.live();
      assert.equal(live.length, 1, `exactly one live invite: ${JSON.stringify(server.invites)}`);
      assert.equal(live[0].session, order[0], "the winner's");
      assert.equal(server.invites[0].status, "revoked", "the one carol knew");
      const winner = order[0] === "tab1" ? tab1 : tab2;
      assert.equal(winner.crypto.key.epoch, 1);
      assert.match(await openCodeWords(winner.crypto.key, live[0].sealed_code, ROOM, live[0].id), /^[a-z]+-[a-z]+$/);
    });
  }

  test("the loser takes the winner's key when it was wrapped to it, and opens the live code", async () => {
    const { server, alice, tab1, tab2 } = await ownerTwice();
    server.leave("carol");
    server.race(["tab1", "tab2"]);
    // tab1 removes carol and wraps to its own key too (as the terminal owner does);
    // tab2 learns of her departure from rotate_due at the same time.
    const members = [...server.people().filter((p) => p.id === "bob"), { id: "alice", identity_key: alice.publicText }];
    const removal = tab1.list.rotate(members, "Planning");
    await server.firstHeld;
    const due = tab2.list.update(server.people(), "alice", true, "Planning");
    assert.deepEqual(await Promise.all([removal, due]), [1, false]);
    assert.equal(tab2.crypto.key.epoch, 1, "tab2 seals with the winner's key");
    assert.equal(tab2.crypto.key.kid, tab1.crypto.key.kid);
    const [live] = server.live();
    assert.deepEqual(
      server.live().map((i) => i.session),
      ["tab1"],
    );
    assert.match(await openCodeWords(tab2.crypto.key, live.sealed_code, ROOM, live.id), /^[a-z]+-[a-z]+$/);
  });

  test("a removal that lost the race counts as done: no error, its own invite taken back", async () => {
    const { server, tab1, tab2 } = await ownerTwice();
    server.leave("carol");
    server.race(["tab2", "tab1"]);
    // Both sessions remove carol at once (people-panel.js's Roster.remove).
    const members = server.people().filter((p) => p.id === "bob");
    const first = tab1.list.rotate(members, "Planning");
    await server.firstHeld;
    const second = tab2.list.rotate(members, "Planning");
    assert.deepEqual(await Promise.all([first, second]), [null, 1]);
    assert.deepEqual(
      server.live().map((i) => i.session),
      ["tab2"],
    );
  });
});
