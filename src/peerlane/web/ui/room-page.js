// <pl-room-page room-id="…"> (/r/{room_id}): the chat, with the file transfer, invite
// and connection panels beside it (desktop) or behind a toggle (phone). Files are sent
// with the "Send files" / "Send folder" buttons under the chat, or dropped onto it.

import * as api from "../api.js";
import { ChatRoom, prepareRoom } from "../chat.js";
import { ICONS, busyMain, errorCode, errorMessage, errorStatus, h, icon, joinNames } from "./dom.js";
import { codeField, joinByCode, nameField } from "./home-page.js";
import { directCount, statusText, whenConnected } from "./connection-panel.js";
import { takeSession, takeSocket } from "../handover.js";
import { navigate, roomPath } from "./nav.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./composer.js").Composer} Composer */
/** @typedef {import("./message-list.js").MessageList} MessageList */
/** @typedef {import("./invite-panel.js").InvitePanel} InvitePanel */
/** @typedef {import("./connection-panel.js").ConnectionPanel} ConnectionPanel */
/** @typedef {import("./transfer-panel.js").TransferPanel} TransferPanel */
/** @typedef {import("./types.js").TransfersLike} TransfersLike */
/** @typedef {typeof import("./file-drop.js")} FileDrop */

const NOT_A_MEMBER = new Set(["unauthorized", "token_expired", "forbidden"]);
/** Why a room ended for good on this page, in plain words (the panel under the chat). */
const ENDED_FOR_GOOD = new Map([
  ["room_gone", "This room was deleted. Its messages are gone from the server."],
  ["removed", "The room's owner removed you from this room."],
  ["unsupported_version", "This page is out of date."],
]);
/** The first render, and loading what it needs, wait at most this long for the first
 * direct links (ChatRoom.linksSettled). */
const FIRST_RENDER_WAIT_MS = 250;
const PHONE = window.matchMedia("(max-width: 640px)");
const CLIP_ICON = ["m20 11.5-8 8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15 7"];
const FOLDER_ICON = ["M3 6.5a1.5 1.5 0 0 1 1.5-1.5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18Z"];

/**
 * @typedef {{peerlane?: {room: RoomLike, transfers?: TransfersLike | null}}} PeerlaneGlobal
 */

/** Called by the page before (home, join) once this module is loaded: see prepareRoom. */
export function prepare() {
  prepareRoom();
}

/**
 * The room's elements (message list, composer, panels) and the file-drop helpers. The
 * connection needs none of them, the render all: they load once the first links are up
 * (already loaded, when the page before preloaded them: app.js).
 * @returns {Promise<FileDrop>}
 */
function loadElements() {
  return Promise.all([
    import("./composer.js"),
    import("./message-list.js"),
    import("./transfer-panel.js"),
    import("./invite-panel.js"),
    import("./file-drop.js"),
  ]).then((modules) => modules[4]);
}

/**
 * Show the room as window.peerlane.room (keeping what the transfer engine put there,
 * window.peerlane.transfers): the hook tests, benchmarks and a curious person's console
 * use to look at its state.
 * @param {ChatRoom} room
 */
function publish(room) {
  const g = /** @type {PeerlaneGlobal} */ (/** @type {unknown} */ (window));
  g.peerlane = { ...g.peerlane, room: /** @type {RoomLike} */ (/** @type {unknown} */ (room)) };
}

/** @param {ChatRoom} room */
function unpublish(room) {
  const g = /** @type {PeerlaneGlobal} */ (/** @type {unknown} */ (window));
  if (g.peerlane?.room === /** @type {unknown} */ (room)) delete g.peerlane;
}

export class RoomPage extends HTMLElement {
  /** @type {ChatRoom | null} */
  #room = null;
  #closed = false;
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
    this.#room?.close();
    if (this.#room) unpublish(this.#room);
    this.#room = null;
  }

