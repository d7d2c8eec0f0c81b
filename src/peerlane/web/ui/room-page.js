// <pl-room-page room-id="…"> (/r/{room_id}): the chat, with the file transfer, invite
// and connection panels beside it (desktop) or behind a toggle (phone). Files are sent
// with the "Send files" / "Send folder" buttons under the chat, or dropped onto it.
//
// This module opens the room and lays the page out; its parts are elements of their own:
// <pl-room-status> and <pl-typing-line> (room-status.js), <pl-file-bar> (file-bar.js),
// <pl-side-sheet> (side-sheet.js), <pl-people-panel> and its Roster (people-panel.js), and
// the panels and the chat (message-list.js, composer.js, transfer-panel.js, invite-panel.js,
// connection-panel.js). Not a member: the join prompt (join-form.js); no such room, or
// another failure, and the toasts over the chat: room-notices.js.

import { ChatRoom, prepareRoom } from "../chat.js";
import { RoomCrypto } from "../e2e/room-crypto.js";
import { roomKeyring } from "../e2e/room-keys.js";
import { takeSession, takeSocket } from "../handover.js";
import { ERROR_CODES } from "../protocol.js";
import { SHARED_PARAM, takeSharedFiles } from "../shared-files.js";
import { startReporting } from "../telemetry.js";
import { keepAwakeWhileTransferring } from "../wake-lock.js";
import { busyMain, errorCode, errorStatus, h } from "./dom.js";
import { e2eMark } from "./e2e-mark.js";
import { joinPrompt } from "./join-form.js";
import { navigate, roomPath } from "./nav.js";
import { roomMove } from "./room-move.js";
import { failureMain, goneMain, toast } from "./room-notices.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").TransfersLike} TransfersLike */
/** @typedef {import("./composer.js").Composer} Composer */
/** @typedef {import("./message-list.js").MessageList} MessageList */
/** @typedef {import("./invite-panel.js").InvitePanel} InvitePanel */
/** @typedef {import("./connection-panel.js").ConnectionPanel} ConnectionPanel */
/** @typedef {import("./transfer-panel.js").TransferPanel} TransferPanel */
/** @typedef {import("./room-status.js").RoomStatus} RoomStatus */
/** @typedef {import("./room-status.js").TypingLine} TypingLine */
/** @typedef {import("./file-bar.js").FileBar} FileBar */
/** @typedef {import("./side-sheet.js").SideSheet} SideSheet */
/** @typedef {import("./people-panel.js").PeoplePanel} PeoplePanel */
/** @typedef {typeof import("./file-drop.js") & {Roster: typeof import("./people-panel.js").Roster, endedPanel: typeof import("./room-status.js").endedPanel, badgeToggle: typeof import("./badge-toggle.js").badgeToggle}} Loaded */

/** A socket or a request refused with these: not (or no longer) a member of the room. */
const NOT_A_MEMBER = new Set(
  /** @type {string[]} */ ([ERROR_CODES.UNAUTHORIZED, ERROR_CODES.TOKEN_EXPIRED, ERROR_CODES.FORBIDDEN]),
);
/** The first render, and loading what it needs, wait at most this long for the first
 * direct links (ChatRoom.linksSettled). */
const FIRST_RENDER_WAIT_MS = 250;
const PHONE = window.matchMedia("(max-width: 640px)");

/**
 * @typedef {{peerlane?: {room: RoomLike, transfers?: TransfersLike | null}}} PeerlaneGlobal
 */

/** Called by the page before (home, join) once this module is loaded: see prepareRoom. */
export function prepare() {
  prepareRoom();
}

/**
 * The room's elements (message list, composer, panels, file bar, status, side sheet) and
 * the file-drop helpers. The connection needs none of them, the render all: they load
 * once the first links are up (already loaded, when the page before preloaded them: app.js).
 * @returns {Promise<Loaded>}
 */
function loadElements() {
  return Promise.all([
    import("./composer.js"),
    import("./message-list.js"),
    import("./transfer-panel.js"),
    import("./invite-panel.js"),
    import("./file-drop.js"),
    import("./room-status.js"),
    import("./file-bar.js"),
    import("./side-sheet.js"),
    import("./people-panel.js"),
    import("./badge-toggle.js"),
  ]).then((m) => ({ ...m[4], Roster: m[8].Roster, endedPanel: m[5].endedPanel, badgeToggle: m[9].badgeToggle }));
}

/** window, with the room on it for tests, benchmarks and the console (publish). */
const G = /** @type {Window & PeerlaneGlobal} */ (window);

/**
 * Show the room as window.peerlane.room (keeping what the transfer engine put there,
 * window.peerlane.transfers): the hook tests, benchmarks and a curious person's console
 * use to look at its state.
 * @param {RoomLike} room
 */
function publish(room) {
  G.peerlane = { ...G.peerlane, room };
}

/** @param {RoomLike} room */
function unpublish(room) {
  if (G.peerlane?.room === room) delete G.peerlane;
}

