// The /diagnostics page's checks, without the DOM (tests/web/diagnostics.test.mjs runs
// them against a scripted RTCPeerConnection). What they find goes to the server, which
// answers with the verdict, NAT estimates and advice in the words `peerlane doctor`
// prints (core/net_verdict.py): no verdict text lives here.
//
// - WebRTC and a secure context: what the browser offers.
// - STUN, per URL: an RTCPeerConnection with only that STUN server; a server-reflexive
//   candidate is its answer (the address it saw). A browser drops a reflexive candidate
//   equal to its own address (no NAT), so gathering that ENDS before the timeout without
//   one counts as an answer naming this machine's own address; a server that does not
//   answer keeps gathering going past the timeout (the browser retries for far longer).
// - NAT mapping: one RTCPeerConnection with every STUN server that answered. Its
//   candidates share one socket per interface, and the browser keeps a reflexive
//   candidate only once per address: one address from two servers means the NAT maps
//   the socket the same for every destination; two addresses for one socket, that the
//   mapping changes with the destination. One STUN server: "unknown", honestly.
// - TURN, per URL: only that TURN server with the server's credentials and
//   iceTransportPolicy "relay"; a relay candidate means the allocation worked.
// - Throughput: two RTCPeerConnections in this page, a data channel between them, a few
//   MiB through it (what this browser and machine can push; no network involved).

/**
 * @typedef {{label: string, kind: "stun" | "turn", url: string,
 *   username?: string | null, credential?: string | null}} Probe
 * @typedef {{name: string, ok: boolean, detail: string}} Check
 * @typedef {{type: string | null, address: string | null, port: number | null,
 *   protocol?: string | null, relatedAddress?: string | null, relatedPort?: number | null}} Candidate
 * @typedef {{candidates: Candidate[], complete: boolean}} Gathered
 *   complete: gathering ended by itself (not cut by the timeout or by `enough`)
 * @typedef {{checks: Check[], local: string[], reflexive: string | null,
 *   mapped: Record<string, string | null>}} Results
 * @typedef {{RTC: typeof RTCPeerConnection | null, secure: boolean, probes: Probe[],
 *   now?: () => number, gatherMs?: number, throughputBytes?: number, throughputMs?: number}} Environment
 */

/** How long a probe waits for its candidate (a STUN or TURN server that does not answer). */
export const GATHER_TIMEOUT_MS = 6000;
/** Bytes the local data-channel test sends. */
export const THROUGHPUT_BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** @param {Candidate} c */
const where = (c) => `${c.address}:${c.port}`;

/**
 * Gather candidates with one configuration. Resolves with what was gathered when
 * gathering completes, when `enough` says so, or after `timeoutMs`.
 * @param {typeof RTCPeerConnection} RTC
 * @param {RTCConfiguration} config
 * @param {{timeoutMs: number, enough?: (c: Candidate) => boolean}} options
 * @returns {Promise<Gathered>}
 */
