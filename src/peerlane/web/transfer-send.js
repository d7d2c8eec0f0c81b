// The sending end of one transfer on one data channel (one per receiver): waits for the
// receiver's `want`, sends the block hashes if asked, then the blocks from `from` on,
// with two brakes so nothing grows without bound:
//   - the channel's own queue (ChannelSender: HIGH_WATER / LOW_WATER), and
//   - at most WINDOW_BLOCKS blocks sent but not yet confirmed (`ok`/`bad`), because a
//     receiver that hashes and writes more slowly than the network delivers would
//     otherwise pile up frames in its memory.
// A `bad` block is sent again before the next new one; a new `want` (the receiver lost
// its place) starts over from its `from`.
//
// Reading the file: one stream from the first block to send on, each frame's payload
// read straight into the frame (FileStream: a BYOB read of Blob.stream(), no copy in JS,
// no buffer but the frame). Where Blob streams take no BYOB reads, READ_BLOCKS blocks
// per Blob.slice, one slice ahead of the send (FileAhead). A block sent again after
// `bad` is read on its own. (Measured in Chromium, CPU over building the frames alone:
// a Blob.slice + arrayBuffer per 1 MiB block about 4.5 ms per MiB, per 8 MiB slice about
// 2.3, the BYOB stream about 1.5.)

import { sealBlockAway } from "./e2e/block-crypto.js";
import { BLOCK_SIZE, blockCount, blockLength, readBlock } from "./integrity.js";
import {
  CHUNK_BYTES,
  ChannelSender,
  decodeControl,
  encodeControl,
  encodeData,
  HASHES_PER_FRAME,
  HEADER_BYTES,
} from "./transfer-wire.js";

/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */

/** Blocks sent but not yet confirmed, at most: 4 MiB covers a LAN's bandwidth × delay
 * many times over, and bounds what an interruption sends twice. */
export const WINDOW_BLOCKS = 4;

/** Blocks per read of the file without BYOB streams; one such slice is read ahead of
 * the one being sent, so the sender holds at most 2 × READ_BLOCKS MiB of the file. */
export const READ_BLOCKS = 8;

/**
 * The file from a position on, read frame by frame into the frames' own buffers.
 */
export class FileStream {
  /**
   * @param {Blob} file
   * @param {number} position  byte offset of the first frame
   * @returns {FileStream | null}  null when this browser's Blob streams take no BYOB reads
   */
  static open(file, position) {
    let reader;
    try {
      reader = file.slice(position).stream().getReader({ mode: "byob" });
    } catch {
      return null;
    }
    return new FileStream(reader, position);
  }

  /**
   * @param {ReadableStreamBYOBReader} reader
   * @param {number} position
   */
  constructor(reader, position) {
    this.reader = reader;
    /** File offset of the next byte. */
    this.position = position;
  }

  /**
   * The next `length` bytes as a data frame of (block, offset).
   * @param {number} block
   * @param {number} offset
   * @param {number} length
   * @returns {Promise<ArrayBuffer | null>}  null when the file ends before
   */
  async frame(block, offset, length) {
    let buffer = new ArrayBuffer(HEADER_BYTES + length);
    let filled = 0;
    while (filled < length) {
      // A BYOB read moves the buffer into the stream and hands it back with the bytes in.
      const { done, value } = await this.reader.read(new Uint8Array(buffer, HEADER_BYTES + filled, length - filled));
      if (done || !value) return null;
      buffer = /** @type {ArrayBuffer} */ (value.buffer);
      filled += value.byteLength;
    }
    this.position += length;
    const view = new DataView(buffer);
    view.setUint32(0, block);
    view.setUint32(4, offset);
    return buffer;
  }

  close() {
    this.reader.cancel().catch(() => {});
  }
}

/**
 * Sequential reads of a file in large slices, the next slice already on its way while
 * the current one is sent. `block(i)` for the block after the previous one is served
 * from the slices; any other block restarts the read-ahead there.
 */
export class FileAhead {
  /**
   * @param {Blob} file
   * @param {number} [readBlocks]  blocks per slice
   */
  constructor(file, readBlocks = READ_BLOCKS) {
    this.file = file;
    this.count = blockCount(file.size);
    this.readBlocks = Math.max(1, readBlocks);
    /** Slices being read or read, in order: first block, and the bytes. @type {{first: number, bytes: Promise<Uint8Array>}[]} */
    this.slices = [];
    /** Slices read so far (tests). */
    this.reads = 0;
  }

