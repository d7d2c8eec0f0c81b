// The receiving end of one transfer, whatever carries the bytes (a data channel or a
// Range download): assembles each 1 MiB block from pieces, hashes it once complete,
// writes it to storage only when it matches, and keeps the bookkeeping resume needs —
// which blocks are verified, and the first one that is not (`have`).
//
// Block hashes come from the sender (the "hashes" frames of the data channel), checked
// against the offer's root before any is trusted. A download from the server has no
// hash list unless an earlier peer-to-peer attempt brought one: its blocks are hashed
// as they come, and the root check at the end covers them all (the server checked the
// same root when the upload finished).
//
// In an end-to-end encrypted room's transfer (a file key), pieces are of the sealed block
// (its plaintext and a 16-byte tag): a block is verified by opening it, then hashed and
// written in the clear; no hash list is needed (nor asked for: it would travel in the clear).
//
// Memory: one buffer per block in progress; the sender keeps only a few blocks in flight.
// Block buffers are reused (the store hands a written one back): a fresh 1 MiB buffer
// per block cost more CPU (its pages faulted in and zeroed) than copying into it.

import { openBlockAway } from "./e2e/block-crypto.js";
import { TAG_SIZE } from "./e2e/scheme.js";
import { BLOCK_SIZE, blockCount, blockLength, hashBlock, rootOf } from "./integrity.js";

/** @typedef {import("./opfs.js").PartialWriter} PartialWriter */

/**
 * @typedef {{kind: "verified", block: number} | {kind: "bad", block: number}
 *   | {kind: "known", block: number} | {kind: "ignored"}} IngestResult
 *   known: the last piece of a block verified before (sent again after a drop, when the
 *   receiver's first unverified block came before it): confirm it again, so the sender
 *   does not keep it in its window for ever.
 */

export class BlockReceiver {
  /**
   * @param {{size: number, root: string, writer: PartialWriter, hashes?: string[] | null,
   *   have?: number, stored?: string[], fileKey?: import("./e2e/file-crypto.js").FileKey | null}} options
   *   hashes: the sender's block hashes, already checked against root (or null).
   *   have: blocks 0 … have-1 are already verified and stored (resume); stored: their hashes.
   */
  constructor({ size, root, writer, hashes = null, have = 0, stored = [], fileKey = null }) {
    this.size = size;
    this.fileKey = fileKey;
    /** Bytes of a whole block as it travels (sealed: with its tag). */
    this.wireBlockSize = BLOCK_SIZE + (fileKey ? TAG_SIZE : 0);
    this.root = root;
    this.count = blockCount(size);
    this.writer = writer;
    /** Expected block hashes, or null while unknown. @type {string[] | null} */
    this.hashes = hashes;
    /** Hashes of the verified blocks (what was actually stored). @type {(string | undefined)[]} */
    this.computed = new Array(this.count);
    for (let i = 0; i < have; i++) this.computed[i] = stored[i] ?? hashes?.[i];
    this.verified = new Uint8Array(this.count);
    this.verified.fill(1, 0, Math.min(have, this.count));
    this.verifiedCount = Math.min(have, this.count);
    /** Blocks being assembled: block → {buf, filled}. @type {Map<number, {buf: Uint8Array, filled: number}>} */
    this.partial = new Map();
    /** Hash mismatches per block. @type {Map<number, number>} */
    this.badCounts = new Map();
    /** Hashes received so far from "hashes" frames. @type {string[]} */
    this._incoming = [];
    /** Whole-block buffers to fill again. @type {ArrayBuffer[]} */
    this._spare = [];
  }

  /** The first block not verified yet (= count when complete). */
  get have() {
    let i = 0;
    while (i < this.count && this.verified[i]) i++;
    return i;
  }

  /** Whether to ask the sender for the block hashes (a clear transfer without them yet). */
  get wantsHashes() {
    return !this.hashes && !this.fileKey;
  }

  /** Bytes of block `block` as it travels. @param {number} block */
  wireLength(block) {
    const length = blockLength(this.size, block);
    return length && this.fileKey ? length + TAG_SIZE : length;
  }

  get complete() {
    return this.verifiedCount === this.count;
  }

  /** Bytes verified so far. */
  get bytesVerified() {
    let n = this.verifiedCount * BLOCK_SIZE;
    if (this.count && this.verified[this.count - 1]) n -= BLOCK_SIZE - blockLength(this.size, this.count - 1);
    return n;
  }

