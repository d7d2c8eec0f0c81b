// A fake of the server's identity and room-key routes for one room (server/keys_api.py:
// PUT identity, GET and POST keys, PATCH the room's name), keeping wraps, epochs and a
// member's departure as the real one does, and the members' devices and sealed messages
// the key tests (e2e-rotation, leave-rotation) start from.
import { generateIdentity, publicBytes } from "../../src/peerlane/web/e2e/identity.js";
import { RoomKeys } from "../../src/peerlane/web/e2e/key-rotation.js";
import { RoomCrypto } from "../../src/peerlane/web/e2e/room-crypto.js";
import { b64uEncode, RoomKey, sealChatBody } from "../../src/peerlane/web/e2e/scheme.js";

export const ROOM = "room1";

/** A member's device: its identity key pair and the public key's bytes and text. */
export async function device() {
  const identity = await generateIdentity();
  const publicKey = await publicBytes(identity.publicKey);
  return { identity, publicKey, publicText: b64uEncode(publicKey) };
}

/**
 * The server's side for one room. `history`: "all" (a member is owed every epoch) or
 * "joined" (the current one only). `leave(id)` is a member gone for good: their key
 * removed and the current epoch due to rotate (rooms.left_epoch). `as(me)` is `me`'s
 * http function; `roomKeys(me, d, crypto)` the RoomKeys of `me` with device `d`.
 */
export function fakeKeysServer({ history = "all" } = {}) {
  const s = {
    epoch: 0,
    history,
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
  s.people = () => [...s.keys].map(([id, identity_key]) => ({ id, identity_key }));
  s.as = (me) => async (method, path, body) => {
    if (method === "PUT" && path.endsWith("/identity")) {
      s.keys.set(me, body.key);
      return { participant_id: me, identity_key: body.key };
    }
    if (method === "GET" && path.endsWith("/keys")) {
      const needs = [];
      if (s.epoch > 0) {
        for (const [id, key] of s.keys) {
          if (id === me) continue;
          const wanted = s.history === "all" ? [...Array(s.epoch + 1).keys()] : [s.epoch];
          const epochs = wanted.filter((e) => !s.wraps.some((w) => w.to === id && w.epoch === e));
          if (epochs.length) needs.push({ participant_id: id, identity_key: key, epochs });
        }
      }
      const mine = s.wraps.filter((w) => w.to === me);
      return {
        epoch: s.epoch,
        history: s.history,
        wraps: mine.map((w) => ({ epoch: w.epoch, sender: w.from, sender_key: s.keys.get(w.from), wrap: w.wrap })),
        needs,
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
  s.roomKeys = (me, d, crypto) => new RoomKeys(ROOM, crypto, { http: s.as(me), device: async () => d });
  return s;
}

/** A text message from `sender` sealed under `key` (its content id is its id). */
export async function sealedFrom(key, sender, id, body) {
  return {
    id,
    sender,
    kind: "text",
    seq: 1,
    body: await sealChatBody(key, body, { roomId: ROOM, sender, contentId: id }),
  };
}

/**
 * Alice, bob and carol, all holding epoch 0 (from the link) and each publishing their
 * key: the server, the devices, each one's RoomCrypto and RoomKeys, and what each
 * publish returned.
 */
export async function threeMembers(options = {}) {
  const server = fakeKeysServer(options);
  const [alice, bob, carol] = await Promise.all([device(), device(), device()]);
  const devices = { alice, bob, carol };
  const k0 = await RoomKey.generate(0);
  const cryptos = { alice: new RoomCrypto(ROOM, k0), bob: new RoomCrypto(ROOM, k0), carol: new RoomCrypto(ROOM, k0) };
  const keys = {
    alice: server.roomKeys("alice", alice, cryptos.alice),
    bob: server.roomKeys("bob", bob, cryptos.bob),
    carol: server.roomKeys("carol", carol, cryptos.carol),
  };
  const published = [];
  for (const k of Object.values(keys)) published.push(await k.publish(null));
  return { server, devices, cryptos, keys, published, k0 };
}

/**
 * Alice, her key published, rotated the room to epoch 1 while nobody else had published
 * one (so no wrap went to anyone): the server, her device, epoch 0's key, her RoomCrypto
 * (now at epoch 1) and RoomKeys.
 */
export async function rotatedAlone() {
  const server = fakeKeysServer();
  const alice = await device();
  const k0 = await RoomKey.generate(0);
  const ca = new RoomCrypto(ROOM, k0);
  const ka = server.roomKeys("alice", alice, ca);
  await ka.publish(null);
  await ka.rotate([], "");
  return { server, alice, k0, ca, ka };
}