  /**
   * Block `index` (a view into its slice; the bytes are not copied).
   * @param {number} index
   * @returns {Promise<Uint8Array>}
   */
  async block(index) {
    while (this.slices.length && index >= this.slices[0].first + this.readBlocks) this.slices.shift();
    if (!this.slices.length || index < this.slices[0].first) this.slices = [this._read(index)];
    const slice = this.slices[0];
    if (this.slices.length < 2) {
      const next = slice.first + this.readBlocks;
      if (next < this.count) this.slices.push(this._read(next));
    }
    const bytes = await slice.bytes;
    const start = (index - slice.first) * BLOCK_SIZE;
    return bytes.subarray(start, start + BLOCK_SIZE);
  }

  /**
   * @param {number} first
   * @returns {{first: number, bytes: Promise<Uint8Array>}}
   */
  _read(first) {
    this.reads += 1;
    const start = first * BLOCK_SIZE;
    const bytes = this.file
      .slice(start, start + this.readBlocks * BLOCK_SIZE)
      .arrayBuffer()
      .then((b) => new Uint8Array(b));
    bytes.catch(() => {}); // a read ahead nobody asks for must not be an unhandled rejection
    return { first, bytes };
  }

  /** Drop what was read ahead (the session is over). */
  clear() {
    this.slices = [];
  }
}
/**
 * @typedef {{
 *   channel: ChannelLike,
 *   file: Blob,
 *   hashes: string[],
 *   fileKey?: Promise<import("./e2e/file-crypto.js").FileKey> | null,
 *   onVerified?: (block: number) => void,
 *   onBytes?: (bytes: number) => void,
 *   onBad?: (block: number) => void,
 *   chunkBytes?: number,
 *   marks?: {high?: number, low?: number},
 *   readBlocks?: number,
 *   stream?: boolean,
 * }} SendSessionOptions
 *   stream: false = read with Blob.slice (READ_BLOCKS at a time) even where streams work
 *   fileKey: an end-to-end encrypted room's transfer: each block goes out sealed (whole
 *   blocks are read, so no BYOB stream), and the plaintext block hashes never do.
 */

export class SendSession {
  /** @param {SendSessionOptions} options */
  constructor(options) {
    this.options = options;
    this.channel = options.channel;
    this.sender = new ChannelSender(options.channel, options.marks);
    this.count = blockCount(options.file.size);
    /** The sequential read: a stream, or (no BYOB streams) slices read ahead. */
    this.stream = /** @type {FileStream | null} */ (null);
    this.byob = options.stream !== false && !options.fileKey;
    this.reader = new FileAhead(options.file, options.readBlocks);
    this.cursor = 0;
    /** Blocks to send again before new ones (read on their own, not through the read
     * ahead). @type {number[]} */
    this.redo = [];
    /** Sent, not yet confirmed. @type {Set<number>} */
    this.inFlight = new Set();
    /** @type {Set<number>} */
    this.confirmed = new Set();
    this.wantsHashes = false;
    this.started = false;
    this.pumping = false;
    this.closed = false;
    /** @type {(() => void) | null} */
    this._wake = null;
    this._onMessage = (/** @type {Event} */ ev) => this._message(/** @type {MessageEvent} */ (ev).data);
    this._onClose = () => this._closed();
    options.channel.addEventListener("message", this._onMessage);
    options.channel.addEventListener("close", this._onClose);
  }

  /** Every block confirmed by the receiver. */
  get complete() {
    return this.confirmed.size >= this.count;
  }

  close() {
    this._closed();
    try {
      this.channel.close();
    } catch {
      // already closed
    }
  }

  /** @param {unknown} data */
  _message(data) {
    const frame = decodeControl(data);
    if (!frame) return;
    if (frame.t === "want") {
      this.started = true;
      this.cursor = Math.min(frame.from, this.count);
      this.redo = [];
      this.inFlight.clear();
      this.wantsHashes ||= frame.hashes && !this.options.fileKey;
      // The receiver has every block before `from` (a resume): confirmed, as if by `ok`.
      let known = false;
      for (let block = 0; block < this.cursor; block++) {
        if (!this.confirmed.has(block)) {
          this.confirmed.add(block);
          known = true;
        }
      }
      if (known) this.options.onVerified?.(this.cursor - 1);
    } else if (frame.t === "ok" && frame.block < this.count) {
      this.inFlight.delete(frame.block);
      if (!this.confirmed.has(frame.block)) {
        this.confirmed.add(frame.block);
        this.options.onVerified?.(frame.block);
      }
    } else if (frame.t === "bad" && frame.block < this.count) {
      this.inFlight.delete(frame.block);
      if (!this.redo.includes(frame.block)) this.redo.push(frame.block);
      this.options.onBad?.(frame.block);
    } else {
      return;
    }
    this._wakeUp();
    void this._pump();
  }

