// A room made without end-to-end encryption, on the room page: its owner is offered to
// move it to an encrypted room (e2e/room-move.js does the move), and once it moved the
// room is read-only, with a panel in place of the composer pointing to the new room
// (when this device has its link) or saying how the link will come.

import { ERROR_CODES } from "../protocol.js";
import { errorMessage, h } from "./dom.js";

/** @typedef {import("../e2e/room-move.js").MovableRoom} MovableRoom */
/** @typedef {import("../e2e/room-move.js").KeptMove} KeptMove */

const WAITING =
  "This room moved to an end-to-end encrypted room. Its link comes from another member's browser, directly (never through the server): it appears here when a member who has it is online with this room open. You can also ask a member for the new room's invite link.";
const EXPLAIN =
  "A new room is made with a key that only members' browsers hold, under this room's name. This room gets a last message and becomes read-only; members online now get the new room's link from your browser directly, and those away get it from a member who has it when they are both online. The server never sees the link's key.";

/**
 * Wire the move into the room page.
 * @param {import("./types.js").RoomLike} roomLike  a ChatRoom
 * @param {{title: HTMLElement, main: HTMLElement, composer: HTMLElement, fileBar: HTMLElement}} parts
 * @returns {() => void}  stop
 */
export function roomMove(roomLike, { title, main, composer, fileBar }) {
  if (roomLike.e2e?.encrypted) return () => {};
  const room = /** @type {MovableRoom} */ (/** @type {unknown} */ (roomLike));
  /** @type {(() => void) | null} */
  let stopHandOver = null;
  let closed = false;
  /** @type {HTMLElement | null} */
  let offer = null;
  const panel = h("div", { class: "ended", "data-testid": "room-moved", role: "status" });
  /** @param {KeptMove | null} move */
  const showMoved = (move) => {
    composer.hidden = true;
    fileBar.hidden = true;
    offer?.remove();
    const text = move ? "This room moved to an end-to-end encrypted room." : WAITING;
    panel.replaceChildren(h("p", { text }));
    if (move) {
      const href = move.room_id ? `/r/${encodeURIComponent(move.room_id)}` : move.link;
      panel.append(
        h("a", { href, class: "btn primary", "data-testid": "moved-open", text: "Open the encrypted room" }),
        h("p", {
          class: "muted small",
          text: "While this room is open, your browser hands the new room's link to members who come online.",
        }),
      );
    }
    if (!panel.isConnected) main.append(panel);
  };

  const start = async () => {
    const { handOverMove, keptMove } = await import("../e2e/room-move.js");
    if (closed) return;
    stopHandOver = handOverMove(room, showMoved);
    if (room.roomInfo?.moved_at != null && !keptMove(room.id)) showMoved(null);
  };
  /** A message refused because the room moved meanwhile: read-only from now. @param {Event} ev */
  const onError = (ev) => {
    const code = /** @type {CustomEvent<{code?: string}>} */ (ev).detail?.code;
    if (code === ERROR_CODES.ROOM_MOVED && panel.isConnected === false) showMoved(null);
  };
  room.addEventListener("error", onError);

  if (room.me?.role === "owner" && room.roomInfo?.moved_at == null) offer = moveOffer(room, showMoved);
  if (offer) title.append(offer);
  void start();
  return () => {
    closed = true;
    stopHandOver?.();
    room.removeEventListener("error", onError);
  };
}

/**
 * The owner's "Move to an encrypted room": a button, then what it does and a confirm.
 * @param {MovableRoom} room
 * @param {(move: KeptMove) => void} done
 */
function moveOffer(room, done) {
  const box = h("div", { class: "move-offer small" });
  const alert = h("p", { role: "alert", class: "form-error" });
  const open = h("button", {
    type: "button",
    class: "btn",
    "data-testid": "move-encrypted",
    text: "Move to an encrypted room",
  });
  const confirm = h("button", {
    type: "button",
    class: "btn primary",
    "data-testid": "move-confirm",
    text: "Move now",
  });
  const cancel = h("button", { type: "button", class: "btn", text: "Cancel" });
  const details = h("div", { class: "stack", hidden: true }, [
    h("p", { text: EXPLAIN }),
    h("p", { class: "btn-row" }, [confirm, cancel]),
    alert,
  ]);
  open.addEventListener("click", () => {
    details.hidden = false;
    open.hidden = true;
    confirm.focus();
  });
  cancel.addEventListener("click", () => {
    details.hidden = true;
    open.hidden = false;
    alert.textContent = "";
  });
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    alert.textContent = "";
    try {
      const { moveToEncrypted } = await import("../e2e/room-move.js");
      done(await moveToEncrypted(room));
      box.remove();
    } catch (err) {
      alert.textContent = errorMessage(err, "The room could not be moved; try again.");
      confirm.disabled = false;
    }
  });
  box.append(open, details);
  return box;
}