  /**
   * Block hashes from a "hashes" frame. Once all have come, checks them against root;
   * returns false when they do not match (the sender is not sending this file).
   * @param {number} from
   * @param {string[]} hashes
   * @returns {Promise<boolean>}
   */
  async addHashes(from, hashes) {
    if (this.hashes) return true;
    if (from !== this._incoming.length) return true; // a repeat after a restart: ignore
    this._incoming.push(...hashes);
    if (this._incoming.length < this.count) return true;
    const all = this._incoming.slice(0, this.count);
    this._incoming = [];
    if ((await rootOf(all)) !== this.root) return false;
    // Blocks verified before the list came (a server download) must agree with it.
    for (let i = 0; i < this.count; i++) {
      if (this.verified[i] && this.computed[i] !== all[i]) this._unverify(i);
    }
    this.hashes = all;
    return true;
  }

  /**
   * A piece of a block.
   * @param {number} block
   * @param {number} offset  in the block
   * @param {Uint8Array} bytes
   * @returns {Promise<IngestResult>}
   */
  async ingest(block, offset, bytes) {
    const length = this.wireLength(block);
    if (block >= this.count || offset + bytes.length > length) return { kind: "ignored" };
    if (this.verified[block]) return offset + bytes.length === length ? { kind: "known", block } : { kind: "ignored" };
    let part = this.partial.get(block);
    if (offset === 0) {
      // A (re)start of the block: a resend after "bad" or "want".
      part = { buf: part?.buf ?? this._buffer(length), filled: 0 };
      this.partial.set(block, part);
    }
    if (!part || offset !== part.filled) return { kind: "ignored" }; // a gap: wait for a restart
    part.buf.set(bytes, offset);
    part.filled += bytes.length;
    if (part.filled < length) return { kind: "ignored" };
    this.partial.delete(block);
    return this._complete(block, part.buf);
  }

  /**
   * @param {number} block
   * @param {Uint8Array} bytes  the whole block
   * @returns {Promise<IngestResult>}
   */
  async _complete(block, bytes) {
    if (this.fileKey) {
      const plain = await openBlockAway(this.fileKey, block, this.count, bytes).catch(() => null); // in the block worker
      this._recycle(bytes.buffer);
      if (!plain) {
        // Tampered, or not this file's block: as a hash mismatch, sent again.
        this.badCounts.set(block, (this.badCounts.get(block) ?? 0) + 1);
        return { kind: "bad", block };
      }
      bytes = plain;
    }
    const hash = await hashBlock(bytes);
    if (this.hashes && this.hashes[block] !== hash) {
      this.badCounts.set(block, (this.badCounts.get(block) ?? 0) + 1);
      this._recycle(bytes.buffer);
      return { kind: "bad", block };
    }
    this._recycle(await this.writer.write(block * BLOCK_SIZE, bytes));
    if (!this.verified[block]) {
      this.verified[block] = 1;
      this.verifiedCount += 1;
    }
    this.computed[block] = hash;
    return { kind: "verified", block };
  }

  /**
   * A buffer for a block of `length` bytes: a spare one if it fits, else a new one.
   * @param {number} length
   */
  _buffer(length) {
    const spare = length === this.wireBlockSize ? this._spare.pop() : undefined;
    return spare ? new Uint8Array(spare) : new Uint8Array(length);
  }

  /** @param {ArrayBufferLike | null} buffer  free to fill again */
  _recycle(buffer) {
    if (buffer instanceof ArrayBuffer && buffer.byteLength === this.wireBlockSize && this._spare.length < 2)
      this._spare.push(buffer);
  }

  /** @param {number} block */
  _unverify(block) {
    this.verified[block] = 0;
    this.verifiedCount -= 1;
    this.computed[block] = undefined;
  }

  /** Hashes of blocks 0 … have-1, to persist with `have`. */
  storedHashes() {
    return /** @type {string[]} */ (this.computed.slice(0, this.have));
  }

  /** Forget blocks in progress (their source went away; they will be sent again). */
  dropPartial() {
    this.partial.clear();
  }

  /**
   * The final check: the root of what was stored equals the offer's root.
   * @returns {Promise<boolean>}
   */
  async verifyRoot() {
    if (!this.complete) return false;
    return (await rootOf(/** @type {string[]} */ (this.computed))) === this.root;
  }

  /** Start over (a root mismatch after a download without the hash list). */
  reset() {
    this.verified.fill(0);
    this.verifiedCount = 0;
    this.computed = new Array(this.count);
    this.partial.clear();
  }
}
