// <pl-connection-panel>: who is here and how each of them is reached (direct data
// channel, TURN relay, or through the server), in plain words; plus the one-line
// connection status used in the room header.

import { connectionQuality } from "../connection-quality.js";
import { NETWORK_PROBLEMS } from "../mesh-peers.js";
import { directPeople, statusText } from "../status-text.js";
import { h } from "./dom.js";

export { statusText };

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").PeerViewLike} PeerViewLike */

const PATHS = /** @type {const} */ (["direct", "turn", "server", "connecting"]);
const PATH_TEXT = /** @type {Record<string, string>} */ ({
  direct: "Direct",
  turn: "Relayed (TURN)",
  server: "Through the server",
  connecting: "Connecting…",
});
const PATH_HELP = /** @type {Record<string, string>} */ ({
  direct: "Messages go straight between your browsers.",
  turn: "Messages go peer to peer through a relay (TURN).",
  server: "Messages go through the server.",
  connecting: "Setting up a direct link…",
});

/**
 * The path a peer view reports, normalized to the DOM contract's vocabulary.
 * @param {PeerViewLike} peer
 * @returns {string}
 */
export function peerPath(peer) {
  const path = peer.path ?? "connecting";
  return /** @type {readonly string[]} */ (PATHS).includes(path) ? path : "connecting";
}

/**
 * How many people (not tabs) are reached over a data channel of their own, direct or
 * through TURN: what is left of the chat when the server is unreachable.
 * @param {RoomLike} room
 */
export function directCount(room) {
  return directPeople(room.peers.values(), room.me?.participant_id);
}

/**
 * Run fn once the room's server connection is up, has failed, or after `ms` at the
 * latest: a page's own requests (invites, participants, the QR code) wait for it, so they
 * do not compete with the room's hello, welcome and the first offers.
 * @param {RoomLike} room
 * @param {() => void} fn
 * @param {number} [ms]
 * @returns {() => void}  cancels the wait
 */
export function whenConnected(room, fn, ms = 3_000) {
  const settled = () => room.serverState !== "connecting" || !!room.ended;
  if (settled()) {
    fn();
    return () => {};
  }
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const cancel = () => {
    clearTimeout(timer);
    room.removeEventListener("status", onStatus);
  };
  const run = () => {
    cancel();
    fn();
  };
  const onStatus = () => {
    if (settled()) run();
  };
  room.addEventListener("status", onStatus);
  timer = setTimeout(run, ms);
  return cancel;
}

/**
 * @param {string} state
 * @param {string | null} ended
 */
function serverLine(state, ended) {
  if (ended === "room_gone") return "Server: this room was deleted";
  if (ended === "unauthorized") return "Server: signed out of this room";
  if (ended === "removed") return "Server: the owner removed you from this room";
  if (state === "online") return "Server: connected";
  if (state === "offline") return "Server: unreachable — retrying";
  return "Server: connecting…";
}

export class ConnectionPanel extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  #summaryCount = h("span", { class: "conn-count" });
  #server = h("p", { class: "conn-server" });
  #list = h("ul", { class: "peers", "aria-label": "People in the room" });
  #empty = h("p", { class: "muted", text: "Nobody else is here right now." });
  #details = h("details", { class: "panel conn-panel", open: true }, [
    h("summary", {}, [h("h2", { class: "panel-title", text: "Connections" }), this.#summaryCount]),
    h("div", { class: "conn-body" }, [this.#server, this.#list, this.#empty]),
  ]);

  connectedCallback() {
    if (!this.#details.isConnected) this.append(this.#details);
    this.#render();
  }

  disconnectedCallback() {
    this.#listen(null);
  }

  /** @param {RoomLike | null} room */
  set room(room) {
    this.#listen(room);
    this.#room = room;
    this.#render();
  }

  /** @returns {RoomLike | null} */
  get room() {
    return this.#room;
  }

  /** @param {RoomLike | null} next */
  #listen(next) {
    for (const type of ["peers", "status"]) {
      this.#room?.removeEventListener(type, this.#onChange);
      next?.addEventListener(type, this.#onChange);
    }
  }

  #onChange = () => this.#render();

  #render() {
    const room = this.#room;
    if (!room) return;
    const state = room.serverState;
    this.#server.textContent = serverLine(state, room.ended ?? null);
    this.#server.dataset.state = state;

    const peers = Array.from(room.peers.values()).sort((a, b) =>
      (a.name ?? "").localeCompare(b.name ?? "", undefined, { sensitivity: "base" }),
    );
    this.#summaryCount.textContent = peers.length === 1 ? "1 other person here" : `${peers.length} other people here`;
    this.#empty.hidden = peers.length > 0;
    this.#list.replaceChildren(...peers.map((peer) => this.#peer(peer)));
  }

  /** @param {PeerViewLike} peer */
  #peer(peer) {
    const path = peerPath(peer);
    const quality = connectionQuality(path, peer.rttMs);
    const facts = [
      ["Signaling", peer.signalingState ?? "—"],
      ["ICE", peer.iceState ?? "new"],
      ["Path", path],
      ["RTT", typeof peer.rttMs === "number" ? `${Math.round(peer.rttMs)} ms` : "—"],
    ];
    return h(
      "li",
      {
        class: `peer path-${path}`,
        "data-testid": "peer",
        "data-peer-id": peer.peer_id,
        "data-path": path,
        "data-ice-state": peer.iceState ?? "new",
      },
      [
        h("div", { class: "peer-head" }, [
          h("span", { class: "peer-dot", "aria-hidden": "true" }),
          h("span", { class: "peer-name", text: peer.name || "Someone" }),
          peer.participant_id && peer.participant_id === this.#room?.me?.participant_id
            ? h("span", { class: "peer-you", text: "(you, another tab)" })
            : null,
          h("span", { class: "peer-path", title: PATH_HELP[path] ?? "", text: PATH_TEXT[path] ?? path }),
        ]),
        quality
          ? h("p", {
              class: `peer-quality quality-${quality.level}`,
              "data-testid": "peer-quality",
              "data-quality": quality.level,
              text: quality.text,
            })
          : null,
        // The connection's inner states are for whoever troubleshoots, folded away:
        // "Signaling: stable · ICE: connected" means nothing to most people.
        h("details", { class: "peer-tech" }, [
          h("summary", { text: "Technical details" }),
          h(
            "dl",
            { class: "peer-facts" },
            facts.flatMap(([k, v]) => [h("div", {}, [h("dt", { text: String(k) }), h("dd", { text: String(v) })])]),
          ),
        ]),
        peer.problem
          ? h("p", { class: "peer-problem" }, [
              peer.problem,
              // No direct route, no relay: the page that tells what this network allows.
              NETWORK_PROBLEMS.includes(peer.problem) &&
                h("a", {
                  href: "/diagnostics",
                  target: "_blank",
                  rel: "noopener",
                  "data-testid": "diagnostics-link",
                  text: "Check this network",
                }),
            ])
          : null,
      ],
    );
  }
}

customElements.define("pl-connection-panel", ConnectionPanel);
