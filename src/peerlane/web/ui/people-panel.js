// The people of a room, for <pl-room-page>:
// Roster               everyone in the room but me, online people first: the peers seen,
//                      and the room's participant list (fetched once the room is connected,
//                      and again when someone unknown shows up). Fires "change".
//                      In an end-to-end encrypted room it also keeps the members' identity
//                      keys (e2e/member-list.js): safety codes, verification, changed keys,
//                      and the owner's key rotation after a removal or a departure for good.
// <pl-people-panel>    the list of the others: for the owner each with a Remove button; in
//                      an encrypted room, for everyone, each with its safety code (people-keys.js).
//                      Hidden while there is nothing to show.

import * as api from "../api.js";
import { invitesReplacedText } from "../e2e/invite-reset.js";
import { MemberList } from "../e2e/member-list.js";
import { whenConnected } from "./connection-panel.js";
import { errorCode, errorMessage, errorStatus, h } from "./dom.js";
import { historyControl, keyLine, keyStamp } from "./people-keys.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {{id: string, name: string, online: boolean}} Person */
/** @typedef {{name: string, online: boolean, identity_key?: string | null}} Known */

/** The participant list is fetched again at most this often. */
const RELIST_MS = 5000;

export class Roster extends EventTarget {
  /** @type {Map<string, Known>} */
  #people = new Map();
  /** People the owner removed here: their last presence may still be on its way. */
  #removed = new Set();
  #listing = false;
  /** Keys changed while a fetch was under way: fetch again after it. */
  #again = false;
  #listedAt = 0;
  #connected = false;
  #closed = false;

  /**
   * @param {RoomLike} room
   * @param {string} roomId
   */
  constructor(room, roomId) {
    super();
    this.room = room;
    this.roomId = roomId;
    /** The members' identity keys, in an end-to-end encrypted room. @type {MemberList | null} */
    this.members = null;
    /** The room's name (the owner seals it again under a new key); set by the room page. */
    this.clearName = "";
  }

  get owner() {
    return this.room.me?.role === "owner";
  }

