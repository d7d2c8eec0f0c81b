// Moving a room made without end-to-end encryption to an encrypted one (docs/security.md,
// "Moving a room to an encrypted one"; docs/protocol.md, "Moving a room").
//
// The owner's browser makes the new room (a fresh key, the old name sealed), posts a
// last message in the old room, and marks it moved, naming only the new key's id (the
// server then refuses anything new in it). The new room's link with its key never goes
// through the server: it is handed from browser to browser over the old room's data
// channels (WebRTC, DTLS), as a `moved` frame. Every browser that holds it hands it to
// each member whose channel opens later, so a member who was away gets it when they are
// online at the same time as one who has it. A link is taken only when its key has the
// id the owner gave the server: another member cannot hand over a room of their own.

import * as api from "../api.js";
import { debug } from "../debug.js";
import { newRoomSecrets } from "./room-crypto.js";
import { linkKeyText, saveRoomKey } from "./room-keys.js";
import { RoomKey } from "./scheme.js";

/** The old room's last message (in the clear, as that room has always been). */
export const FINAL_TEXT =
  "This room moved to an end-to-end encrypted room. Members' browsers hand its link to each other directly, never through the server: keep this room open while others are online and the link appears here.";
/** How long the new room's first invite (the link handed over) stays valid. */
export const MOVE_INVITE_TTL = 30 * 86_400;
/** How long the last message may take to be stored before the move gives up. */
const FINAL_WAIT_MS = 15_000;
const STORAGE_PREFIX = "peerlane.moved.";

/**
 * What a ChatRoom gives this module.
 * @typedef {EventTarget & {
 *   id: string,
 *   me: {name: string, role: string} | null,
 *   roomInfo: {name: string, moved_at?: number | null, moved_key_id?: string | null} | null,
 *   messages: readonly {id: string, seq: number | null}[],
 *   send(text: string): {id: string},
 *   sendDirect(message: import("../protocol.js").PeerMovedMsg, peerId?: string): number,
 *   handedLinks?: string[],
 * }} MovableRoom
 *   handedLinks: links peers handed over before this module listened (chat.js).
 */

/** @typedef {{link: string, room_id: string | null}} KeptMove  room_id: known to the owner */

/** The api calls a move makes (tests inject their own). */
export const moveApi = { createRoom: api.createRoom, moveRoom: api.moveRoom, getRoom: api.getRoom };

/** This device's record of where a room moved, or null. @param {string} roomId @returns {KeptMove | null} */
export function keptMove(roomId) {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_PREFIX + roomId);
    const value = raw ? JSON.parse(raw) : null;
    return value && typeof value.link === "string" ? value : null;
  } catch {
    return null;
  }
}

/** @param {string} roomId @param {KeptMove} move */
function keepMove(roomId, move) {
  try {
    globalThis.localStorage?.setItem(STORAGE_PREFIX + roomId, JSON.stringify(move));
  } catch (err) {
    debug("e2e", "the room's move not kept on the device", err);
  }
}

/**
 * A handed-over link as this page opens it ("/join#<token>.<key>"), or null unless it is
 * an invite link of this server whose key has `keyId`.
 * @param {unknown} link
 * @param {string | null | undefined} keyId  the id the owner gave the server
 * @returns {Promise<string | null>}
 */
export async function checkMoveLink(link, keyId) {
  if (typeof link !== "string" || link.length > 500 || !keyId) return null;
  try {
    const url = new URL(link, location.origin);
    if (url.origin !== location.origin || url.pathname !== "/join" || url.search) return null;
    const keyText = linkKeyText(url.hash);
    if (!keyText || (await RoomKey.decode(keyText)).kid !== keyId) return null;
    return `/join${url.hash}`;
  } catch (err) {
    debug("e2e", "a handed-over link was refused", err);
    return null;
  }
}

/**
 * Resolve once the message `id` has its seq (the server stored it).
 * @param {MovableRoom} room
 * @param {string} id
 */
