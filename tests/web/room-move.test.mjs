// Moving a room to an encrypted one (web/e2e/room-move.js): the owner's move makes the
// room, stores the last message before the server marks the move, and hands the link
// out over data channels only; a handed-over link is taken only when its key has the id
// the owner named; a holder hands it to every channel that opens.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import {
  checkMoveLink,
  FINAL_TEXT,
  handOverMove,
  keptMove,
  moveApi,
  moveToEncrypted,
} from "../../src/peerlane/web/e2e/room-move.js";
import { RoomKey } from "../../src/peerlane/web/e2e/scheme.js";

globalThis.location = /** @type {any} */ (new URL("https://chat.example.test/r/old"));
/** @type {Map<string, string>} */
const stored = new Map();
globalThis.localStorage = /** @type {any} */ ({
  getItem: (k) => stored.get(k) ?? null,
  setItem: (k, v) => stored.set(k, String(v)),
});

beforeEach(() => stored.clear());

const secret = (n) => Uint8Array.from({ length: 32 }, (_, i) => i + n);
const keyText = async (n) => (await RoomKey.fromSecret(secret(n))).encoded();
const kid = async (n) => (await RoomKey.fromSecret(secret(n))).kid;

/** A room as the module sees it: what it sends directly is recorded. */
function fakeRoom(over = {}) {
  const room = Object.assign(new EventTarget(), {
    id: "old",
    me: { name: "Alice", role: "owner" },
    roomInfo: { name: "Planning", moved_at: null, moved_key_id: null },
    messages: [],
    /** @type {{message: unknown, peerId?: string}[]} */
    direct: [],
    handedLinks: [],
    send(text) {
      const m = { id: `m${room.messages.length}`, seq: null, body: text };
      room.messages = [...room.messages, m];
      return m;
    },
    sendDirect(message, peerId) {
      room.direct.push({ message, peerId });
      return 1;
    },
    ...over,
  });
  return room;
}

const handed = (room, link) => room.dispatchEvent(new CustomEvent("moved-link", { detail: { link } }));
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
/** Until `ready()` holds (WebCrypto's work takes longer than any fixed pause on a loaded machine). */
async function until(ready, ms = 10_000) {
  const end = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${ready}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test("a handed-over link is taken only with the named key id, on this server's join page", async () => {
  const good = `/join#tok.${await keyText(1)}`;
  assert.equal(await checkMoveLink(good, await kid(1)), good);
  assert.equal(await checkMoveLink(`https://chat.example.test${good}`, await kid(1)), good);
  assert.equal(await checkMoveLink(good, await kid(2)), null); // another member's own room
  assert.equal(await checkMoveLink(`https://evil.test${good}`, await kid(1)), null);
  assert.equal(await checkMoveLink(`/r/x#tok.${await keyText(1)}`, await kid(1)), null);
  assert.equal(await checkMoveLink("/join#tok", await kid(1)), null);
  assert.equal(await checkMoveLink(good, null), null); // the room did not move
  assert.equal(await checkMoveLink(42, await kid(1)), null);
});

test("a member takes the right link (also one handed before it listened) and hands it on", async () => {
  const right = `/join#tok.${await keyText(1)}`;
  const room = fakeRoom({ handedLinks: [`/join#tok.${await keyText(2)}`] });
  room.roomInfo.moved_key_id = await kid(1);
  /** @type {unknown[]} */
  const moves = [];
  const stop = handOverMove(room, (m) => moves.push(m));
  await settle();
  assert.deepEqual(moves, []); // the early link had the wrong key
  assert.equal(keptMove("old"), null);

  handed(room, right);
  await until(() => moves.length > 0);
  assert.deepEqual(moves, [{ link: right, room_id: null }]);
  assert.deepEqual(keptMove("old"), { link: right, room_id: null });
  assert.deepEqual(room.direct, [{ message: { t: "moved", link: right }, peerId: undefined }]);
  room.dispatchEvent(new CustomEvent("channel-open", { detail: { peerId: "p-carol" } }));
  assert.deepEqual(room.direct.at(-1), { message: { t: "moved", link: right }, peerId: "p-carol" });
  stop();
  room.dispatchEvent(new CustomEvent("channel-open", { detail: { peerId: "p-dan" } }));
  assert.equal(room.direct.length, 2);
});

test("a page opened before the move asks the server for the key id", async () => {
  const right = `/join#tok.${await keyText(1)}`;
  const room = fakeRoom();
  const keyId = await kid(1);
  moveApi.getRoom = async () => /** @type {any} */ ({ room: { moved_at: 5, moved_key_id: keyId } });
  const moves = [];
  handOverMove(room, (m) => moves.push(m));
  handed(room, right);
  await until(() => moves.length > 0);
  assert.equal(moves.length, 1);
  assert.equal(room.roomInfo.moved_key_id, keyId);
});

test("the owner's move: new room, last message stored, then the move naming the key id", async () => {
  const room = fakeRoom();
  /** @type {string[]} */
  const calls = [];
  let namedKeyId = "";
  moveApi.createRoom = async (options) => {
    calls.push(`create ${options.name.slice(0, 5)} ${options.invite_ttl}`);
    return /** @type {any} */ ({ room: { id: "new" }, invite: { link: "https://chat.example.test/join#tok" } });
  };
  moveApi.moveRoom = async (roomId, keyId) => {
    calls.push(`move ${roomId}`);
    namedKeyId = keyId;
    return /** @type {any} */ ({ moved_at: 7, moved_key_id: keyId });
  };
  const moving = moveToEncrypted(room);
  await until(() => calls.length > 0 && room.messages.length > 0);
  assert.deepEqual(calls, ["create e2e1. 2592000"]); // the name sealed; waits for the store
  assert.equal(room.messages[0].body, FINAL_TEXT);
  room.messages = [{ ...room.messages[0], seq: 3 }];
  room.dispatchEvent(new Event("change"));
  const move = await moving;
  assert.deepEqual(calls, ["create e2e1. 2592000", "move old"]);
  assert.equal(move.room_id, "new");
  assert.match(move.link, /^\/join#tok\.[A-Za-z0-9_-]{43}$/);
  assert.equal(await checkMoveLink(move.link, namedKeyId), move.link);
  assert.deepEqual(room.direct, [{ message: { t: "moved", link: move.link }, peerId: undefined }]);
  assert.deepEqual(keptMove("old"), move);
  assert.equal(room.roomInfo.moved_key_id, namedKeyId);
});

test("only the owner moves", async () => {
  const room = fakeRoom({ me: { name: "Bob", role: "member" } });
  await assert.rejects(moveToEncrypted(room), /owner/);
});
