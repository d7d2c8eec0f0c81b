// The room WebSocket: hello/welcome, replay until `synced`, keep-alive, and reconnect.
//
// The hello is in the socket's URL (`?v=1&last_seq=N&resume=T`, protocol.js helloQuery):
// the server says welcome as soon as the socket is up. `resume` is the last welcome's
// resume token: the server gives this tab its peer id again, so direct links survive a
// reconnect or a server restart (docs/protocol.md, "Resuming a peer id"). It is kept in
// memory only: a reload or a second tab is a new peer. Closed with 4409 (a newer
// connection took the id), the client drops it and reconnects as a new peer.
//
// States (the "state" event carries {state, code, reason}):
//   idle → connecting (socket opening) → syncing (welcome received, the server
//   replays what we missed) → open (synced: live) ; on loss → waiting (backoff) → connecting …
//   closed: by close(), or for good (closeReason: "unauthorized" | "room_gone" | "unsupported_version").
//
// Reconnect: at once after losing a welcomed connection, else with a growing backoff;
// while waiting, the server's /readyz is asked every second, so a server that is back is
// reconnected to at once (signaling-retry.js).
//
// Every server message is dispatched as a "server" event (detail = the message). Each
// connection resumes from `lastSeq`, the highest seq held with no gap below it, so the
// server replays exactly what was missed.
//
// Keep-alive: a ping every 20 s, dropped without a pong within 10 s; every 2 s, due within
// 4 s, while the caller waits for acks (awaitAcks(true); signaling-keepalive.js).

import { roomSocketUrl } from "./api.js";
import { debug } from "./debug.js";
import { systemClock } from "./hlc.js";
import { CLOSE_CODES, helloQuery, parsePakeMessage, parseServerMessage } from "./protocol.js";
import { KeepAlive } from "./signaling-keepalive.js";
import { ReadyProbe, ReconnectPolicy, TERMINAL } from "./signaling-retry.js";

/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").ServerMessage} ServerMessage */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {"idle" | "connecting" | "syncing" | "open" | "waiting" | "closed"} SignalingState */
/** @typedef {import("./signaling-retry.js").CloseReason} CloseReason */

/** @typedef {import("./signaling-types.js").SocketLike} SocketLike */
/** @typedef {import("./signaling-types.js").SocketConstructor} SocketConstructor */
/** @typedef {import("./signaling-types.js").SignalingOptions} SignalingOptions */

const OPEN = 1; // WebSocket.OPEN, spelled out so a fake socket class need not define it
const CLIENT_DEAD = 4000; // our close code for a connection we gave up on (no pong, no welcome)

export class Signaling extends EventTarget {
  /**
   * @param {string} roomId
   * @param {SignalingOptions} [options]
   */
  constructor(roomId, options = {}) {
    super();
    this.roomId = roomId;
    this.url = options.url ?? roomSocketUrl(roomId);
    this._Socket =
      options.WebSocket ?? /** @type {SocketConstructor} */ (/** @type {unknown} */ (globalThis.WebSocket));
    this._clock = options.clock ?? systemClock;
    const readyUrl = options.readyUrl === undefined ? defaultReadyUrl(options.url) : options.readyUrl;
    const fetcher = options.fetch ?? globalThis.fetch;
    /** @type {ReadyProbe | null} */
    this._probe =
      readyUrl && fetcher
        ? new ReadyProbe({
            url: readyUrl,
            fetch: fetcher,
            clock: this._clock,
            everyMs: options.probeEveryMs ?? 1_000,
            ready: () => this._retryNow(),
          })
        : null;
    this._retry = new ReconnectPolicy({
      clock: this._clock,
      random: options.random ?? Math.random,
      minDelayMs: options.minDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 15_000,
    });
    this._keepAlive = new KeepAlive({
      clock: this._clock,
      ping: (nonce) => this.send({ type: "ping", nonce }),
      dead: () => this._drop("no pong in time"),
      everyMs: options.pingIntervalMs ?? 20_000,
      withinMs: options.pongTimeoutMs ?? 10_000,
      busyEveryMs: options.busyPingIntervalMs ?? 2_000,
      busyWithinMs: options.busyPongTimeoutMs ?? 4_000,
    });
    this._connectWithin = options.connectTimeoutMs ?? 10_000;
    this._env = options.environment === undefined ? defaultEnvironment() : options.environment;
    /** The last welcome's resume token; sent as `resume` on reconnect. @type {string | null} */
    this.resume = null;
    /** Highest seq held with nothing missing below it; sent as `last_seq` on (re)connect. */
    this.lastSeq = options.lastSeq ?? null;
    /** @type {SignalingState} */
    this.state = "idle";
    /** @type {CloseReason | null} */
    this.closeReason = null;
    /** When the next reconnect is due (clock ms), while waiting. @type {number | null} */
    this.retryAt = null;
    /** @type {SocketLike | null} */
    this._ws = null;
    /** The socket to take instead of opening one, for the first connection. */
    this._opened = options.socket ?? null;
    /** @type {Record<"retry" | "connect", unknown>} */
    this._timers = { retry: null, connect: null };
    this._syncRequested = false;
    this._onOnline = () => this.reconnectNow();
    this._onOffline = () => this.probe();
    // Back on screen, or resumed after the browser froze the page (a phone asleep, a tab
    // in the background): a connection waiting for its next retry tries at once, and a
    // live one is checked at once (it may have died meanwhile).
    this._onVisible = () => {
      if (globalThis.document?.visibilityState !== "visible") return;
      if (this.state === "waiting") this.reconnectNow();
      else this.probe();
    };
  }

