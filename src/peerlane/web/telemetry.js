// Connection reports to the server (POST /api/rooms/{id}/telemetry, docs/protocol.md
// "Telemetry"): how each attempt at a direct link ended (the path reached and the time it
// took, or why it failed), the bytes the links moved per path, and uncaught errors by
// kind. Nothing else: no addresses, peer ids, names, message content or error text --
// every field is an enum or a number (core/telemetry.py checks it again).
//
// The first report as soon as an attempt ends, then at most one every 30 s (the server
// allows 4 a minute), one more as the page goes away. A report refused as rate_limited is
// merged into the next; a server with telemetry off answers telemetry_off: the reporter
// stops for the session.

import { request } from "./api.js";
import { PROBLEMS } from "./mesh-peers.js";
import { ERROR_CODES } from "./protocol.js";

/**
 * @typedef {"direct" | "turn" | "turn-udp" | "turn-tcp" | "turn-tls" | "server"} ReportPath
 * @typedef {{outcome: "connected" | "failed", path?: ReportPath | null, connect_ms?: number,
 *   reason?: string}} Attempt
 * @typedef {{v: 1, client: "web", attempts: Attempt[],
 *   bytes: {path: ReportPath, sent: number, received: number}[],
 *   errors: {kind: string, count: number}[]}} Report
 * @typedef {{path: string, problem: string | null}} ViewLike
 * @typedef {{peers: Map<string, ViewLike>, linkSerial?(peerId: string): number | null,
 *   isOpen?(peerId: string): boolean, linkStats?(peerId: string): Promise<RTCStatsReport | null>}} MeshLike
 *   the mesh.js Mesh; a mesh without the link methods (a test's fake) is not reported on
 * @typedef {EventTarget & {mesh: MeshLike | null}} RoomLike
 */

export const REPORT_EVERY_MS = 30_000;
let meshCount = 0;
const MAX_ATTEMPTS = 20; // what one report may carry (core/telemetry.py)
const MAX_ERROR_KINDS = 10;

/** Why a direct link did not form, as the report names it (core/telemetry.py FailureReason). */
const REASONS = new Map(
  /** @type {[string, string][]} */ ([
    [PROBLEMS.iceFailed, "no-turn"],
    [PROBLEMS.timeout, "timeout"],
    [PROBLEMS.relayUnreachable, "turn-unreachable"],
    [PROBLEMS.relayTimeout, "turn-unreachable"],
  ]),
);

/**
 * The path of a link from its stats: direct, or through TURN and how this side reaches
 * the relay ("turn" alone when only the peer holds the allocation: its transport is not
 * in our stats).
 * @param {RTCStatsReport} report
 * @returns {{path: ReportPath, sent: number, received: number} | null}
 */
export function linkPath(report) {
  for (const stat of report.values()) {
    if (stat.type !== "transport" || !stat.selectedCandidatePairId) continue;
    const pair = report.get(stat.selectedCandidatePairId);
    if (!pair) continue;
    const local = report.get(pair.localCandidateId);
    const remote = report.get(pair.remoteCandidateId);
    /** @type {ReportPath} */
    let path = "direct";
    if (local?.candidateType === "relay") {
      const protocol = String(local.relayProtocol ?? "");
      path = protocol === "udp" || protocol === "tcp" || protocol === "tls" ? `turn-${protocol}` : "turn";
    } else if (remote?.candidateType === "relay") {
      path = "turn";
    }
    return { path, sent: Number(stat.bytesSent ?? 0), received: Number(stat.bytesReceived ?? 0) };
  }
  return null;
}

export class ConnectionReporter {
  /**
   * @param {{send: (report: Report, options: {keepalive: boolean}) => Promise<unknown>,
   *   now: () => number}} options
   */
  constructor({ send, now }) {
    this._send = send;
    this._now = now;
    this.off = false;
    /** @type {Attempt[]} */
    this._attempts = [];
    /** attempt key (peer id and link number) → when it started, or null once reported. */
    this._open = new Map(/** @type {[string, number | null][]} */ ([]));
    /** peer id → the transport's byte counters already counted, and on which path. */
    this._counted = new Map(/** @type {[string, {key: string, sent: number, received: number}][]} */ ([]));
    /** @type {Map<string, {sent: number, received: number}>} */
    this._bytes = new Map();
    /** @type {Map<string, number>} */
    this._errors = new Map();
    /** Each mesh a number (a room makes a new one after a new peer id): part of the keys. */
    this._meshes = new WeakMap();
    /** Called when an attempt ends or an error is counted: something to report. */
    this.onReportable = () => {};
  }

  /**
   * @param {MeshLike} mesh
   * @param {string} peerId
   * @returns {string | null}  the key of the peer's current link, or null without one
   */
  _key(mesh, peerId) {
    const serial = mesh.linkSerial?.(peerId) ?? null;
    if (serial === null) return null;
    let number = this._meshes.get(mesh);
    if (number === undefined) {
      number = ++meshCount;
      this._meshes.set(mesh, number);
    }
    return `${number}:${peerId}#${serial}`;
  }

  /**
   * Where a room's links stand: an attempt starts with a new link and ends when its
   * channel opens (connected) or the mesh names a network problem (failed).
   * @param {MeshLike} mesh
   */
  async observe(mesh) {
    for (const [peerId, view] of mesh.peers) {
      const key = this._key(mesh, peerId);
      if (key === null) continue; // no direct link wanted (over the limit, no WebRTC)
      if (!this._open.has(key)) this._open.set(key, this._now());
      const started = this._open.get(key);
      if (started == null) continue;
      const reason = view.problem ? REASONS.get(view.problem) : undefined;
      if (reason) {
        this._open.set(key, null);
        this._attempt({ outcome: "failed", path: "server", reason });
      } else if (mesh.isOpen?.(peerId) && (view.path === "direct" || view.path === "turn")) {
        this._open.set(key, null);
        const connectMs = Math.max(0, Math.round(this._now() - started));
        const stats = (await mesh.linkStats?.(peerId)) ?? null;
        const path = (stats && linkPath(stats)?.path) ?? view.path;
        this._attempt({ outcome: "connected", path, connect_ms: Math.min(connectMs, 300_000) });
      }
    }
  }

