// The types the file-transfer engine (transfer.js) takes: what it needs of a ChatRoom
// (tests give a fake) and its options. Types only: nothing imports this module at run time.

/** @typedef {import("./opfs.js").PartialStore} PartialStore */
/** @typedef {import("./opfs.js").ManifestStore} ManifestStore */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh.js").PeerView} PeerView */

/**
 * What the engine needs of a ChatRoom (a fake in tests).
 * @typedef {EventTarget & {
 *   id: string,
 *   me: {participant_id: string, peer_id: string | null, name: string} | null,
 *   roomInfo: Record<string, any> | null,
 *   peers: Map<string, PeerView>,
 *   sendFileMessage(body: Record<string, unknown>): unknown,
 *   openDataChannel(peerId: string, label: string): ChannelLike | null,
 *   e2e?: {encrypted: boolean} | null,
 * }} RoomLike
 *   events used: "file" (detail: a chat message of kind "file"), "datachannel" (detail:
 *   {peerId, channel}), "peers". e2e: the room's end-to-end encryption (files sent get a key).
 */

/**
 * @typedef {{
 *   manifests?: ManifestStore,
 *   partials?: PartialStore,
 *   clock?: Clock,
 *   newId?: () => string,
 *   fetch?: typeof fetch,
 *   p2pTimeoutMs?: number,
 *   upload?: typeof import("./tus.js").upload,
 *   terminate?: typeof import("./tus.js").terminate,
 *   offerDownload?: (file: File, name: string) => void,
 *   retryMs?: number,
 *   stallMs?: number,
 * }} TransfersOptions
 */

export {};
