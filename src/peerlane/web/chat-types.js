// The types ChatRoom (chat.js) and its parts share: what it needs of the server
// connection and of the mesh (tests inject fakes of both), and its options. Types only:
// nothing imports this module at run time.

/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").PeerInfo} PeerInfo */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */
/** @typedef {import("./protocol.js").SignalKind} SignalKind */
/** @typedef {import("./protocol.js").IceServerInfo} IceServerInfo */
/** @typedef {import("./api.js").RoomApi} RoomApi */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./store.js").OutboxStore} OutboxStore */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./mesh.js").PeerView} PeerView */
/** @typedef {import("./signaling.js").SignalingState} SignalingState */
/** @typedef {import("./signaling.js").CloseReason} CloseReason */
/** @typedef {import("./signaling.js").SocketLike} SocketLike */
/** @typedef {import("./transfer-wire.js").ChannelLike} ChannelLike */
/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./chat.js").ChatRoom} ChatRoom */

/** @typedef {"connecting" | "online" | "offline"} ServerState */

/** @typedef {{participant_id: string, peer_id: string | null, name: string, role: string}} Me */

/**
 * What ChatRoom needs of a Signaling (tests inject a fake).
 * @typedef {EventTarget & {
 *   state: SignalingState, closeReason: CloseReason | null, lastSeq: number | null,
 *   connect(): void, send(message: ClientMessage): boolean, close(): void,
 *   rewind?(seq: number): void, awaitAcks?(busy: boolean): void,
 * }} SignalingLike
 *   rewind: replay from seq (start() connects at the present; see ChatRoom._checkGap).
 *   awaitAcks: whether messages wait for the server's ack (keep-alive pings more often).
 */

/**
 * What ChatRoom needs of a Mesh (tests inject a fake).
 * @typedef {EventTarget & {
 *   peers: Map<string, PeerView>, openCount: number,
 *   setPeers(peers: PeerInfo[]): void, addPeer(peer: PeerInfo): void, removePeer(peerId: string): void,
 *   handleSignal(signal: {sender: string, kind: SignalKind, data: unknown}): void,
 *   send(message: PeerMessage, peerId?: string): number, close(options?: {notify?: boolean}): void,
 *   openDataChannel?(peerId: string, label: string): ChannelLike | null,
 *   selfPeerId?: string, meshLimit?: number,
 *   resume?(options: {peers: PeerInfo[], iceServers?: IceServerInfo[], connectTimeoutMs?: number}): void,
 * }} MeshLike
 *   openDataChannel and the "datachannel" event: file transfers (transfer.js).
 *   resume: a new server connection welcomed me with the same peer id (mesh.js).
 */

/**
 * @typedef {{
 *   selfPeerId: string, meshLimit: number, iceServers: IceServerInfo[], connectTimeoutMs?: number,
 *   sendSignal: (to: string, kind: SignalKind, data: unknown) => boolean,
 * }} MeshFactoryOptions
 */

/**
 * @typedef {{
 *   signalingFactory?: (roomId: string, options: {lastSeq: number | null, socket?: SocketLike | null}) => SignalingLike,
 *   meshFactory?: (options: MeshFactoryOptions) => MeshLike,
 *   store?: OutboxStore,
 *   api?: RoomApi,
 *   clock?: Clock,
 *   newId?: () => string,
 *   random?: () => number,
 *   transfersFactory?: ((room: ChatRoom) => Transfers) | null,
 *   view?: RoomView | null,
 *   socket?: SocketLike | null,
 *   firstLinksWait?: number,
 *   e2e?: import("./e2e/room-crypto.js").RoomCrypto | null,
 * }} ChatRoomOptions
 *   transfersFactory: makes room.transfers (default: a Transfers with browser storage,
 *   made by start(): its modules load with import() meanwhile, not before the room can
 *   connect); null: no file transfers.
 *   firstLinksWait: ms start() lets the first links negotiate before it loads the
 *   default transfer engine (see linksSettled; default 0).
 *   view: what GET /api/rooms/{id} would answer, when already known (creating or joining
 *   the room answered it): start() does not ask again.
 *   e2e: an end-to-end encrypted room's crypto (e2e/room-crypto.js): bodies are sealed
 *   before they leave and opened as they arrive; null or absent: a room without it.
 *   socket: the room's WebSocket, opened already by the page that created or joined the
 *   room (handover.js): the first connection takes it over.
 */

export {};