export class RoomPage extends HTMLElement {
  /** @type {ChatRoom | null} */
  #room = null;
  #closed = false;
  /** Stops the connection reports (telemetry.js) of the room on screen. */
  #stopReporting = () => {};
  /** @type {(() => void)[]} */
  #cleanup = [];

  get roomId() {
    return this.getAttribute("room-id") ?? "";
  }

  connectedCallback() {
    this.#closed = false;
    document.title = "peerlane";
    void this.#open();
  }

  disconnectedCallback() {
    this.#closed = true;
    this.#teardown();
  }

  /** Close the open room (if any) and forget everything that listens to it. */
  #teardown() {
    for (const undo of this.#cleanup.splice(0)) undo();
    this.#stopReporting();
    this.#stopReporting = () => {};
    this.#room?.close();
    if (this.#room) unpublish(this.#room);
    this.#room = null;
  }

  async #open() {
    this.#teardown();
    this.replaceChildren(busyMain("Opening the room…"));
    // Right after creating or joining, the room is known already (no GET /api/rooms/{id})
    // and its socket is open, or opening.
    // The keys were read ahead when the join or create was answered (handover.js).
    const e2e = await RoomCrypto.forRoom(this.roomId, await roomKeyring(this.roomId));
    const given = takeSession(this.roomId);
    const room = new ChatRoom(this.roomId, {
      view: given && (await e2e.openView(given)),
      socket: takeSocket(this.roomId),
      firstLinksWait: FIRST_RENDER_WAIT_MS,
      e2e,
    });
    const started = room.start();
    publish(room); // connecting already: the room's state is there to see (tests, benchmarks)
    const elements = room.linksSettled(FIRST_RENDER_WAIT_MS).then(loadElements);
    elements.catch(() => {}); // reported below, once the room has started
    /** @type {Loaded} */
    let loaded;
    try {
      await started;
      loaded = await elements;
    } catch (err) {
      room.close();
      unpublish(room);
      if (this.#closed) return;
      const status = errorStatus(err);
      const code = errorCode(err) ?? "";
      if (status === 401 || status === 403 || NOT_A_MEMBER.has(code)) this.#renderJoin(err);
      else if (status === 404 || code === ERROR_CODES.ROOM_NOT_FOUND) this.#renderGone(err);
      else this.#renderFailure(err);
      return;
    }
    if (this.#closed) {
      room.close();
      unpublish(room);
      return;
    }
    if (room.ended === ERROR_CODES.UNAUTHORIZED) {
      // The socket was refused while the room loaded (a session that just ended).
      room.close();
      unpublish(room);
      this.#renderJoin({ code: ERROR_CODES.UNAUTHORIZED });
      return;
    }
    this.#room = room;
    this.#stopReporting = startReporting(room, this.roomId);
    if (G.peerlane && room.transfers && !G.peerlane.transfers) G.peerlane.transfers = room.transfers;
    this.#renderRoom(room, loaded);
  }

  // -- not a member / no such room / failure ----------------------------------------------

  /** @param {unknown} err */
  #renderJoin(err) {
    document.title = "Join this room — peerlane";
    const prompt = joinPrompt(this, {
      expired: errorCode(err) === ERROR_CODES.TOKEN_EXPIRED,
      onJoined: (out) => {
        if (out.room.id === this.roomId) void this.#open();
        else navigate(roomPath(out.room.id), { replace: true });
      },
    });
    this.replaceChildren(prompt.main);
    prompt.focus();
  }

