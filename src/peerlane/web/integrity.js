// The file integrity scheme of docs/protocol.md ("Files → Integrity"), byte for byte the
// same as peerlane/core/integrity.py: 1 MiB blocks, SHA-256 per block (32 raw bytes),
// root = SHA-256 of the raw block hashes concatenated, written as 64 lowercase hex digits.
// An empty file has no blocks, so its root is SHA-256("").
//
// Block hashes travel as hex strings here (JSON, IndexedDB); rootOf turns them back into
// raw bytes before hashing, as the scheme requires.
//
// WebCrypto exists only in secure contexts: a LAN page on plain http:// has no
// crypto.subtle, so a small pure-JS SHA-256 stands in there (slower, same answers).

export const BLOCK_SIZE = 1024 * 1024;

/**
 * Number of blocks of a file of `size` bytes.
 * @param {number} size
 */
export function blockCount(size) {
  return Math.ceil(size / BLOCK_SIZE);
}

/**
 * Byte length of block `index` of a file of `size` bytes.
 * @param {number} size
 * @param {number} index
 */
export function blockLength(size, index) {
  return Math.max(0, Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE));
}

/**
 * SHA-256 of some bytes.
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}  32 bytes
 */
export async function sha256(bytes) {
  const subtle = globalThis.crypto?.subtle;
  if (subtle) return new Uint8Array(await subtle.digest("SHA-256", /** @type {Uint8Array<ArrayBuffer>} */ (bytes)));
  return sha256Js(bytes);
}

/**
 * The hash of one block, as hex.
 * @param {Uint8Array} bytes
 * @returns {Promise<string>}
 */
export async function hashBlock(bytes) {
  return toHex(await sha256(bytes));
}

/**
 * The root of a file with these block hashes (hex, in order).
 * @param {string[]} blockHashes
 * @returns {Promise<string>}
 */
export async function rootOf(blockHashes) {
  const all = new Uint8Array(blockHashes.length * 32);
  for (const [i, hex] of blockHashes.entries()) all.set(fromHex(hex), i * 32);
  return toHex(await sha256(all));
}

/**
 * The blocks of a file, read one at a time (never the whole file in memory).
 * @param {Blob} file
 * @param {number} [from]  first block index
 * @returns {AsyncGenerator<{index: number, bytes: Uint8Array}>}
 */
export async function* blocksOf(file, from = 0) {
  for (let index = from; index < blockCount(file.size); index++) {
    yield { index, bytes: await readBlock(file, index) };
  }
}

/**
 * @param {Blob} file
 * @param {number} index
 * @returns {Promise<Uint8Array>}
 */
export async function readBlock(file, index) {
  const start = index * BLOCK_SIZE;
  return new Uint8Array(await file.slice(start, start + BLOCK_SIZE).arrayBuffer());
}

/**
 * Hash a whole file block by block.
 * @param {Blob} file
 * @param {(bytesDone: number) => void} [onProgress]
 * @param {AbortSignal} [signal]
 * @returns {Promise<{root: string, blocks: string[]}>}
 */
export async function hashFile(file, onProgress, signal) {
  /** @type {string[]} */
  const blocks = [];
  let done = 0;
  for await (const { bytes } of blocksOf(file)) {
    signal?.throwIfAborted();
    blocks.push(await hashBlock(bytes));
    done += bytes.length;
    onProgress?.(done);
  }
  return { root: await rootOf(blocks), blocks };
}

/** @param {Uint8Array} bytes */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** @param {string} hex */
export function fromHex(hex) {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new TypeError("not lowercase hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** A root as written on the wire: 64 lowercase hex digits. @param {unknown} text */
export function isRoot(text) {
  return typeof text === "string" && /^[0-9a-f]{64}$/.test(text);
}

// ---- SHA-256 in plain JS (FIPS 180-4), for insecure contexts ---------------------------

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/**
 * @param {Uint8Array} bytes
 * @returns {Uint8Array}
 */
export function sha256Js(bytes) {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Uint32Array(64);
  const whole = bytes.length - (bytes.length % 64);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let off = 0; off < whole; off += 64) compress(h, w, view, off);
  // Padding: 0x80, zeros, then the bit length as a 64-bit big-endian number.
  const tail = new Uint8Array(bytes.length % 64 < 56 ? 64 : 128);
  tail.set(bytes.subarray(whole));
  tail[bytes.length - whole] = 0x80;
  const tailView = new DataView(tail.buffer);
  const bits = bytes.length * 8;
  tailView.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  tailView.setUint32(tail.length - 4, bits >>> 0);
  for (let off = 0; off < tail.length; off += 64) compress(h, w, tailView, off);
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  for (const [i, v] of h.entries()) outView.setUint32(i * 4, v);
  return out;
}

/**
 * One 64-byte chunk into the state h.
 * @param {Uint32Array} h
 * @param {Uint32Array} w
 * @param {DataView} view
 * @param {number} off
 */
function compress(h, w, view, off) {
  for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15],
      b = w[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let [a, b, c, d, e, f, g, hh] = h;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}