  /** Failed attempts since the last successful sync; drives the backoff. */
  get attempt() {
    return this._retry.attempt;
  }

  /** Open the connection (again, after close() it stays closed). */
  connect() {
    if (this.state !== "idle") return;
    this._env?.addEventListener("online", this._onOnline);
    this._env?.addEventListener("offline", this._onOffline);
    globalThis.document?.addEventListener("visibilitychange", this._onVisible);
    globalThis.document?.addEventListener("resume", this._onVisible);
    this._open();
  }

  /**
   * Send a message; false when not connected (the caller keeps it for later).
   * Allowed from welcome on: the server takes messages while it replays.
   * @param {ClientMessage} message
   * @returns {boolean}
   */
  send(message) {
    const ws = this._ws;
    if (!ws || ws.readyState !== OPEN || (this.state !== "syncing" && this.state !== "open")) return false;
    try {
      ws.send(JSON.stringify(message));
      return true;
    } catch (err) {
      debug("signaling", "send failed", err);
      return false;
    }
  }

  /**
   * The caller holds the messages up to `seq` only, fewer than lastSeq says (it started at
   * the present, and its history page ends before that): replay from there, now when
   * connected, else with the next hello.
   * @param {number} seq
   */
  rewind(seq) {
    if (this.lastSeq !== null && seq >= this.lastSeq) return;
    this.lastSeq = seq;
    if (this.state === "syncing" || this.state === "open")
      this._syncRequested = this.send({ type: "sync", after: seq });
  }

  /** Skip the backoff wait (the network came back, or the person clicked "retry"). */
  reconnectNow() {
    if (this.state !== "waiting") return;
    this._retry.attempt = 0;
    this._clear("retry");
    this._open();
  }

  /** The server is ready again: reconnect now, the backoff's count kept. */
  _retryNow() {
    if (this.state !== "waiting") return;
    this._clear("retry");
    this._open();
  }

  /** Check that the connection still carries data: ping now, give up if no answer soon. */
  probe() {
    if (this.state === "syncing" || this.state === "open") this._keepAlive.probe();
  }

  /**
   * Whether the caller has sent messages the server has not acked yet. While it has,
   * the keep-alive pings every busyPingIntervalMs, so a dead connection is noticed soon.
   * @param {boolean} busy
   */
  awaitAcks(busy) {
    this._keepAlive.setBusy(busy);
  }

  /** Close for good, e.g. when leaving the room page. */
  close() {
    this._env?.removeEventListener("online", this._onOnline);
    this._env?.removeEventListener("offline", this._onOffline);
    globalThis.document?.removeEventListener("visibilitychange", this._onVisible);
    globalThis.document?.removeEventListener("resume", this._onVisible);
    this._stopTimers();
    this._probe?.stop();
    const ws = this._detach() ?? this._opened;
    this._opened = null;
    try {
      ws?.close(CLOSE_CODES.NORMAL, "leaving");
    } catch {
      // already closed
    }
    this.closeReason = "closed";
    this._setState("closed", CLOSE_CODES.NORMAL, "closed by client");
  }

  // ---- connection lifecycle -----------------------------------------------------------

  _open() {
    this.retryAt = null;
    this._probe?.stop();
    this._retry.welcomed = false;
    this._setState("connecting");
    let ws = this._opened;
    this._opened = null;
    try {
      ws ??= new this._Socket(`${this.url}?${helloQuery(this.lastSeq, this.resume)}`);
    } catch (err) {
      debug("signaling", "cannot create WebSocket", err);
      this._lost(CLIENT_DEAD, "cannot create socket");
      return;
    }
    this._ws = ws;
    ws.onmessage = (ev) => this._frame(ev.data);
    ws.onclose = (ev) => this._lost(ev.code, ev.reason);
    // An error means the connection is unusable; do not wait for a close event that a
    // dead network may deliver late.
    ws.onerror = () => this._drop("socket error");
    this._arm("connect", this._connectWithin, () => this._drop("no welcome in time"));
    ws.release?.();
  }

