// Recording fakes for the file-transfer engine: data channels that deliver through memory
// (with bufferedAmount and "bufferedamountlow"), rooms joined by a fake server that
// relays "file" chat messages, and a fake file server for the tus/Range fallback.

import assert from "node:assert/strict";
import { BLOCK_SIZE } from "../../src/peerlane/web/integrity.js";
import { memoryManifests, memoryStore } from "../../src/peerlane/web/opfs.js";
import { Transfers } from "../../src/peerlane/web/transfer.js";
import { decodeData } from "../../src/peerlane/web/transfer-wire.js";
import { FakeClock } from "./fakes.mjs";

/** Bytes where byte i is (31 i + 7) mod 251 (the integrity test vector's pattern). */
export function pattern(size, salt = 0) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + 7 + salt) % 251;
  return out;
}

/** A File of `size` pattern bytes. */
export function patternFile(size, name = "data.bin", salt = 0) {
  return new File([pattern(size, salt)], name, { type: "application/octet-stream" });
}

/** One end of an in-memory data channel; pairs are made by channelPair(). */
export class FakeChannel extends EventTarget {
  constructor(label) {
    super();
    this.label = label;
    this.readyState = "connecting";
    this.bufferedAmount = 0;
    this.bufferedAmountLowThreshold = 0;
    this.binaryType = "blob";
    /** @type {FakeChannel | null} */
    this.peer = null;
    /** every frame sent, as sent */
    this.sent = [];
    /** payload bytes of binary frames sent */
    this.binaryBytes = 0;
    this.maxBuffered = 0;
    /** (data) => data | null: change or drop a frame in flight */
    this.tamper = null;
    /** payload bytes of binary frames that reached the other end (not dropped) */
    this.deliveredBytes = 0;
  }

  send(data) {
    if (this.readyState !== "open") throw new Error("InvalidStateError: not open");
    const size = typeof data === "string" ? data.length : data.byteLength;
    if (typeof data !== "string") this.binaryBytes += size - 8;
    this.sent.push(data);
    this.bufferedAmount += size;
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
    setImmediate(() => this._deliver(data, size));
  }

  _deliver(data, size) {
    const before = this.bufferedAmount;
    this.bufferedAmount -= size;
    if (before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) {
      this.dispatchEvent(new Event("bufferedamountlow"));
    }
    const out = this.tamper ? this.tamper(data) : data;
    if (out !== null && (this.peer?.readyState === "open" || this.peer?.readyState === "closing")) {
      if (typeof out !== "string") this.deliveredBytes += out.byteLength - 8;
      this.peer.dispatchEvent(new MessageEvent("message", { data: out }));
    }
  }

  open() {
    if (this.readyState !== "connecting") return;
    this.readyState = "open";
    this.dispatchEvent(new Event("open"));
  }

  /** Like RTCDataChannel: messages sent before close() are still delivered, then both ends close. */
  close() {
    if (this.readyState === "closed" || this.readyState === "closing") return;
    this.readyState = "closing";
    setImmediate(() => this._closeNow());
  }

  _closeNow() {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.dispatchEvent(new Event("close"));
    this.peer?._closeNow();
  }
}