export function gather(RTC, config, { timeoutMs, enough = () => false }) {
  const pc = new RTC(config);
  /** @type {Candidate[]} */
  const candidates = [];
  return new Promise((resolve) => {
    /** @param {boolean} complete */
    const done = (complete) => {
      clearTimeout(timer);
      pc.onicecandidate = null;
      pc.close();
      resolve({ candidates, complete });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    pc.onicecandidate = (event) => {
      if (!event.candidate) return done(true); // the end of gathering
      const c = event.candidate;
      const candidate = {
        type: c.type,
        address: c.address,
        port: c.port,
        protocol: c.protocol,
        relatedAddress: c.relatedAddress,
        relatedPort: c.relatedPort,
      };
      candidates.push(candidate);
      if (enough(candidate)) done(false);
    };
    pc.createDataChannel("diagnostics");
    pc.createOffer()
      .then((offer) => pc.setLocalDescription(offer))
      .catch(() => done(false));
  });
}

/**
 * The UDP host candidate whose address a STUN server saw when the browser kept no
 * reflexive candidate although gathering ended in time (see the top): no NAT.
 * @param {Gathered} gathered
 * @returns {Candidate | undefined}
 */
function ownAddressAnswer({ candidates, complete }) {
  if (!complete) return undefined;
  return candidates.find((c) => c.type === "host" && c.address && (c.protocol ?? "udp") === "udp");
}

/**
 * One STUN server: its check, and the address it saw.
 * @param {typeof RTCPeerConnection} RTC
 * @param {Probe} probe
 * @param {number} timeoutMs
 * @returns {Promise<{check: Check, mapped: string | null, local: string[]}>}
 */
async function stunCheck(RTC, probe, timeoutMs) {
  const enough = (/** @type {Candidate} */ c) => c.type === "srflx";
  const gathered = await gather(RTC, { iceServers: [{ urls: probe.url }] }, { timeoutMs, enough });
  const found = gathered.candidates;
  const local = found.filter((c) => c.type === "host" && c.address).map((c) => String(c.address));
  const srflx = found.find((c) => c.type === "srflx");
  if (srflx) {
    const detail = `reflexive address ${where(srflx)}`;
    return { check: { name: probe.label, ok: true, detail }, mapped: where(srflx), local };
  }
  const own = ownAddressAnswer(gathered);
  if (own) {
    const detail = `reflexive address ${where(own)}, this machine's own (no NAT)`;
    return { check: { name: probe.label, ok: true, detail }, mapped: where(own), local };
  }
  const detail = `no reflexive address within ${timeoutMs / 1000} s: no answer over UDP`;
  return { check: { name: probe.label, ok: false, detail }, mapped: null, local };
}

/**
 * The addresses every answering STUN server saw from ONE socket (see the top).
 * @param {typeof RTCPeerConnection} RTC
 * @param {Probe[]} answered  at least two
 * @param {number} timeoutMs
 * @returns {Promise<Record<string, string | null>>}
 */
async function mappingCheck(RTC, answered, timeoutMs) {
  const gathered = await gather(RTC, { iceServers: [{ urls: answered.map((p) => p.url) }] }, { timeoutMs });
  /** @type {Map<string, string[]>} */
  const bySocket = new Map();
  const own = ownAddressAnswer(gathered);
  if (own && !gathered.candidates.some((c) => c.type === "srflx")) bySocket.set("own", [where(own)]);
  for (const c of gathered.candidates) {
    if (c.type !== "srflx") continue;
    const base = `${c.relatedAddress}:${c.relatedPort}`;
    const seen = bySocket.get(base) ?? [];
    if (!seen.includes(where(c))) seen.push(where(c));
    bySocket.set(base, seen);
  }
  // The socket that saw the most addresses: two servers, two addresses → the mapping
  // changes; one → it does not.
  const addresses = [...bySocket.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  /** @type {Record<string, string | null>} */
  const mapped = {};
  answered.forEach((probe, i) => {
    mapped[probe.label] = addresses[Math.min(i, addresses.length - 1)] ?? null;
  });
  return mapped;
}

/**
 * One TURN URL: a relay candidate gathered means an allocation with the server's
 * credentials worked over that transport.
 * @param {typeof RTCPeerConnection} RTC
 * @param {Probe} probe
 * @param {number} timeoutMs
 * @returns {Promise<Check>}
 */
export async function turnCheck(RTC, probe, timeoutMs) {
  if (!probe.username || !probe.credential) {
    return { name: probe.label, ok: false, detail: "the server gave no TURN credentials" };
  }
  /** @type {RTCConfiguration} */
  const config = {
    iceServers: [{ urls: probe.url, username: probe.username, credential: probe.credential }],
    iceTransportPolicy: "relay",
  };
  const { candidates } = await gather(RTC, config, { timeoutMs, enough: (c) => c.type === "relay" });
  const relay = candidates.find((c) => c.type === "relay");
  if (!relay) {
    return { name: probe.label, ok: false, detail: `no relay allocated within ${timeoutMs / 1000} s` };
  }
  return { name: probe.label, ok: true, detail: `relay allocated at ${where(relay)}` };
}

/**
 * Push `bytes` through a data channel between two connections of this page.
 * @param {typeof RTCPeerConnection} RTC
 * @param {{bytes: number, timeoutMs: number, now: () => number}} options
 * @returns {Promise<Check>}
 */
export async function throughputCheck(RTC, { bytes, timeoutMs, now }) {
  const a = new RTC();
  const b = new RTC();
  const name = "data-channel";
  try {
    a.onicecandidate = (e) => void (e.candidate && b.addIceCandidate(e.candidate).catch(() => {}));
    b.onicecandidate = (e) => void (e.candidate && a.addIceCandidate(e.candidate).catch(() => {}));
    const channel = a.createDataChannel("throughput");
    channel.binaryType = "arraybuffer";
    /** @type {Promise<number>} */
    const received = new Promise((resolve) => {
      b.ondatachannel = (event) => {
        let got = 0;
        event.channel.onmessage = (m) => {
          got += /** @type {ArrayBuffer} */ (m.data).byteLength;
          if (got >= bytes) resolve(now());
        };
      };
    });
    const opened = new Promise((resolve) => channel.addEventListener("open", resolve, { once: true }));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (a.localDescription));
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (b.localDescription));
    const result = await withTimeout(
      (async () => {
        await opened;
        const started = now();
        await send(channel, bytes);
        return (await received) - started;
      })(),
      timeoutMs,
    );
    if (result === null) return { name, ok: false, detail: `the data channel did not carry ${mib(bytes)} in time` };
    const rate = bytes / 1e6 / Math.max(result / 1000, 1e-3);
    return { name, ok: true, detail: `${rate.toFixed(1)} MB/s through a data channel in this browser` };
  } finally {
    a.close();
    b.close();
  }
}

