// The types of the room WebSocket (signaling.js): the socket it drives and its options.

/** @typedef {import("./hlc.js").Clock} Clock */

/**
 * The part of the WebSocket API used here (tests inject a fake).
 * @typedef {{
 *   readyState: number,
 *   onopen: ((ev: any) => void) | null,
 *   onmessage: ((ev: {data: any}) => void) | null,
 *   onclose: ((ev: {code: number, reason: string}) => void) | null,
 *   onerror: ((ev: any) => void) | null,
 *   send(data: string): void,
 *   close(code?: number, reason?: string): void,
 *   release?(): void,
 * }} SocketLike
 *   release: a socket opened before it was handed to us holds its events until then
 *   (handover.js HeldSocket).
 * @typedef {new (url: string) => SocketLike} SocketConstructor
 */

/**
 * @typedef {{
 *   url?: string,
 *   WebSocket?: SocketConstructor,
 *   clock?: Clock,
 *   random?: () => number,
 *   lastSeq?: number | null,
 *   minDelayMs?: number,
 *   maxDelayMs?: number,
 *   pingIntervalMs?: number,
 *   pongTimeoutMs?: number,
 *   busyPingIntervalMs?: number,
 *   busyPongTimeoutMs?: number,
 *   connectTimeoutMs?: number,
 *   environment?: EventTarget | null,
 *   socket?: SocketLike | null,
 *   readyUrl?: string | null,
 *   fetch?: typeof globalThis.fetch,
 *   probeEveryMs?: number,
 * }} SignalingOptions
 *   readyUrl: the server's /readyz, asked every probeEveryMs while waiting to reconnect
 *   (ReadyProbe; default: the page's origin when url is the default; null: never).
 *   socket: the first connection's socket, opened already (with the hello of lastSeq in
 *   its URL) by the page that joined the room; its events so far are held until taken.
 *   environment: where "online"/"offline"/"visibilitychange" come from (window by default;
 *   null to ignore them).
 *   busyPingIntervalMs, busyPongTimeoutMs: the keep-alive while acks are awaited (awaitAcks).
 */

export {};