  /** @param {Attempt} attempt */
  _attempt(attempt) {
    if (this._attempts.length < MAX_ATTEMPTS) this._attempts.push(attempt);
    this.onReportable();
  }

  /**
   * An uncaught error or rejection, counted by its kind only (its constructor's name).
   * @param {unknown} error
   * @param {boolean} [rejection]
   */
  error(error, rejection = false) {
    const name = rejection ? "UnhandledRejection" : /** @type {any} */ (error?.constructor?.name ?? "other");
    const kind = /^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(name) ? name : "other";
    if (!this._errors.has(kind) && this._errors.size >= MAX_ERROR_KINDS) return;
    this._errors.set(kind, Math.min(10_000, (this._errors.get(kind) ?? 0) + 1));
    this.onReportable();
  }

  /**
   * Add what each open link moved since the last report, per path.
   * @param {MeshLike} mesh
   */
  async countBytes(mesh) {
    for (const peerId of mesh.peers.keys()) {
      if (!mesh.isOpen?.(peerId)) continue;
      const stats = (await mesh.linkStats?.(peerId)) ?? null;
      const now = stats && linkPath(stats);
      const key = this._key(mesh, peerId);
      if (!now || key === null) continue;
      const before = this._counted.get(peerId);
      const base = before?.key === key ? before : { sent: 0, received: 0 }; // a new link counts from 0
      this._counted.set(peerId, { key, sent: now.sent, received: now.received });
      const total = this._bytes.get(now.path) ?? { sent: 0, received: 0 };
      total.sent += Math.max(0, now.sent - base.sent);
      total.received += Math.max(0, now.received - base.received);
      this._bytes.set(now.path, total);
    }
  }

  /**
   * Send what has gathered (nothing when nothing has).
   * @param {{keepalive?: boolean}} [options]  keepalive: the page is going away
   */
  async flush({ keepalive = false } = {}) {
    if (this.off) return;
    /** @type {Report} */
    const report = {
      v: 1,
      client: "web",
      attempts: this._attempts.splice(0),
      bytes: [...this._bytes].map(([path, b]) => ({ path: /** @type {ReportPath} */ (path), ...b })).slice(0, 5),
      errors: [...this._errors].map(([kind, count]) => ({ kind, count })),
    };
    this._bytes.clear();
    this._errors.clear();
    const moved = report.bytes.some((b) => b.sent || b.received);
    if (!report.attempts.length && !moved && !report.errors.length) return;
    try {
      await this._send(report, { keepalive });
    } catch (err) {
      const code = /** @type {{code?: string}} */ (err)?.code;
      if (code === ERROR_CODES.TELEMETRY_OFF) this.off = true;
      else if (code === ERROR_CODES.RATE_LIMITED) this._merge(report);
      // Anything else (the network): lost, never retried -- telemetry is not worth a storm.
    }
  }

  /**
   * Take a refused report back, to go with the next one.
   * @param {Report} report
   */
  _merge(report) {
    this._attempts.unshift(...report.attempts.slice(0, MAX_ATTEMPTS - this._attempts.length));
    for (const { path, sent, received } of report.bytes) {
      const total = this._bytes.get(path) ?? { sent: 0, received: 0 };
      this._bytes.set(path, { sent: total.sent + sent, received: total.received + received });
    }
    for (const { kind, count } of report.errors) {
      this._errors.set(kind, Math.min(10_000, (this._errors.get(kind) ?? 0) + count));
    }
  }
}

/**
 * Report a room's connections until the returned function is called (the room closes):
 * the first report as soon as there is something to say, then at most one a minute, and
 * what is left as the page goes away.
 * @param {RoomLike} room
 * @param {string} roomId
 * @returns {() => void}  stop (sends what is left)
 */
export function startReporting(room, roomId) {
  const reporter = new ConnectionReporter({
    send: (report, { keepalive }) =>
      request("POST", `/api/rooms/${encodeURIComponent(roomId)}/telemetry`, report, { keepalive }),
    now: () => performance.now(),
  });
  let last = -Infinity;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let due;
  const report = async () => {
    due = undefined;
    last = performance.now();
    if (room.mesh) await reporter.countBytes(room.mesh);
    await reporter.flush();
  };
  const schedule = () => {
    if (due === undefined && !reporter.off)
      due = setTimeout(report, Math.max(0, last + REPORT_EVERY_MS - performance.now()));
  };
  reporter.onReportable = schedule;
  const observe = () => void (room.mesh && reporter.observe(room.mesh));
  const bytesTick = setInterval(schedule, REPORT_EVERY_MS); // bytes keep moving: report them too
  /** @param {ErrorEvent} e */
  const onError = (e) => reporter.error(e.error);
  /** @param {PromiseRejectionEvent} e */
  const onRejection = (e) => reporter.error(e.reason, true);
  const onHide = () => void reporter.flush({ keepalive: true });
  room.addEventListener("peers", observe);
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("pagehide", onHide);
  observe();
  return () => {
    clearTimeout(due);
    clearInterval(bytesTick);
    room.removeEventListener("peers", observe);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("pagehide", onHide);
    void reporter.flush({ keepalive: true });
  };
}