  /**
   * Follow the room; the function returned stops.
   * @returns {() => void}
   */
  start() {
    const onPeers = () => {
      const peers = Array.from(this.room.peers.values());
      const unknown = peers.some((p) => p.participant_id && !this.#people.has(p.participant_id));
      if (unknown && this.#connected) void this.load();
      this.#changed();
    };
    this.room.addEventListener("peers", onPeers);
    // Someone published an identity key or handed out keys: look again at once.
    const onKeys = () => {
      if (this.#connected) void this.load(true);
    };
    this.room.addEventListener("keys", onKeys);
    // Listed once the room is connected: not to compete with connecting.
    const stopWaiting = whenConnected(this.room, () => {
      this.#connected = true;
      void this.load();
    });
    return () => {
      this.#closed = true;
      stopWaiting();
      this.room.removeEventListener("peers", onPeers);
      this.room.removeEventListener("keys", onKeys);
    };
  }

  /** @returns {Person[]} everyone but me, online people first, then by name */
  entries() {
    const mine = this.room.me?.participant_id;
    const online = new Set(Array.from(this.room.peers.values()).map((p) => p.participant_id));
    for (const peer of this.room.peers.values()) {
      const id = peer.participant_id;
      if (id && id !== mine && !this.#people.has(id) && !this.#removed.has(id)) {
        this.#people.set(id, { name: peer.name || "Someone", online: true });
      }
    }
    return Array.from(this.#people)
      .filter(([id]) => id !== mine)
      .map(([id, p]) => ({ id, name: p.name, online: online.has(id) }))
      .sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
  }

  /**
   * Fetch the participant list (the peers seen are enough when it fails); `now`: even if
   * it was fetched a moment ago (keys changed), once the fetch under way has ended.
   * @param {boolean} [now]
   */
  async load(now = false) {
    if (this.#listing) {
      this.#again ||= now;
      return;
    }
    if (!now && Date.now() - this.#listedAt < RELIST_MS) return;
    this.#listing = true;
    try {
      const out = await api.listParticipants(this.roomId);
      this.#listedAt = Date.now();
      const listed = (out.participants ?? []).filter((p) => !this.#removed.has(p.id));
      for (const p of listed) this.#people.set(p.id, { name: p.name, online: p.online, identity_key: p.identity_key });
      const members = this.#memberList();
      if (members) {
        // The owner's client rotates here when someone left for good (the "keys" frame
        // the server sends then, or the room opened after): the invites were replaced.
        if (await members.update(listed, this.room.me?.participant_id, this.owner, this.clearName)) {
          this.room.dispatchEvent(new CustomEvent("invites"));
        }
        // Not the owner: a rotation's wrap for this device (the owner fetched in update).
        if (!this.owner) await members.keys.fetch();
      }
    } catch {
      /* the peers we see are enough to choose from */
    } finally {
      this.#listing = false;
    }
    if (!this.#closed) this.#changed();
    if (this.#again && !this.#closed) {
      this.#again = false;
      await this.load(true);
    }
  }

  /**
   * Remove someone from the room (the owner). Already gone counts as done. In an
   * encrypted room the room's key then rotates: only the members left get the new one,
   * and the invites the removed member knew are replaced by a new one (an "invites" event
   * on the room tells the invite panel). Whether they were.
   * @param {string} id
   * @param {string} [clearName]  the room's name, sealed again with the new key
   * @returns {Promise<boolean>}
   */
  async remove(id, clearName = "") {
    try {
      await api.removeParticipant(this.roomId, id);
    } catch (err) {
      if (errorStatus(err) !== 404) throw err;
    }
    this.#removed.add(id);
    this.#people.delete(id);
    this.#changed();
    const members = this.#memberList();
    if (!members) return false;
    try {
      const mine = this.room.me?.participant_id;
      const { participants } = await api.listParticipants(this.roomId);
      await members.rotate(
        participants.filter((p) => p.id !== mine && p.id !== id),
        clearName,
      );
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`Removed, but the room's key could not be changed: ${why}`);
    }
    this.room.dispatchEvent(new CustomEvent("invites"));
    return true;
  }

  /** The members' identity keys, in an end-to-end encrypted room (null in another). */
  #memberList() {
    const e2e = /** @type {import("../e2e/room-crypto.js").RoomCrypto | null | undefined} */ (this.room.e2e);
    if (e2e?.encrypted) this.members ??= new MemberList(this.roomId, e2e);
    return this.members;
  }

  /**
   * What members who join from now on can read (the owner).
   * @param {"all" | "joined"} history
   */
  async setHistory(history) {
    await api.updateRoom(this.roomId, { history });
    if (this.members) this.members.history = history;
    this.#changed();
  }

  /** A member's key was marked verified, or its change note dismissed. @param {string} id @param {"verify" | "dismiss"} what */
  async keyAction(id, what) {
    if (what === "verify") await this.members?.verify(id);
    else await this.members?.dismiss(id);
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new Event("change"));
  }
}

/** <pl-people-panel>: set `roster` (and `roomName`, for the question before a removal). */
export class PeoplePanel extends HTMLElement {
  /** @type {Roster | null} */
  #roster = null;
  roomName = "";
  #list = h("ul", { class: "people-list" });
  #setting = h("div", { class: "people-setting" });

  connectedCallback() {
    this.classList.add("panel", "people");
    this.setAttribute("role", "region");
    this.setAttribute("aria-label", "People in this room");
    if (!this.firstChild) this.append(h("h2", { class: "panel-title", text: "People" }), this.#setting, this.#list);
  }

  get roster() {
    return this.#roster;
  }

  set roster(roster) {
    this.#roster?.removeEventListener("change", this.#render);
    this.#roster = roster;
    roster?.addEventListener("change", this.#render);
    this.#render();
  }

  #render = () => {
    const roster = this.#roster;
    const owner = Boolean(roster?.owner);
    const members = roster?.members ?? null;
    const entries = roster && (owner || members) ? roster.entries() : [];
    const history = owner ? (members?.history ?? null) : null;
    this.hidden = entries.length === 0 && !history;
    if (this.#setting.dataset.value !== (history ?? "")) {
      this.#setting.dataset.value = history ?? "";
      this.#setting.replaceChildren(history ? historyControl(history, (v) => void this.#setHistory(v)) : "");
    }
    const key = entries.map((p) => `${p.id}:${p.online}:${keyStamp(members, p.id)}`).join(",");
    if (this.#list.dataset.key === key) return;
    this.#list.dataset.key = key;
    this.#list.replaceChildren(
      ...entries.map((p) =>
        h("li", { "data-participant": p.id }, [
          h("div", { class: "person-head" }, [
            h("span", { class: "person-name", text: p.online ? p.name : `${p.name} (offline)` }),
            owner
              ? h("button", {
                  type: "button",
                  class: "btn subtle small-btn",
                  text: "Remove",
                  "aria-label": `Remove ${p.name}`,
                  onclick: () => void this.#remove(p),
                })
              : null,
          ]),
          members ? keyLine(p, members.view(p.id), (what) => void roster?.keyAction(p.id, what)) : null,
        ]),
      ),
    );
  };

  /** @param {"all" | "joined"} value */
  async #setHistory(value) {
    try {
      await this.#roster?.setHistory(value);
    } catch (err) {
      const detail = {
        text: errorMessage(err, "Could not change the setting; try again."),
        code: errorCode(err) ?? "",
      };
      this.dispatchEvent(new CustomEvent("room-notice", { bubbles: true, detail }));
    }
  }

  /** @param {Person} person */
  async #remove(person) {
    const roster = this.#roster;
    if (!roster) return;
    // In an encrypted room they knew the invites: those are replaced (e2e/invite-reset.js).
    const invites = roster.room.e2e?.encrypted
      ? " The invites made so far stop working (they knew them); a new one is made."
      : "";
    const question = `Remove ${person.name} from ${this.roomName}? They are signed out at once and need a new invite to come back.${invites}`;
    if (!confirm(question)) return;
    try {
      if (await roster.remove(person.id, this.roomName)) {
        const detail = { text: invitesReplacedText(person.name), code: "invites_replaced" };
        this.dispatchEvent(new CustomEvent("room-notice", { bubbles: true, detail }));
      }
    } catch (err) {
      const detail = { text: errorMessage(err, "Could not remove them; try again."), code: errorCode(err) ?? "" };
      this.dispatchEvent(new CustomEvent("room-notice", { bubbles: true, detail }));
    }
  }
}

customElements.define("pl-people-panel", PeoplePanel);
