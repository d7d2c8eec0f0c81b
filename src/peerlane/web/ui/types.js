// The slice of the ChatRoom API (docs/web-client.md) the UI consumes, as structural
// types: the UI components take any object of this shape, so they can be exercised
// with a stand-in room as well as the real ChatRoom from ../chat.js.

/**
 * @typedef {"sending" | "sent" | "delivered" | "read" | "failed"} MessageState
 *
 * @typedef {object} ChatMessageView
 * @property {string} id
 * @property {number | null} seq
 * @property {string} [hlc]
 * @property {string} sender           participant id
 * @property {string} sender_name
 * @property {number | null} [ts]      seconds since the epoch
 * @property {string} [kind]           "text" | "reaction" | "file" | "edit" | "delete"
 * @property {number | null} [ref]
 * @property {unknown} body
 * @property {string} state            a MessageState
 * @property {Map<string, Set<string>>} [reactions]  emoji → participant ids
 * @property {number | null} [edited_at]  when its sender last edited it (seconds)
 * @property {number | null} [deleted_at] when its sender deleted it: no body then
 * @property {boolean} [final]         failed, and sending again cannot help: no Retry
 * @property {{id: string, kind: string, body: unknown} | null} [pending]  an own edit or
 *   deletion of it on its way (shown already)
 * @property {{kind: string} | null} [afterAck]  an own change waiting for its seq
 *
 * @typedef {object} PeerViewLike
 * @property {string} peer_id
 * @property {string} [participant_id]
 * @property {string} [name]
 * @property {string | null} [path]    "direct" | "turn" | "server" | "connecting"
 * @property {string | null} [iceState]
 * @property {string | null} [signalingState]
 * @property {number | null} [rttMs]
 * @property {string | null} [problem]
 *
 * @typedef {object} MeLike
 * @property {string} participant_id
 * @property {string | null} [peer_id]
 * @property {string} name
 * @property {string} role             "owner" | "member"
 *
 * @typedef {object} RoomInfoLike
 * @property {string} id
 * @property {string} name
 * @property {string} [url]
 *
 * @typedef {"offered" | "waiting" | "sending" | "receiving" | "verifying" | "done" | "declined"
 *   | "cancelled" | "failed" | "needs-file" | "stalled"} TransferState
 *
 * @typedef {{code: string, [param: string]: string | number | null}} TransferNote
 *
 * @typedef {object} TransferReceiverView
 * @property {string} participant
 * @property {string} name
 * @property {string} state
 * @property {number} bytesDone
 * @property {string | null} path
 *
 * @typedef {object} TransferView      one transfer, as Transfers.list() gives it
 * @property {string} id
 * @property {"in" | "out"} direction
 * @property {string} state            a TransferState
 * @property {string | null} path      "direct" | "turn" | "server" | null
 * @property {string} name             for a folder the relative path (display only)
 * @property {number} size
 * @property {string} type
 * @property {string} sender
 * @property {string} senderName
 * @property {string | null} to
 * @property {string | null} toName
 * @property {string | null} root
 * @property {number} bytesDone
 * @property {number} speedBps
 * @property {number | null} etaSeconds
 * @property {TransferNote | null} error   a code (ui/transfer-text.js says it in words)
 * @property {TransferNote | null} note    a code: the engine's precise word on the state
 * @property {TransferReceiverView[]} [receivers]
 * @property {number} createdAt
 *
 * @typedef {EventTarget & {
 *   send(files: File[], to: string | null): string[],
 *   accept(id: string): Promise<void> | unknown,
 *   decline(id: string): unknown,
 *   cancel(id: string): unknown,
 *   save(id: string): Promise<void> | unknown,
 *   pickAgain(id: string, file: File): Promise<void> | unknown,
 *   dismiss(id: string): unknown,
 *   retry(id: string): unknown,
 *   list(): TransferView[],
 *   get(id: string): TransferView | undefined,
 * }} TransfersLike                   the slice of the Transfers engine the UI uses
 *
 * @typedef {EventTarget & {
 *   me: MeLike | null | undefined,
 *   roomInfo: RoomInfoLike | null | undefined,
 *   e2e?: {encrypted: boolean, key: unknown, keyText: string, fetchKeys?: () => Promise<unknown>} | null,
 *   messages: readonly ChatMessageView[],
 *   peers: Map<string, PeerViewLike>,
 *   serverState: string,
 *   ended?: string | null,
 *   hasMore?: boolean,
 *   typing: Map<string, string>,
 *   send(text: string, options?: {replyTo?: number | null}): unknown,
 *   edit?(id: string, text: string): unknown,
 *   deleteMessage?(id: string): unknown,
 *   message?(seq: number): ChatMessageView | undefined,
 *   react(seq: number, emoji: string): unknown,
 *   retry(id: string): unknown,
 *   discard?(id: string): unknown,
 *   readers?(seq: number): string[],
 *   maxBodyBytes?: number,
 *   markRead(seq: number): unknown,
 *   setTyping(active: boolean): unknown,
 *   loadOlder(): Promise<boolean | void | unknown>,
 *   close(): unknown,
 *   transfers?: TransfersLike | null,
 * }} RoomLike
 */

export {};