  _closed() {
    if (this.closed) return;
    this.closed = true;
    this.reader.clear();
    this.stream?.close();
    this.stream = null;
    this.channel.removeEventListener("message", this._onMessage);
    this.channel.removeEventListener("close", this._onClose);
    this._wakeUp();
  }

  _wakeUp() {
    const wake = this._wake;
    this._wake = null;
    wake?.();
  }

  /** Send what is due; one pump at a time, re-entered by each control frame. */
  async _pump() {
    if (this.pumping || !this.started) return;
    this.pumping = true;
    try {
      if (this.wantsHashes) {
        this.wantsHashes = false;
        if (!(await this._sendHashes())) return;
      }
      for (;;) {
        if (this.closed) return;
        const next = this._next();
        if (next === null) {
          // Nothing left to send; `end` once everything asked for is out.
          if (this.inFlight.size === 0 && !this.complete) await this.sender.send(encodeControl({ t: "end" }));
          return;
        }
        if (!(await this._roomInWindow()) || !(await this._sendBlock(next.block, next.again))) return;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The next block to send; `again`: a resend after `bad`. @returns {{block: number, again: boolean} | null} */
  _next() {
    while (this.redo.length) {
      const block = /** @type {number} */ (this.redo.shift());
      if (!this.confirmed.has(block)) return { block, again: true };
    }
    while (this.cursor < this.count) {
      const block = this.cursor++;
      if (!this.confirmed.has(block)) return { block, again: false };
    }
    return null;
  }

  /** Wait while WINDOW_BLOCKS blocks await confirmation. @returns {Promise<boolean>} */
  async _roomInWindow() {
    while (this.inFlight.size >= WINDOW_BLOCKS && !this.closed) {
      await new Promise((resolve) => {
        this._wake = () => resolve(undefined);
      });
    }
    return !this.closed;
  }

  /** @returns {Promise<boolean>} */
  async _sendHashes() {
    const { hashes } = this.options;
    for (let from = 0; from < hashes.length; from += HASHES_PER_FRAME) {
      const frame = {
        t: /** @type {const} */ ("hashes"),
        from,
        hashes: hashes.slice(from, from + HASHES_PER_FRAME).join(""),
      };
      if (!(await this.sender.send(encodeControl(frame)))) return false;
    }
    return true;
  }

  /**
   * @param {number} block
   * @param {boolean} again  a resend: read on its own, the read ahead stays where it is
   * @returns {Promise<boolean>}
   */
  async _sendBlock(block, again) {
    const length = blockLength(this.options.file.size, block);
    const stream = again ? null : this._streamAt(block);
    let bytes = stream ? null : again ? await readBlock(this.options.file, block) : await this.reader.block(block);
    if (this.closed || (bytes && bytes.length !== length)) return false; // closed, or the file shrank
    const key = this.options.fileKey;
    if (key && bytes) bytes = await sealBlockAway(await key, block, this.count, bytes); // in the block worker
    if (this.closed) return false;
    const wire = bytes ? bytes.length : length;
    this.inFlight.add(block);
    const chunk = this.options.chunkBytes ?? CHUNK_BYTES;
    for (let offset = 0; offset < wire; offset += chunk) {
      const n = Math.min(chunk, wire - offset);
      const frame = bytes
        ? encodeData(block, offset, bytes.subarray(offset, offset + n))
        : await /** @type {FileStream} */ (stream).frame(block, offset, n);
      if (!frame || this.closed) return false; // the file shrank, or the session is over
      if (!(await this.sender.send(frame))) return false;
      this.options.onBytes?.(n);
    }
    return true;
  }

  /**
   * The stream, at the start of `block` (opened there if it is elsewhere), or null
   * without BYOB streams.
   * @param {number} block
   * @returns {FileStream | null}
   */
  _streamAt(block) {
    if (!this.byob) return null;
    const position = block * BLOCK_SIZE;
    if (this.stream?.position === position) return this.stream;
    this.stream?.close();
    this.stream = FileStream.open(this.options.file, position);
    if (!this.stream) this.byob = false;
    return this.stream;
  }
}