  /** @param {unknown} err */
  #renderGone(err) {
    document.title = "Room not found — peerlane";
    this.replaceChildren(goneMain(err));
  }

  /** @param {unknown} err */
  #renderFailure(err) {
    document.title = "Can't open the room — peerlane";
    const { main, retry } = failureMain(err, () => void this.#open());
    this.replaceChildren(main);
    retry.focus();
  }

  // -- the room ---------------------------------------------------------------------------

  /**
   * @param {RoomLike} room
   * @param {Loaded} loaded  the elements' modules, and the file-drop helpers
   */
  #renderRoom(room, loaded) {
    const roomName = room.roomInfo?.name || "Room";
    document.title = `${roomName} — peerlane`;

    const status = /** @type {RoomStatus} */ (document.createElement("pl-room-status"));
    const sheet = /** @type {SideSheet} */ (document.createElement("pl-side-sheet"));
    const badge = loaded.badgeToggle(room);
    this.#cleanup.push(badge.stop);
    const title = h("div", { class: "room-title" }, [h("h1", { text: roomName }), status, e2eMark(room)]);
    const header = h("header", { class: "room-header" }, [
      h("a", { href: "/", class: "home-link", "aria-label": "peerlane home", title: "peerlane home" }, [
        h("span", { class: "brand-mark", "aria-hidden": "true" }),
      ]),
      title,
      badge.button,
      sheet.toggle,
    ]);

    const list = /** @type {MessageList} */ (document.createElement("pl-message-list"));
    const typing = /** @type {TypingLine} */ (document.createElement("pl-typing-line"));
    const composer = /** @type {Composer} */ (document.createElement("pl-composer"));
    const toasts = h("div", { class: "toasts" });
    const fileBar = /** @type {FileBar} */ (document.createElement("pl-file-bar"));
    const main = h("main", { class: "chat", id: "main" }, [list, toasts, typing, sheet.strip, fileBar, composer]);

    const transferPanel = /** @type {TransferPanel} */ (document.createElement("pl-transfer-panel"));
    const invite = /** @type {InvitePanel} */ (document.createElement("pl-invite-panel"));
    const connections = /** @type {ConnectionPanel} */ (document.createElement("pl-connection-panel"));
    const people = /** @type {PeoplePanel} */ (document.createElement("pl-people-panel"));
    people.roomName = roomName;

    const skip = h("a", { class: "skip-link", href: "#message-input", text: "Skip to the message box" });
    const fileNews = h("p", {
      class: "visually-hidden",
      role: "status",
      "aria-live": "polite",
      "data-testid": "transfer-news",
    });
    transferPanel.liveRegion = fileNews;
    const layout = h("div", { class: "room-layout" }, [skip, header, main, sheet, fileNews]);
    sheet.build({
      roomId: this.roomId,
      roomName,
      me: room.me,
      transferPanel,
      invite,
      panels: [connections, people],
      layout,
      covered: [header, main],
    });
    fileBar.build(loaded);
    this.replaceChildren(layout);

    const roster = new loaded.Roster(room, this.roomId);
    roster.clearName = roomName;
    list.room = room;
    composer.room = room;
    transferPanel.transfers = room.transfers ?? null;
    if (room.transfers) this.#cleanup.push(keepAwakeWhileTransferring(room.transfers));
    if (new URLSearchParams(location.search).has(SHARED_PARAM)) {
      // Files shared from another app, this room chosen for them (room-list.js): ask whom.
      history.replaceState(history.state, "", location.pathname);
      void takeSharedFiles().then(
        (files) => fileBar.send(files),
        () => {},
      );
    }
    invite.room = room;
    connections.room = room;
    fileBar.room = room;
    fileBar.transferPanel = transferPanel;
    fileBar.roster = roster;
    transferPanel.roster = roster;
    people.roster = roster;
    this.#cleanup.push(roster.start());
    this.#cleanup.push(roomMove(room, { title, main, composer, fileBar })); // unencrypted: the owner's move

    // Skip link: focus the box without touching location.hash (the router owns the URL).
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      composer.focus();
    });

    // Drops anywhere on the chat send to the chosen recipient; elsewhere they do nothing.
    this.#cleanup.push(loaded.guardPageDrops());
    this.#cleanup.push(
      loaded.attachDrop(main, {
        text: () => fileBar.dropText,
        onFiles: (files) => fileBar.send(files),
        enabled: () => !room.ended && !!room.transfers,
      }),
    );

    // Sending brings the list back to the newest message.
    composer.addEventListener("sent", () => list.scrollToBottom());
    // A message's Edit or Reply hands it to the composer (ui/message-actions.js).
    list.addEventListener("compose", (event) => {
      const { mode, message } = /** @type {CustomEvent<import("./message-actions.js").ComposeRequest>} */ (event)
        .detail;
      if (mode === "edit") composer.startEdit(message);
      else composer.startReply(message);
    });

    // A deleted room, a removal, an outdated page: nothing more can be sent from here.
    status.addEventListener("ended", (event) => {
      main.append(loaded.endedPanel(/** @type {CustomEvent<string>} */ (event).detail));
      composer.hidden = true;
      fileBar.hidden = true;
      typing.hidden = true;
    });
    layout.addEventListener("room-notice", (event) => {
      const { text, code } = /** @type {CustomEvent<{text: string, code: string}>} */ (event).detail;
      toast(toasts, text, code);
    });
    /** @param {Event} event */
    const onError = (event) => {
      const detail = /** @type {CustomEvent<{code?: string, message?: string}>} */ (event).detail ?? {};
      toast(toasts, detail.message || "Something went wrong.", detail.code ?? "");
      if (room.ended === ERROR_CODES.UNAUTHORIZED) {
        // The session ended under us (expired, or the participant was removed): the
        // room page turns into the join prompt.
        setTimeout(() => {
          if (!this.#closed && this.#room === room) void this.#open();
        }, 0);
      }
    };
    room.addEventListener("error", onError);
    status.room = room;
    typing.room = room;
    this.#cleanup.push(() => {
      room.removeEventListener("error", onError);
      status.room = null;
      typing.room = null;
      list.room = null;
      composer.room = null;
      connections.room = null;
      transferPanel.transfers = null;
      fileBar.roster = null;
      transferPanel.roster = null;
      people.roster = null;
    });
    if (!PHONE.matches) composer.focus();
  }
}

customElements.define("pl-room-page", RoomPage);
