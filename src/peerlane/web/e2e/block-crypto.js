// File blocks sealed and opened off the page's main thread (docs/protocol.md, "Files";
// docs/benchmarks.md, "Transfer, encrypted"): AES-GCM of each 1 MiB block, awaited by
// the sender (transfer-send.js, transfer-e2e.js's sealed upload) and the receiver
// (transfer-receive.js, share-e2e.js's download), runs in the block worker
// (file-crypto-worker.js), started on the first block and kept for the page's life, so
// the main thread stays free to feed and drain the data channel meanwhile. A block goes
// to the worker as a copy of its bytes alone, moved (the caller may reuse its buffer),
// and comes back moved too.
// Where there is no Worker (node's tests) or it does not start, blocks run in this
// thread as before: the same bytes and the same errors either way.

import { debug } from "../debug.js";
import { blockResult, runBlockJob } from "./block-jobs.js";

/** @typedef {import("./file-crypto.js").FileKey} FileKey */
/** @typedef {import("./block-jobs.js").BlockJob} BlockJob */
/** @typedef {import("./block-jobs.js").BlockDone} BlockDone */
/**
 * @typedef {{postMessage(message: unknown, transfer?: Transferable[]): void, terminate(): void,
 *   addEventListener(type: string, listener: (event: any) => void): void}} WorkerLike
 */

export class BlockCrypto {
  /** @param {(() => WorkerLike) | null} makeWorker  null: every block in this thread */
  constructor(makeWorker) {
    this.makeWorker = makeWorker;
    /** @type {WorkerLike | null} */
    this.worker = null;
    this.nextId = 1;
    /** @type {Map<number, {job: BlockJob, resolve: (done: BlockDone) => void}>} */
    this.waiting = new Map();
    /** Blocks the worker did (tests; the bench reads it). */
    this.inWorker = 0;
  }

  /**
   * sealBlock (file-crypto.js), in the worker.
   * @param {FileKey} key
   * @param {number} index
   * @param {number} count
   * @param {Uint8Array} plaintext
   */
  seal(key, index, count, plaintext) {
    return this.#run({ op: "seal", key: key.blockKey, index, count, bytes: plaintext });
  }

  /**
   * openBlock (file-crypto.js), in the worker.
   * @param {FileKey} key
   * @param {number} index
   * @param {number} count
   * @param {Uint8Array} sealed
   */
  open(key, index, count, sealed) {
    return this.#run({ op: "open", key: key.blockKey, index, count, bytes: sealed });
  }

  /** @param {Omit<BlockJob, "id">} fields */
  async #run(fields) {
    const job = { id: this.nextId++, ...fields };
    const worker = this.#started();
    /** @type {BlockDone} */
    const done = worker
      ? await new Promise((resolve) => {
          this.waiting.set(job.id, { job, resolve });
          // Its own copy of the block's bytes, moved: a view's whole buffer (the sender's
          // 8 MiB read-ahead slice) would otherwise be cloned with it.
          const bytes = job.bytes.slice();
          worker.postMessage({ ...job, bytes }, [bytes.buffer]);
        })
      : await runBlockJob(job);
    return blockResult(done);
  }

  /** The worker, started on the first block; null: blocks run here. */
  #started() {
    if (this.worker || !this.makeWorker) return this.worker;
    try {
      const worker = this.makeWorker();
      worker.addEventListener("message", (event) => {
        const entry = this.waiting.get(event.data?.id);
        if (!entry) return;
        this.waiting.delete(event.data.id);
        this.inWorker += 1;
        entry.resolve(event.data);
      });
      const broken = (/** @type {Event} */ event) => {
        event.preventDefault?.();
        this.#broken(worker, event);
      };
      worker.addEventListener("error", broken);
      worker.addEventListener("messageerror", broken);
      this.worker = worker;
    } catch (err) {
      debug("e2e", "the block worker did not start: blocks run in the page", err);
      this.makeWorker = null;
    }
    return this.worker;
  }

  /**
   * The worker failed to load or died: what it held, and every later block, run here.
   * @param {WorkerLike} worker
   * @param {unknown} why
   */
  #broken(worker, why) {
    debug("e2e", "the block worker failed: blocks run in the page", why);
    worker.terminate();
    this.worker = null;
    this.makeWorker = null;
    const held = [...this.waiting.values()];
    this.waiting.clear();
    for (const { job, resolve } of held) void runBlockJob(job).then(resolve);
  }
}

/** The page's block worker, where the platform has workers. */
function pageWorker() {
  if (typeof Worker !== "function") return null;
  return () =>
    /** @type {WorkerLike} */ (
      new Worker(new URL("./file-crypto-worker.js", import.meta.url), { type: "module", name: "peerlane-blocks" })
    );
}

/** The one BlockCrypto of this page. */
export const blocks = new BlockCrypto(pageWorker());

/** @param {FileKey} key @param {number} index @param {number} count @param {Uint8Array} plaintext */
export const sealBlockAway = (key, index, count, plaintext) => blocks.seal(key, index, count, plaintext);

/** @param {FileKey} key @param {number} index @param {number} count @param {Uint8Array} sealed */
export const openBlockAway = (key, index, count, sealed) => blocks.open(key, index, count, sealed);