  /** @param {unknown} data */
  _frame(data) {
    this._keepAlive.heard(); // any frame proves the connection is alive
    const pake = parsePakeMessage(data);
    if (pake) {
      this.dispatchEvent(new CustomEvent("pake", { detail: pake }));
      return;
    }
    const msg = parseServerMessage(data);
    if (!msg) {
      debug("signaling", "ignored frame", data);
      return;
    }
    if (msg.type === "welcome") this._welcomed(msg.resume ?? null);
    else if (msg.type === "message") this._track(msg.seq);
    else if (msg.type === "synced") {
      this.lastSeq = msg.latest_seq;
      this._syncRequested = false;
    }
    this.dispatchEvent(new CustomEvent("server", { detail: msg }));
    if (msg.type === "synced" && this.state === "syncing") {
      this._retry.attempt = 0;
      this._probe?.reset();
      this._setState("open");
    }
  }

  /** @param {string | null} resume */
  _welcomed(resume) {
    this.resume = resume;
    this._retry.welcomed = true;
    this._clear("connect");
    this._setState("syncing");
    this._keepAlive.start();
  }

  /**
   * Advance lastSeq over a message; on a gap (impossible unless our resume point was
   * wrong), ask the server to replay from the last contiguous seq.
   * @param {number} seq
   */
  _track(seq) {
    if (this.lastSeq === null || seq === this.lastSeq + 1) this.lastSeq = seq;
    else if (seq > this.lastSeq + 1 && !this._syncRequested && this.lastSeq !== null) {
      this._syncRequested = this.send({ type: "sync", after: this.lastSeq });
    }
  }

  /** Give up on the current socket without waiting for its close event. @param {string} why */
  _drop(why) {
    debug("signaling", "dropping connection:", why);
    const ws = this._detach();
    try {
      ws?.close(CLIENT_DEAD, why.slice(0, 100));
    } catch {
      // already closed
    }
    this._lost(CLIENT_DEAD, why);
  }

  /**
   * The connection ended: stop for good on a terminal code, else wait and reconnect.
   * @param {number} code
   * @param {string} reason
   */
  _lost(code, reason) {
    if (this.state === "closed" || this.state === "waiting") return;
    this._detach();
    this._stopTimers();
    if (code === CLOSE_CODES.REPLACED) this.resume = null; // never fight the newer connection
    const terminal = TERMINAL.get(code);
    if (terminal) {
      this.closeReason = terminal;
      this._setState("closed", code, reason);
      return;
    }
    const delay = this._retry.delayAfter(code);
    this.retryAt = this._clock.now() + delay;
    this._arm("retry", delay, () => this._open());
    if (delay > 0) this._probe?.start();
    this._setState("waiting", code, reason);
  }

  /** @returns {SocketLike | null}  the socket, no longer wired to this object */
  _detach() {
    const ws = this._ws;
    this._ws = null;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    return ws;
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * @param {"retry" | "connect"} name
   * @param {number} ms
   * @param {() => void} fn
   */
  _arm(name, ms, fn) {
    this._clear(name);
    this._timers[name] = this._clock.setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, ms);
  }

  /** @param {"retry" | "connect"} name */
  _clear(name) {
    if (this._timers[name] !== null) this._clock.clearTimeout(this._timers[name]);
    this._timers[name] = null;
  }

  _stopTimers() {
    for (const name of /** @type {const} */ (["retry", "connect"])) this._clear(name);
    this._keepAlive.stop();
  }

  /**
   * @param {SignalingState} state
   * @param {number} [code]
   * @param {string} [reason]
   */
  _setState(state, code, reason) {
    if (state === this.state) return;
    this.state = state;
    debug("signaling", state, code ?? "", reason ?? "");
    this.dispatchEvent(new CustomEvent("state", { detail: { state, code: code ?? null, reason: reason ?? "" } }));
  }
}

/**
 * The server's readiness URL, when the socket URL is the page's own (a test that names
 * its URL probes only if it says where).
 * @param {string | undefined} url
 * @returns {string | null}
 */
function defaultReadyUrl(url) {
  const origin = globalThis.location?.origin;
  return url === undefined && origin ? `${origin}/readyz` : null;
}

/** @returns {EventTarget | null} */
function defaultEnvironment() {
  return typeof globalThis.addEventListener === "function" ? globalThis : null;
}