function stored(room, id) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!room.messages.some((m) => m.id === id && m.seq !== null)) return;
      done();
      resolve(undefined);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error("The last message was not stored; check the connection and try again."));
    }, FINAL_WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      room.removeEventListener("change", check);
    };
    room.addEventListener("change", check);
    check();
  });
}

/**
 * The owner moves the room: the new encrypted room (its session cookie, its key kept on
 * this device), the last message here, the move on the server, and the link handed to
 * every member whose channel is open.
 * @param {MovableRoom} room
 * @returns {Promise<KeptMove>}
 */
export async function moveToEncrypted(room) {
  const me = room.me;
  if (me?.role !== "owner") throw new Error("Only the room's owner can move it.");
  const secrets = await newRoomSecrets(room.roomInfo?.name ?? "");
  const out = await moveApi.createRoom({
    display_name: me.name,
    name: secrets.sealedName,
    invite_ttl: MOVE_INVITE_TTL,
  });
  await saveRoomKey(out.room.id, secrets.keyText);
  const token = out.invite?.link ? new URL(out.invite.link).hash : "";
  if (!token) throw new Error("The new room came without an invite link.");
  const move = { link: `/join${token}.${secrets.keyText}`, room_id: out.room.id };
  await stored(room, room.send(FINAL_TEXT).id);
  const key = await RoomKey.decode(secrets.keyText);
  const moved = await moveApi.moveRoom(room.id, key.kid);
  if (room.roomInfo) Object.assign(room.roomInfo, { moved_at: moved.moved_at, moved_key_id: moved.moved_key_id });
  keepMove(room.id, move);
  room.sendDirect({ t: "moved", link: move.link });
  return move;
}

/**
 * Hand the move over while the room is open: to every channel that opens (and those open
 * now) when this device has it; take it from a peer when its key is the one the owner
 * named. `onMoved` is called with the record once this device has one.
 * @param {MovableRoom} room
 * @param {(move: KeptMove) => void} onMoved
 * @returns {() => void}  stop
 */
export function handOverMove(room, onMoved) {
  let stopped = false;
  /** @param {string} [peerId] */
  const give = (peerId) => {
    const move = keptMove(room.id);
    if (move) room.sendDirect({ t: "moved", link: move.link }, peerId);
  };
  /** @param {Event} ev */
  const onOpen = (ev) => give(/** @type {CustomEvent<{peerId: string}>} */ (ev).detail.peerId);
  /** @param {string} link */
  const take = async (link) => {
    if (keptMove(room.id)) return;
    // The key id the owner named, as the server holds it now (this page's view may be
    // from before the move).
    let keyId = room.roomInfo?.moved_key_id;
    if (!keyId) {
      try {
        const view = await moveApi.getRoom(room.id);
        if (room.roomInfo)
          Object.assign(room.roomInfo, { moved_at: view.room.moved_at, moved_key_id: view.room.moved_key_id });
        keyId = view.room.moved_key_id;
      } catch (err) {
        debug("e2e", "the room's move could not be checked", err);
        return;
      }
    }
    const checked = await checkMoveLink(link, keyId);
    if (!checked || stopped || keptMove(room.id)) return;
    const move = { link: checked, room_id: null };
    keepMove(room.id, move);
    give(); // members linked to me but not to the one who gave it
    onMoved(move);
  };
  /** @param {Event} ev */
  const onLink = (ev) => void take(/** @type {CustomEvent<{link: string}>} */ (ev).detail.link);
  room.addEventListener("channel-open", onOpen);
  room.addEventListener("moved-link", onLink);
  give();
  const move = keptMove(room.id);
  if (move) onMoved(move);
  else for (const link of room.handedLinks ?? []) void take(link);
  return () => {
    stopped = true;
    room.removeEventListener("channel-open", onOpen);
    room.removeEventListener("moved-link", onLink);
  };
}