  async #open() {
    this.#teardown();
    this.replaceChildren(busyMain("Opening the room…"));
    // Right after creating or joining, the room is known already (no GET /api/rooms/{id})
    // and its socket is open, or opening.
    const room = new ChatRoom(this.roomId, {
      view: takeSession(this.roomId),
      socket: takeSocket(this.roomId),
      firstLinksWait: FIRST_RENDER_WAIT_MS,
    });
    const started = room.start();
    publish(room); // connecting already: the room's state is there to see (tests, benchmarks)
    const elements = room.linksSettled(FIRST_RENDER_WAIT_MS).then(loadElements);
    elements.catch(() => {}); // reported below, once the room has started
    /** @type {FileDrop} */
    let drop;
    try {
      await started;
      drop = await elements;
    } catch (err) {
      room.close();
      unpublish(room);
      if (this.#closed) return;
      const status = errorStatus(err);
      const code = errorCode(err) ?? "";
      if (status === 401 || status === 403 || NOT_A_MEMBER.has(code)) this.#renderJoin(err);
      else if (status === 404 || code === "room_not_found") this.#renderGone(err);
      else this.#renderFailure(err);
      return;
    }
    if (this.#closed) {
      room.close();
      unpublish(room);
      return;
    }
    if (room.ended === "unauthorized") {
      // The socket was refused while the room loaded (a session that just ended).
      room.close();
      unpublish(room);
      this.#renderJoin({ code: "unauthorized" });
      return;
    }
    this.#room = room;
    const g = /** @type {PeerlaneGlobal} */ (/** @type {unknown} */ (window));
    const view = /** @type {RoomLike} */ (/** @type {unknown} */ (room));
    if (g.peerlane && view.transfers && !g.peerlane.transfers) g.peerlane.transfers = view.transfers;
    this.#renderRoom(/** @type {RoomLike} */ (/** @type {unknown} */ (room)), drop);
  }

  // -- not a member / no such room / failure ----------------------------------------------