export function channelPair(label) {
  const a = new FakeChannel(label);
  const b = new FakeChannel(label);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** The fake server and network: rooms, their direct links, and the relayed messages. */
export class FakeNet {
  constructor() {
    /** @type {FakeRoom[]} */
    this.rooms = [];
    /** every file message relayed: {sender, body} */
    this.log = [];
    /** "a|b" → true for an open direct link */
    this.links = new Set();
    /** channels made, in order: {from, to, label, ends} */
    this.channels = [];
  }

  room(participant, name, peerId = `p-${participant}`) {
    const room = new FakeRoom(this, participant, name, peerId);
    this.rooms.push(room);
    for (const other of this.rooms)
      if (other !== room) {
        other._see(room);
        room._see(other);
      }
    return room;
  }

  key(a, b) {
    return [a, b].sort().join("|");
  }

  link(a, b) {
    this.links.add(this.key(a.me.peer_id, b.me.peer_id));
    a._path(b.me.peer_id, "direct");
    b._path(a.me.peer_id, "direct");
  }

  unlink(a, b) {
    this.links.delete(this.key(a.me.peer_id, b.me.peer_id));
    a._path(b.me.peer_id, "server");
    b._path(a.me.peer_id, "server");
    for (const c of this.channels) {
      if ([c.from, c.to].sort().join("|") === this.key(a.me.peer_id, b.me.peer_id)) c.ends[0].close();
    }
  }

  linked(a, b) {
    return this.links.has(this.key(a, b));
  }

  relay(from, body) {
    this.log.push({ sender: from.me.participant_id, body: structuredClone(body) });
    for (const room of this.rooms) {
      if (room === from) continue;
      const msg = {
        sender: from.me.participant_id,
        sender_name: from.me.name,
        body: structuredClone(body),
        kind: "file",
      };
      if (room.online) setImmediate(() => room.dispatchEvent(new CustomEvent("file", { detail: msg })));
      else room.missed.push(msg);
    }
  }

  opsOf(op) {
    return this.log.filter((m) => m.body.op === op);
  }
}

/** What Transfers needs of a ChatRoom. */
export class FakeRoom extends EventTarget {
  constructor(net, participant, name, peerId) {
    super();
    this.net = net;
    this.id = "room1";
    this.me = { participant_id: participant, peer_id: peerId, name };
    this.roomInfo = { id: "room1" };
    this.peers = new Map();
    this.online = true;
    this.missed = [];
  }

  _see(other) {
    this.peers.set(other.me.peer_id, {
      peer_id: other.me.peer_id,
      participant_id: other.me.participant_id,
      name: other.me.name,
      role: "member",
      path: "server",
      iceState: "none",
      signalingState: "none",
      rttMs: null,
      problem: null,
      direct: true,
    });
  }

  _path(peerId, path) {
    const view = this.peers.get(peerId);
    if (view) view.path = path;
    this.dispatchEvent(new CustomEvent("peers"));
  }

  sendFileMessage(body) {
    this.net.relay(this, body);
    return { body };
  }

  openDataChannel(peerId, label) {
    if (!this.net.linked(this.me.peer_id, peerId)) return null;
    const other = this.net.rooms.find((r) => r.me.peer_id === peerId);
    const ends = channelPair(label);
    this.net.channels.push({ from: this.me.peer_id, to: peerId, label, ends });
    setImmediate(() => {
      other.dispatchEvent(new CustomEvent("datachannel", { detail: { peerId: this.me.peer_id, channel: ends[1] } }));
      ends[0].open();
      ends[1].open();
    });
    return ends[0];
  }

  /** The server connection comes back: missed messages are replayed. */
  reconnect() {
    this.online = true;
    for (const msg of this.missed.splice(0)) this.dispatchEvent(new CustomEvent("file", { detail: msg }));
  }
}

/** The server's side of the fallback: a tus upload stand-in and ranged downloads. */
export class FakeFileServer {
  constructor() {
    /** fileId → Uint8Array */
    this.files = new Map();
    this.uploads = [];
    this.requests = [];
    /** (request index) => Response | null: override an answer (failures) */
    this.override = null;
  }

  /** Same signature as tus.upload. */
  upload = async (file, options) => {
    const fileId = `f${this.files.size + 1}`;
    const url = `http://host/api/rooms/room1/uploads/${fileId}`;
    this.uploads.push({ metadata: options.metadata, resumedFrom: options.url ?? null });
    options.onUrl?.(url);
    const bytes = new Uint8Array(await file.slice(0, file.size).arrayBuffer()); // as tus reads it
    options.onProgress?.({ offset: bytes.length, sent: bytes.length });
    this.files.set(fileId, bytes);
    return { url, fileId };
  };

  /**
   * The first download is answered (206) as scripted: each of `parts` on a pull of its
   * own (a function is called then and awaited: to compute the bytes late or hold them
   * until the test opens a gate), then `end`: "reset" (the connection breaks), "hang" (no
   * byte more and no end) or "close". Later requests get the stored copy.
   */
  scriptFirstAnswer(parts, end) {
    this.override = (i) => (i === 0 ? scriptedAnswer(parts, end) : null);
  }

  terminate = async () => {};

  fetch = async (url, init = {}) => {
    const index = this.requests.length;
    const range = init.headers?.Range ?? null;
    this.requests.push({ url, range, ifRange: init.headers?.["If-Range"] ?? null });
    const override = this.override?.(index);
    if (override) return override;
    const id = url.split("/").pop();
    const bytes = this.files.get(id);
    if (!bytes)
      return new Response(JSON.stringify({ error: { code: "file_not_found", message: "no" } }), { status: 404 });
    const start = range ? Number(/bytes=(\d+)-/.exec(range)[1]) : 0;
    const body = chunked(bytes.subarray(start), 200 * 1024);
    return new Response(body, { status: range ? 206 : 200 });
  };
}

function scriptedAnswer(parts, end) {
  let next = 0;
  const body = new ReadableStream({
    async pull(c) {
      if (next < parts.length) {
        const part = parts[next++];
        c.enqueue(typeof part === "function" ? await part() : part);
      } else if (end === "reset") c.error(new Error("connection reset"));
      else if (end === "close") c.close();
      else return new Promise(() => {});
    },
  });
  return new Response(body, { status: 206 });
}

/**
 * Held until the test calls `open()`: `hold(bytes)` is a part for scriptFirstAnswer that
 * comes only then (`bytes` may be a function: computed then).
 */
export function gate() {
  let open = () => {};
  const passed = new Promise((resolve) => (open = resolve));
  const hold = (bytes) => async () => {
    await passed;
    return typeof bytes === "function" ? bytes() : bytes;
  };
  return { open, hold };
}

/**
 * Damage one byte of the first frame of `block` (its offset 0) that `end` delivers, once;
 * `damaged()` says whether that happened.
 */
export function damageOnce(end, block) {
  let damaged = false;
  end.tamper = (data) => {
    if (typeof data === "string" || damaged) return data;
    const frame = decodeData(data);
    if (frame.block !== block || frame.offset !== 0) return data;
    damaged = true;
    const copy = data.slice(0);
    new Uint8Array(copy)[20] ^= 1; // past the 8-byte header: the block's bytes
    return copy;
  };
  return () => damaged;
}

/** The sender's receivers of `id` and their states, as sorted pairs. */
export const receiverStates = (sender, id) =>
  sender.engine
    .get(id)
    .receivers.map((r) => [r.participant, r.state])
    .sort();

/** A stream of bytes in pieces that do not line up with blocks. */
export function chunked(bytes, size) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

export const MiB = BLOCK_SIZE;

export const P2P_TIMEOUT = 10_000;

/**
 * alice and bob in one room, each with an engine; `linked`: a direct link between them;
 * `e2e`: the room is end-to-end encrypted.
 */
export async function pair({ linked = true, people = ["alice", "bob"], e2e = false } = {}) {
  const net = new FakeNet();
  const clock = new FakeClock();
  const files = new FakeFileServer();
  const downloads = [];
  let ids = 0;
  const side = (room, stores = { manifests: memoryManifests(), partials: memoryStore() }) => {
    const engine = new Transfers(room, {
      ...stores,
      clock,
      newId: () => `t${++ids}`,
      p2pTimeoutMs: P2P_TIMEOUT,
      retryMs: 100,
      upload: files.upload,
      terminate: files.terminate,
      fetch: files.fetch,
      offerDownload: (file, name) => downloads.push({ file, name }),
    });
    return { room, engine, stores };
  };
  const room = (p) => {
    const made = net.room(p, p[0].toUpperCase() + p.slice(1));
    if (e2e) made.e2e = { encrypted: true };
    return made;
  };
  const sides = Object.fromEntries(people.map((p) => [p, side(room(p))]));
  for (const s of Object.values(sides)) await s.engine.start();
  if (linked)
    for (const a of Object.values(sides)) for (const b of Object.values(sides)) if (a !== b) net.link(a.room, b.room);
  return { net, clock, files, downloads, side, ...sides };
}

/** One turn of the event loop (the fakes deliver frames with setImmediate). */
export const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Let in-memory channels, hashing and storage run until `done()`, for at most `ms`. */
export async function until(done, ms = 10_000) {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await turn();
  return done();
}

export const stateOf = (s, id) => s.engine.get(id)?.state;

/** Alice offers `file` to bob, who accepts once it is shown to him: its transfer id. */
export async function offerAccepted({ alice, bob }, file) {
  const [id] = alice.engine.send([file], "bob");
  assert.ok(await until(() => stateOf(bob, id) === "offered"), "the offer reaches bob");
  await bob.engine.accept(id);
  return id;
}

/**
 * The same with no direct channel coming: once alice has bob's accept, the peer-to-peer
 * timeout passes on the fake clock and the server path starts.
 */
export async function acceptedOverServer(ctx, file) {
  const id = await offerAccepted(ctx, file);
  await until(() => ctx.alice.engine.get(id).receivers.length === 1);
  ctx.clock.advance(P2P_TIMEOUT);
  return id;
}

export async function bytesOf(engine, id) {
  return new Uint8Array(await (await engine.getFile(id)).arrayBuffer());
}
