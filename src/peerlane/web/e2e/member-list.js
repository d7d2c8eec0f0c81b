// The identity side of a room's people (issue #15 item 4): this device publishes its
// identity key to the room, remembers each member's key as first seen, works out the
// safety code of each pair (this device and the member), and notes changed keys; the
// owner's client also hands keys to members who lack them and rotates the room's key when
// it removes someone or the server says someone left for good (key-rotation.js). The
// people panel (ui/people-panel.js) shows it.

import { debug } from "../debug.js";
import { deviceIdentity, loadKnownKeys, saveKnownKey } from "./device-identity.js";
import { safetyCode } from "./identity.js";
import { replaceInvites } from "./invite-reset.js";
import { RoomKeys } from "./key-rotation.js";
import { dismissChange, keyNote, markVerified, reviewKey } from "./member-keys.js";
import { b64uDecode } from "./scheme.js";

/** @typedef {import("./room-crypto.js").RoomCrypto} RoomCrypto */
/** @typedef {import("./member-keys.js").KnownKey} KnownKey */
/** @typedef {{id: string, identity_key?: string | null}} Member */
/** @typedef {{code: string, verified: boolean, note: string, loud: boolean, changed: boolean}} KeyView */

export class MemberList {
  /**
   * @param {string} roomId
   * @param {RoomCrypto} crypto
   * @param {{keys?: RoomKeys, device?: typeof deviceIdentity, replaceInvites?: typeof replaceInvites}} [deps]  (tests)
   */
  constructor(roomId, crypto, deps = {}) {
    this.roomId = roomId;
    this.device = deps.device ?? deviceIdentity;
    this.replaceInvites = deps.replaceInvites ?? replaceInvites;
    this.keys = deps.keys ?? new RoomKeys(roomId, crypto, { device: this.device });
    /** @type {Map<string, KnownKey> | null} */
    this.known = null;
    /** participant id → safety code with this device @type {Map<string, string>} */
    this.codes = new Map();
    /** What new members can read (the owner's setting), once fetched. @type {"all" | "joined" | null} */
    this.history = null;
  }

  /** A departure's rotation under way here. */
  #rotating = false;

  /**
   * Bring the list up to date with the participants the server lists (me included). The
   * owner's client with the room's name (`clearName`) also rotates when the server says
   * the current key is known to someone gone (a member left for good, maybe while this
   * client was offline); whether it rotated (the invites were then replaced too).
   * @param {Member[]} participants
   * @param {string | undefined} myId
   * @param {boolean} owner
   * @param {string} [clearName]  the room's name, sealed again with a new key
   * @returns {Promise<boolean>}
   */
  async update(participants, myId, owner, clearName = "") {
    const me = participants.find((p) => p.id === myId);
    try {
      await this.keys.publish(me?.identity_key);
    } catch (err) {
      debug("e2e", "the identity key is not published", err);
    }
    this.known ??= await loadKnownKeys(this.roomId);
    const { publicKey } = await this.device();
    for (const p of participants) {
      if (p.id === myId) continue;
      const { next } = reviewKey(this.known.get(p.id), p.identity_key);
      if (next) await this.#remember(p.id, next);
      if (p.identity_key) this.codes.set(p.id, await safetyCode(publicKey, b64uDecode(p.identity_key)));
      else this.codes.delete(p.id);
    }
    if (!owner) return false;
    try {
      const out = await this.keys.fetch();
      this.history = out.history;
      if (out.needs.length) await this.keys.fill(out.needs);
      // Without the name the rotation would seal an empty one over it: not until known.
      if (out.rotate_due && clearName) {
        return await this.#rotateDue(
          participants.filter((p) => p.id !== myId),
          clearName,
        );
      }
    } catch (err) {
      debug("e2e", "keys not handed to members who lack them, or not rotated", err);
    }
    return false;
  }

  /**
   * Rotate once for a departure: one rotation at a time in this page, and across this
   * browser's tabs of the room (a Web Lock; the due flag is read again inside it, so a
   * tab that waited finds it done). Another device of the owner racing is refused by the
   * server (key_epoch_conflict), which counts as done.
   * @param {Member[]} others
   * @param {string} clearName
   */
  async #rotateDue(others, clearName) {
    if (this.#rotating) return false;
    this.#rotating = true;
    const run = async () => {
      if (!(await this.keys.fetch()).rotate_due) return false;
      return (await this.rotate(others, clearName)) !== null;
    };
    try {
      const locks = globalThis.navigator?.locks;
      return locks ? await locks.request(`peerlane-rotate:${this.roomId}`, run) : await run();
    } finally {
      this.#rotating = false;
    }
  }

  /**
   * What the panel shows of a member's key.
   * @param {string} id
   * @returns {KeyView}
   */
  view(id) {
    const known = this.known?.get(id);
    const note = keyNote(known);
    return {
      code: this.codes.get(id) ?? "",
      verified: Boolean(known?.verified),
      note,
      loud: known?.changed === "verified-changed",
      changed: Boolean(note),
    };
  }

  /** @param {string} id */
  async verify(id) {
    const known = this.known?.get(id);
    if (known) await this.#remember(id, markVerified(known));
  }

  /** @param {string} id */
  async dismiss(id) {
    const known = this.known?.get(id);
    if (known) await this.#remember(id, dismissChange(known));
  }

  /**
   * After a removal (the owner): a new room key for everyone left, and the invites the
   * removed member knew replaced by a new one (e2e/invite-reset.js). The new epoch, or
   * null when another session of the owner rotated first (the server's
   * key_epoch_conflict): that rotation replaced the invites, and counts as done.
   * @param {Member[]} remaining  the members left but me
   * @param {string} clearName
   * @returns {Promise<number | null>}
   */
  async rotate(remaining, clearName) {
    try {
      return await this.keys.rotate(remaining, clearName, (key) => this.replaceInvites(this.roomId, key));
    } catch (err) {
      if (/** @type {{code?: string}} */ (err)?.code === "key_epoch_conflict") return null;
      throw err;
    }
  }

  /**
   * @param {string} id
   * @param {KnownKey} known
   */
  async #remember(id, known) {
    this.known?.set(id, known);
    await saveKnownKey(this.roomId, id, known);
  }
}