  /** @param {unknown} err */
  #renderJoin(err) {
    document.title = "Join this room — peerlane";
    const alert = h("p", { class: "form-error", role: "alert" });
    const name = nameField();
    const code = codeField();
    const button = h("button", { type: "submit", class: "btn primary wide", text: "Join" });
    const expired = errorCode(err) === "token_expired";
    const form = h("form", { class: "stack" }, [
      h("h1", { class: "card-title", text: "You're not in this room yet" }),
      h("p", {
        class: "muted",
        text: expired
          ? "Your session in this room has expired. Enter a room code to join again, or open a fresh invite link."
          : "To join, enter the room code from whoever invited you, or open the invite link they sent.",
      }),
      name.field,
      code.field,
      button,
      alert,
    ]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const out = await joinByCode(this, alert, button, name.input, code.input);
      if (!out) return;
      if (out.room.id === this.roomId) void this.#open();
      else navigate(roomPath(out.room.id), { replace: true });
    });
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow" }, [form, h("p", { class: "card-foot" }, [h("a", { href: "/", text: "Start a room of your own" })])]),
      ]),
    );
    if (matchMedia("(pointer: fine)").matches) (name.input.value ? code.input : name.input).focus();
  }

  /** @param {unknown} err */
  #renderGone(err) {
    document.title = "Room not found — peerlane";
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow stack" }, [
          h("h1", { class: "card-title", text: "This room isn't here" }),
          h("p", { role: "alert", text: errorMessage(err, "No such room; it may have been deleted or expired.") }),
          h("p", {}, [h("a", { href: "/", class: "btn primary", text: "Go to the home page" })]),
        ]),
      ]),
    );
  }

  /** @param {unknown} err */
  #renderFailure(err) {
    document.title = "Can't open the room — peerlane";
    const retry = h("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => void this.#open() });
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow stack" }, [
          h("h1", { class: "card-title", text: "Can't open the room" }),
          h("p", { role: "alert", text: errorMessage(err) }),
          h("p", { class: "btn-row" }, [retry, h("a", { href: "/", class: "btn", text: "Home" })]),
        ]),
      ]),
    );
    retry.focus();
  }

  // -- the room ---------------------------------------------------------------------------

  /**
   * @param {RoomLike} room
   * @param {FileDrop} drop
   */
  #renderRoom(room, drop) {
    const { attachDrop, canPickFolders, filePicker, guardPageDrops } = drop;
    const info = room.roomInfo;
    const me = room.me;
    const roomName = info?.name || "Room";
    document.title = `${roomName} — peerlane`;

    const status = h("p", { class: "conn-status", "data-testid": "connection-status", role: "status" });
    const sideToggle = h(
      "button",
      {
        type: "button",
        class: "btn side-toggle",
        "aria-controls": "side-panel",
        "aria-expanded": "false",
        "aria-label": "Files, invite and connections",
      },
      [
        icon(ICONS.panel),
        h("span", { class: "side-toggle-text", "aria-hidden": "true", text: "Invite" }),
        h("span", { class: "toggle-badge", "aria-hidden": "true", hidden: true }),
      ],
    );
    const toggleBadge = /** @type {HTMLElement} */ (sideToggle.querySelector(".toggle-badge"));
    const toggleText = /** @type {HTMLElement} */ (sideToggle.querySelector(".side-toggle-text"));
    const header = h("header", { class: "room-header" }, [
      h("a", { href: "/", class: "home-link", "aria-label": "peerlane home", title: "peerlane home" }, [
        h("span", { class: "brand-mark", "aria-hidden": "true" }),
      ]),
      h("div", { class: "room-title" }, [h("h1", { text: roomName }), status]),
      sideToggle,
    ]);

    const list = /** @type {MessageList} */ (document.createElement("pl-message-list"));
    const typing = h("p", { class: "typing", "data-testid": "typing" });
    const composer = /** @type {Composer} */ (document.createElement("pl-composer"));
    const toasts = h("div", { class: "toasts" });

    const transferPanel = /** @type {TransferPanel} */ (document.createElement("pl-transfer-panel"));

    // Sending files: two buttons over hidden pickers, a recipient chooser, and drops.
    const recipient = h("select", { id: "file-recipient", name: "file-recipient", "aria-label": "Send files to" }, [
      h("option", { value: "", text: "Everyone" }),
    ]);
    /** @param {File[]} files */
    const sendFiles = (files) => {
      const engine = room.transfers;
      if (!files.length) return;
      if (!engine) {
        this.#toast(toasts, "Sending files isn't available in this page; reload it and try again.", "no_transfers");
        return;
      }
      try {
        engine.send(files, recipient.value || null);
        const who = recipient.value ? recipient.selectedOptions[0]?.dataset.name || "one person" : "everyone";
        const what = files.length === 1 ? files[0]?.name ?? "a file" : `${files.length} files`;
        transferPanel.announce(`Offering ${what} to ${who}. Progress is under Files.`);
      } catch (err) {
        this.#toast(toasts, errorMessage(err, "Couldn't send the files."), "send_files");
      }
    };
    const filesPicker = filePicker({ id: "send-files-input", label: "Send files", onFiles: sendFiles });
    const folderPicker = filePicker({ id: "send-folder-input", folder: true, label: "Send folder", onFiles: sendFiles });
    const fileBar = h("div", { class: "file-bar", role: "group", "aria-label": "Send files or a folder" }, [
      filesPicker.input,
      folderPicker.input,
      h("button", { type: "button", class: "btn subtle small-btn", onclick: filesPicker.open }, [icon(CLIP_ICON), "Send files"]),
      canPickFolders()
        ? h("button", { type: "button", class: "btn subtle small-btn send-folder", onclick: folderPicker.open }, [
            icon(FOLDER_ICON),
            "Send folder",
          ])
        : null,
      h("span", { class: "file-to" }, [h("label", { for: "file-recipient", text: "to" }), recipient]),
    ]);
    // On a phone the transfer panel is behind the toggle: a strip says when it wants a look.
    const stripText = h("span", { class: "file-strip-text" });
    const stripShow = h("button", { type: "button", class: "btn small-btn", text: "Show files" });
    const fileStrip = h("div", { class: "file-strip", hidden: true }, [stripText, stripShow]);
    const main = h("main", { class: "chat", id: "main" }, [list, toasts, typing, fileStrip, fileBar, composer]);

    const invite = /** @type {InvitePanel} */ (document.createElement("pl-invite-panel"));
    const connections = /** @type {ConnectionPanel} */ (document.createElement("pl-connection-panel"));
    const closeSide = h("button", { type: "button", class: "icon-btn side-close", "aria-label": "Close panel" }, [
      icon(ICONS.close),
    ]);
    const leave = h("button", { type: "button", class: "btn subtle", text: "Leave room" });
    // The owner's list of the others, each with a Remove button.
    const peopleList = h("ul", { class: "people-list" });
    const peoplePanel = h("section", { class: "panel people", "aria-label": "People in this room", hidden: true }, [
      h("h2", { class: "panel-title", text: "People" }),
      peopleList,
    ]);
    const aside = h("aside", { class: "side", id: "side-panel", "aria-label": "Files, invite and connections" }, [
      h("div", { class: "side-head" }, [h("p", { class: "side-title", text: roomName }), closeSide]),
      transferPanel,
      invite,
      connections,
      peoplePanel,
      h("section", { class: "panel you", "aria-label": "You" }, [
        h("p", {}, [
          "You're ",
          h("strong", { text: me?.name ?? "here" }),
          me?.role === "owner" ? " (the room's owner)." : ".",
        ]),
        leave,
      ]),
    ]);

    const skip = h("a", { class: "skip-link", href: "#message-input", text: "Skip to the message box" });
    const fileNews = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite", "data-testid": "transfer-news" });
    transferPanel.liveRegion = fileNews;
    const layout = h("div", { class: "room-layout" }, [skip, header, main, aside, fileNews]);
    this.replaceChildren(layout);

    list.room = room;
    composer.room = room;
    transferPanel.transfers = room.transfers ?? null;
    invite.room = room;
    connections.room = room;

    // Skip link: focus the box without touching location.hash (the router owns the URL).
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      composer.focus();
    });

    // The side panel: always there on wide screens, a sheet behind a toggle on phones.
    /** @param {boolean} open */
    const setSide = (open) => {
      layout.classList.toggle("side-open", open);
      sideToggle.setAttribute("aria-expanded", String(open));
      // On a phone the panel covers the chat: keep focus and assistive technology in it.
      const covering = open && PHONE.matches;
      header.inert = covering;
      main.inert = covering;
      if (open) void invite.refresh();
      if (covering) closeSide.focus();
    };
    const onViewport = () => setSide(layout.classList.contains("side-open"));
    PHONE.addEventListener("change", onViewport);
    this.#cleanup.push(() => PHONE.removeEventListener("change", onViewport));
    sideToggle.addEventListener("click", () => setSide(!layout.classList.contains("side-open")));
    closeSide.addEventListener("click", () => {
      setSide(false);
      sideToggle.focus();
    });
    aside.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && PHONE.matches && layout.classList.contains("side-open")) {
        setSide(false);
        sideToggle.focus();
      }
    });

    leave.addEventListener("click", async () => {
      if (!confirm(`Leave ${roomName} on this device? You'll need a new invite to come back.`)) return;
      try {
        await api.leaveRoom(this.roomId);
      } catch {
        /* leaving locally still makes sense */
      }
      navigate("/");
    });

    stripShow.addEventListener("click", () => setSide(true));

    // Drops anywhere on the chat send to the chosen recipient; elsewhere they do nothing.
    const recipientName = () => (recipient.value ? recipient.selectedOptions[0]?.dataset.name ?? "" : "");
    this.#cleanup.push(guardPageDrops());
    this.#cleanup.push(
      attachDrop(main, {
        text: () => (recipientName() ? `Drop to send to ${recipientName()}` : "Drop to send to everyone"),
        onFiles: sendFiles,
        enabled: () => !room.ended && !!room.transfers,
      }),
    );

    // The recipient chooser: everyone in the room but me, online people first.
    /** @type {Map<string, {name: string, online: boolean}>} */
    const people = new Map();
    /** People the owner removed here: their last presence may still be on its way. */
    const removed = new Set();
    let listing = false;
    let listedAt = 0;
    const renderRecipients = () => {
      const mine = me?.participant_id;
      const online = new Set(Array.from(room.peers.values()).map((p) => p.participant_id));
      for (const peer of room.peers.values()) {
        const id = peer.participant_id;
        if (id && id !== mine && !people.has(id) && !removed.has(id)) people.set(id, { name: peer.name || "Someone", online: true });
      }
      const chosen = recipient.value;
      const entries = Array.from(people)
        .filter(([id]) => id !== mine)
        .map(([id, p]) => ({ id, name: p.name, online: online.has(id) }))
        .sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
      const options = [h("option", { value: "", text: "Everyone" })];
      for (const p of entries) {
        options.push(h("option", { value: p.id, "data-name": p.name, text: p.online ? p.name : `${p.name} (offline)` }));
      }
      renderPeople(entries);
      const same = recipient.options.length === options.length
        && options.every((o, i) => recipient.options[i]?.value === o.value && recipient.options[i]?.textContent === o.textContent);
      if (same) return;
      recipient.replaceChildren(...options);
      recipient.value = entries.some((p) => p.id === chosen) ? chosen : "";
    };
    /** @param {{id: string, name: string, online: boolean}[]} entries */
    const renderPeople = (entries) => {
      if (me?.role !== "owner") return;
      peoplePanel.hidden = entries.length === 0;
      const key = entries.map((p) => `${p.id}:${p.online}`).join(",");
      if (peopleList.dataset.key === key) return;
      peopleList.dataset.key = key;
      peopleList.replaceChildren(
        ...entries.map((p) =>
          h("li", {}, [
            h("span", { text: p.online ? p.name : `${p.name} (offline)` }),
            h("button", {
              type: "button",
              class: "btn subtle small-btn",
              text: "Remove",
              "aria-label": `Remove ${p.name}`,
              onclick: () => void removePerson(p.id, p.name),
            }),
          ]),
        ),
      );
    };
    /** @param {string} id @param {string} name */
    const removePerson = async (id, name) => {
      if (!confirm(`Remove ${name} from ${roomName}? They are signed out at once and need a new invite to come back.`)) return;
      try {
        await api.removeParticipant(this.roomId, id);
      } catch (err) {
        if (errorStatus(err) !== 404) {
          this.#toast(toasts, errorMessage(err, "Could not remove them; try again."), errorCode(err) ?? "");
          return;
        }
      }
      removed.add(id);
      people.delete(id);
      renderRecipients();
    };
    const loadPeople = async () => {
      if (listing || Date.now() - listedAt < 5000) return;
      listing = true;
      try {
        const out = await api.listParticipants(this.roomId);
        listedAt = Date.now();
        for (const p of out.participants ?? []) if (!removed.has(p.id)) people.set(p.id, { name: p.name, online: p.online });
      } catch {
        /* the peers we see are enough to choose from */
      } finally {
        listing = false;
      }
      if (!this.#closed) renderRecipients();
    };
    // The list of participants is fetched once the room is connected (not to compete
    // with connecting), and again when someone unknown shows up.
    let connected = false;
    const onPeers = () => {
      const unknown = Array.from(room.peers.values()).some((p) => p.participant_id && !people.has(p.participant_id));
      if (unknown && connected) void loadPeople();
      renderRecipients();
    };
    this.#cleanup.push(
      whenConnected(room, () => {
        connected = true;
        void loadPeople();
      }),
    );
    renderRecipients();

    // The toggle's badge and the phone's strip: offers waiting for an answer, or
    // transfers under way.
    const renderFileHints = () => {
      const offers = transferPanel.pendingOffers;
      const active = transferPanel.activeCount;
      const count = offers.length || active;
      toggleBadge.hidden = count === 0;
      toggleBadge.textContent = count ? String(count) : "";
      toggleBadge.classList.toggle("offer", offers.length > 0);
      // The phone's toggle names what is most likely wanted behind it.
      const files = transferPanel.count > 0 ? "Files" : "Invite";
      if (toggleText.textContent !== files) toggleText.textContent = files;
      let label = "Files, invite and connections";
      if (offers.length) label += ` (${offers.length} file ${offers.length === 1 ? "offer" : "offers"} waiting)`;
      else if (active) label += ` (${active} ${active === 1 ? "transfer" : "transfers"} under way)`;
      sideToggle.setAttribute("aria-label", label);
      let text = "";
      const first = offers[0];
      if (first) {
        text = offers.length === 1
          ? `${first.senderName || "Someone"} wants to send you ${first.name}`
          : `${offers.length} files are offered to you`;
      } else if (active) text = `${active} ${active === 1 ? "file transfer" : "file transfers"} under way`;
      fileStrip.hidden = !text;
      fileStrip.classList.toggle("offer", offers.length > 0);
      if (stripText.textContent !== text) stripText.textContent = text;
    };
    transferPanel.addEventListener("transfers-change", renderFileHints);
    renderFileHints();

    // Sending brings the list back to the newest message.
    composer.addEventListener("sent", () => list.scrollToBottom());

    const ended = h("div", { class: "ended", hidden: true });
    main.append(ended);
    const renderStatus = () => {
      const s = statusText(room.serverState, directCount(room), room.ended ?? null);
      if (status.textContent !== s.text) status.textContent = s.text;
      status.dataset.tone = s.tone;
      // A deleted room or an outdated page: nothing more can be sent from here.
      // Removed by the owner: said plainly, and no join prompt (an invite would not help).
      const why = ENDED_FOR_GOOD.has(room.ended ?? "") ? room.ended ?? "" : "";
      if (why && ended.hidden) {
        ended.replaceChildren(
          h("p", { text: ENDED_FOR_GOOD.get(why) ?? "" }),
          why === "unsupported_version"
            ? h("button", { type: "button", class: "btn primary", text: "Reload", onclick: () => location.reload() })
            : h("a", { href: "/", class: "btn primary", text: "Start a new room" }),
        );
        ended.hidden = false;
        composer.hidden = true;
        fileBar.hidden = true;
        typing.hidden = true;
      }
    };
    const renderTyping = () => {
      const mine = me?.participant_id;
      const names = Array.from(room.typing).filter(([id]) => id !== mine).map(([, name]) => name || "Someone");
      let text = "";
      if (names.length === 1) text = `${names[0]} is typing…`;
      else if (names.length > 1 && names.length <= 3) text = `${joinNames(names)} are typing…`;
      else if (names.length > 3) text = `${names.length} people are typing…`;
      if (typing.textContent !== text) typing.textContent = text;
      typing.classList.toggle("active", text !== "");
    };
    /** @param {Event} event */
    const onError = (event) => {
      const detail = /** @type {CustomEvent<{code?: string, message?: string}>} */ (event).detail ?? {};
      this.#toast(toasts, detail.message || "Something went wrong.", detail.code ?? "");
      if (room.ended === "unauthorized") {
        // The session ended under us (expired, or the participant was removed): the
        // room page turns into the join prompt.
        setTimeout(() => {
          if (!this.#closed && this.#room === /** @type {unknown} */ (room)) void this.#open();
        }, 0);
      }
    };

    room.addEventListener("status", renderStatus);
    room.addEventListener("peers", renderStatus);
    room.addEventListener("peers", onPeers);
    room.addEventListener("typing", renderTyping);
    room.addEventListener("error", onError);
    this.#cleanup.push(() => {
      room.removeEventListener("status", renderStatus);
      room.removeEventListener("peers", renderStatus);
      room.removeEventListener("peers", onPeers);
      room.removeEventListener("typing", renderTyping);
      room.removeEventListener("error", onError);
      list.room = null;
      composer.room = null;
      connections.room = null;
      transferPanel.transfers = null;
    });
    renderStatus();
    renderTyping();
    if (!PHONE.matches) composer.focus();
  }

  /**
   * A dismissable notice over the chat (errors from the room). A newer notice with the
   * same code replaces the older one (the server and the room may both report it).
   * @param {HTMLElement} box
   * @param {string} text
   * @param {string} [code]
   */
  #toast(box, text, code = "") {
    for (const old of Array.from(box.children)) {
      if (old.firstChild?.textContent === text || (code && /** @type {HTMLElement} */ (old).dataset.code === code)) old.remove();
    }
    const note = h("div", { class: "toast", role: "alert", "data-code": code || null }, [h("span", { text })]);
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss" }, [icon(ICONS.close)]);
    close.addEventListener("click", () => note.remove());
    note.append(close);
    box.append(note);
    while (box.children.length > 3) box.firstElementChild?.remove();
    setTimeout(() => note.remove(), 10_000);
  }
}

customElements.define("pl-room-page", RoomPage);