/** @param {number} bytes */
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/**
 * Send `bytes` in chunks, waiting whenever the channel's buffer is full.
 * @param {RTCDataChannel} channel
 * @param {number} bytes
 */
async function send(channel, bytes) {
  channel.bufferedAmountLowThreshold = 4 * CHUNK;
  const chunk = new Uint8Array(CHUNK);
  for (let sent = 0; sent < bytes; sent += CHUNK) {
    if (channel.bufferedAmount > 16 * CHUNK) {
      await new Promise((resolve) => channel.addEventListener("bufferedamountlow", resolve, { once: true }));
    }
    channel.send(chunk.subarray(0, Math.min(CHUNK, bytes - sent)));
  }
}

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @returns {Promise<T | null>}  null on timeout
 */
function withTimeout(promise, ms) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return /** @type {Promise<T | null>} */ (Promise.race([promise, late])).finally(() => clearTimeout(timer));
}

/**
 * Every check the page runs, in the order the report lists them.
 * @param {Environment} env
 * @returns {Promise<Results>}
 */
export async function runDiagnostics(env) {
  const timeoutMs = env.gatherMs ?? GATHER_TIMEOUT_MS;
  /** @type {Results} */
  const out = { checks: [], local: [], reflexive: null, mapped: {} };
  out.checks.push({ name: "server", ok: true, detail: "the page reached it" });
  out.checks.push(
    env.secure
      ? { name: "secure-context", ok: true, detail: "the page is a secure context" }
      : { name: "secure-context", ok: false, detail: "the page is not a secure context" },
  );
  const RTC = env.RTC;
  if (!RTC) {
    out.checks.push({ name: "webrtc", ok: false, detail: "this browser has no RTCPeerConnection" });
    return out;
  }
  out.checks.push({ name: "webrtc", ok: true, detail: "RTCPeerConnection is available" });
  const stun = env.probes.filter((p) => p.kind === "stun");
  const turn = env.probes.filter((p) => p.kind === "turn");
  // Every probe at once: a server that does not answer costs one timeout, not one each.
  const [stuns, turns] = await Promise.all([
    Promise.all(stun.map((p) => stunCheck(RTC, p, timeoutMs))),
    Promise.all(turn.map((p) => turnCheck(RTC, p, timeoutMs))),
  ]);
  for (const [i, result] of stuns.entries()) {
    out.checks.push(result.check);
    out.mapped[/** @type {Probe} */ (stun[i]).label] = result.mapped;
    out.reflexive ??= result.mapped?.replace(/:\d+$/, "") ?? null;
    for (const address of result.local) if (!out.local.includes(address)) out.local.push(address);
  }
  const answered = stun.filter((_, i) => stuns[i]?.mapped);
  if (answered.length >= 2) Object.assign(out.mapped, await mappingCheck(RTC, answered, timeoutMs));
  out.checks.push(...turns);
  const now = env.now ?? (() => performance.now());
  out.checks.push(
    await throughputCheck(RTC, {
      bytes: env.throughputBytes ?? THROUGHPUT_BYTES,
      timeoutMs: env.throughputMs ?? 4 * timeoutMs,
      now,
    }),
  );
  return out;
}
