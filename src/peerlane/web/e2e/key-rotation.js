// A room's keys beyond the first (docs/protocol.md, "Key rotation"): fetching the room
// keys wrapped to this device (a rotation while it was away, or older epochs for a new
// member when the room shares all history), handing keys to members who lack them (the
// owner's client does it), and rotating: when the owner removes someone, or someone
// leaves for good (the server's `rotate_due`, member-list.js), the owner's client makes epoch + 1 with a new random key, wraps it to every remaining member's
// identity key, and from then on seals with it. The server carries the wraps as opaque
// `w1.` strings; each is checked against the sender's identity key this device knows.

import { request } from "../api.js";
import { debug } from "../debug.js";
import { deviceIdentity, loadKnownKeys, saveKnownKey } from "./device-identity.js";
import { unwrapRoomKey, wrapRoomKey } from "./identity.js";
import { trustedSender } from "./member-keys.js";
import { saveRoomKeys } from "./room-keys.js";
import { b64uDecode, RoomKey } from "./scheme.js";

/** @typedef {import("./room-crypto.js").RoomCrypto} RoomCrypto */
/** @typedef {import("./device-identity.js").Device} Device */
/** @typedef {import("./invite-reset.js").Replacement} Replacement */
/**
 * @typedef {{epoch: number, history: "all" | "joined", rotate_due?: boolean,
 *   wraps: {epoch: number, sender: string, sender_key: string, wrap: string}[],
 *   needs: {participant_id: string, identity_key: string, epochs: number[]}[]}} KeysOut
 * @typedef {(method: string, path: string, body?: unknown) => Promise<any>} Http
 */

/** @param {string} roomId */
const roomPath = (roomId) => `/api/rooms/${encodeURIComponent(roomId)}`;

export class RoomKeys {
  /**
   * @param {string} roomId
   * @param {RoomCrypto} crypto
   * @param {{http?: Http, device?: () => Promise<Device>}} [deps]  (tests)
   */
  constructor(roomId, crypto, deps = {}) {
    this.roomId = roomId;
    this.crypto = crypto;
    this.http = deps.http ?? request;
    this.device = deps.device ?? deviceIdentity;
    /** The server's epoch as last fetched. */
    this.epoch = 0;
  }

  /** Publish this device's identity key to the room unless the server has it already. @param {string | null | undefined} published */
  async publish(published) {
    const { publicText } = await this.device();
    if (published === publicText) return false;
    await this.http("PUT", `${roomPath(this.roomId)}/identity`, { key: publicText });
    return true;
  }

  /**
   * Fetch and open the keys wrapped to this device; the room's epoch, history and needs.
   * @returns {Promise<KeysOut>}
   */
  async fetch() {
    /** @type {KeysOut} */
    const out = await this.http("GET", `${roomPath(this.roomId)}/keys`);
    this.epoch = out.epoch;
    const { identity } = await this.device();
    const known = await loadKnownKeys(this.roomId);
    /** @type {{secret: string, epoch: number}[]} */
    const opened = [];
    // Newest first: a key an invite link gave is held as epoch 0 until its wrap names its
    // epoch, so the epoch-0 wrap is only known to be missing once that one is opened.
    for (const w of [...out.wraps].sort((x, y) => y.epoch - x.epoch)) {
      if (this.crypto.hasEpoch(w.epoch)) continue;
      if (!trustedSender(known.get(w.sender), w.sender_key)) {
        debug("e2e", "a key wrap from a sender whose key is not the one known", w.sender);
        continue;
      }
      try {
        const from = { roomId: this.roomId, recipient: identity, senderPublic: b64uDecode(w.sender_key) };
        const key = await unwrapRoomKey(w.wrap, from);
        this.crypto.addKey(key, key.epoch === out.epoch);
        opened.push({ secret: key.encoded(), epoch: key.epoch });
        if (!known.has(w.sender)) {
          const first = { key: w.sender_key, verified: false, changed: /** @type {""} */ ("") };
          known.set(w.sender, first);
          await saveKnownKey(this.roomId, w.sender, first);
        }
      } catch (err) {
        debug("e2e", "a key wrap could not be opened", w.sender, w.epoch, err);
      }
    }
    if (opened.length) await saveRoomKeys(this.roomId, opened);
    return out;
  }

  /**
   * Wrap the keys members lack (the owner's client, after fetch()): those epochs this
   * device holds, to each member's published key.
   * @param {KeysOut["needs"]} needs
   */
  async fill(needs) {
    const { identity } = await this.device();
    const wraps = [];
    for (const need of needs) {
      for (const epoch of need.epochs) {
        const key = this.crypto.keyOfEpoch(epoch);
        if (!key) continue;
        const to = { roomId: this.roomId, sender: identity, recipientPublic: b64uDecode(need.identity_key) };
        wraps.push({ to: need.participant_id, epoch, wrap: await wrapRoomKey(key, to) });
      }
    }
    if (wraps.length) await this.http("POST", `${roomPath(this.roomId)}/keys`, { wraps });
    return wraps.length;
  }

  /**
   * Make the next epoch's key, wrap it to the members given (each with a published
   * identity key; the removed one is no longer among them) and seal with it from now on.
   * The room's name is sealed again with it. Returns the new epoch; throws the server's
   * `key_epoch_conflict` when another rotator's epoch came first (this device then holds
   * the winner's key if it was wrapped to it).
   * @param {{id: string, identity_key?: string | null}[]} members  everyone left but me
   * @param {string} clearName  the room's name, to seal with the new key
   * @param {((key: RoomKey) => Promise<Replacement>) | null} [before]  run with the new key
   *   before the server moves to its epoch (e2e/invite-reset.js: the new invite); what it
   *   returns is retired once the rotation is accepted, undone when it lost
   */
  async rotate(members, clearName, before = null) {
    const latest = await this.fetch();
    const { identity } = await this.device();
    const key = await RoomKey.generate(latest.epoch + 1);
    const replacement = await before?.(key);
    const wraps = [];
    for (const m of members) {
      if (!m.identity_key) continue; // gets it from the owner once it publishes one (needs)
      const to = { roomId: this.roomId, sender: identity, recipientPublic: b64uDecode(m.identity_key) };
      wraps.push({ to: m.id, epoch: key.epoch, wrap: await wrapRoomKey(key, to) });
    }
    try {
      await this.http("POST", `${roomPath(this.roomId)}/keys`, { rotate_to: key.epoch, wraps });
    } catch (err) {
      if (/** @type {{code?: string}} */ (err)?.code === "key_epoch_conflict") await this.#lost(replacement);
      throw err;
    }
    this.epoch = key.epoch;
    this.crypto.addKey(key, true);
    await saveRoomKeys(this.roomId, [{ secret: key.encoded(), epoch: key.epoch }]);
    await replacement?.retire();
    await this.http("PATCH", roomPath(this.roomId), { name: await this.crypto.sealName(clearName) });
    return key.epoch;
  }

  /**
   * Another rotator's epoch came first, with nothing of this one stored: its new invite
   * (words sealed under a key the room never took) is revoked, and the winner's key taken
   * when it was wrapped to this device (the terminal owner wraps to its own key). Either
   * failing leaves the conflict to be reported.
   * @param {Replacement | undefined} replacement
   */
  async #lost(replacement) {
    try {
      await replacement?.undo();
    } catch (err) {
      debug("e2e", "the invite made for a rotation that lost is not revoked", err);
    }
    try {
      await this.fetch();
    } catch (err) {
      debug("e2e", "the keys are not fetched after a rotation that lost", err);
    }
  }
}
