import assert from "node:assert/strict";
import { test } from "node:test";

import {
  inviteToken,
  joinAtOnceAllowed,
  joinNow,
  joinWithToken,
  startEarlyJoin,
  takeEarlyJoin,
  tokenKey,
  whenShown,
} from "../../src/peerlane/web/join-now.js";

const session = {
  room: { id: "r1", name: "Room" },
  participant: { id: "u1", name: "Ann", role: "member" },
  mesh_limit: 8,
};

/** A recording joinRoom, handOverSession and leaveRoom. */
function recorder({ fail = null, returned = false } = {}) {
  const calls = [];
  return {
    calls,
    join: async (options) => {
      calls.push(["join", options]);
      if (fail) throw fail;
      return { out: session, returned };
    },
    handOver: (out) => calls.push(["handOver", out.room.id]),
    leave: async (roomId) => calls.push(["leave", roomId]),
  };
}

/** A document whose <meta name="peerlane:join"> says `policy` (none when null). */
function page(policy, { prerendering = false } = {}) {
  const doc = new EventTarget();
  doc.prerendering = prerendering;
  doc.querySelector = (selector) =>
    policy !== null && selector === 'meta[name="peerlane:join"]' ? { getAttribute: () => policy } : null;
  return doc;
}

/**
 * Resolves once every promise callback queued so far, and every one those queue, has run
 * (a macrotask runs only after the microtask queue is empty): for checking that something
 * did NOT happen. What does happen is awaited directly (the answer, and the calls made as
 * it is decided).
 */
const microtasksDrained = () => new Promise((resolve) => setImmediate(resolve));

test("the token is the fragment, decoded and trimmed; a malformed escape is kept as typed", () => {
  assert.equal(inviteToken("#abc-DEF_12"), "abc-DEF_12");
  assert.equal(inviteToken("#%20abc%2Fd%20"), "abc/d");
  assert.equal(inviteToken("#abc%zz"), "abc%zz");
  assert.equal(inviteToken(""), "");
});

test("with a remembered name the join goes out at once and its answer is handed over", async () => {
  const r = recorder();
  const early = joinNow({ token: "tok", name: "  Ann ", ...r });
  assert.ok(early);
  assert.equal(early.name, "Ann");
  assert.deepEqual(await early.answer, session);
  assert.deepEqual(r.calls, [
    ["join", { display_name: "Ann", token: "tok" }],
    ["handOver", "r1"],
  ]);
});

test("no name or no token: nothing is sent (the form asks)", () => {
  const r = recorder();
  assert.equal(joinNow({ token: "tok", name: "  ", ...r }), null);
  assert.equal(joinNow({ token: "", name: "Ann", ...r }), null);
  assert.deepEqual(r.calls, []);
});

test("a refused join reaches the answer and hands nothing over", async () => {
  const refused = Object.assign(new Error("This invite has expired."), { code: "invite_expired" });
  const r = recorder({ fail: refused });
  const early = joinNow({ token: "old", name: "Ann", ...r });
  await assert.rejects(early.answer, refused);
  assert.deepEqual(r.calls, [["join", { display_name: "Ann", token: "old" }]]);
});

test("a prerendered page joins only once it is shown", async () => {
  const doc = page("at-once", { prerendering: true });
  const r = recorder();
  const early = joinNow({ token: "tok", name: "Ann", shown: whenShown(doc), ...r });
  await microtasksDrained();
  assert.deepEqual(r.calls, []);
  doc.prerendering = false;
  doc.dispatchEvent(new Event("prerenderingchange"));
  await early.answer;
  assert.equal(r.calls.length, 2);
});

test("a join abandoned before its answer opens nothing and signs out again", async () => {
  const r = recorder();
  const early = joinNow({ token: "tok", name: "Ann", ...r });
  early.abandon();
  await early.answer; // leave is called as the answer is decided
  assert.deepEqual(r.calls, [
    ["join", { display_name: "Ann", token: "tok" }],
    ["leave", "r1"],
  ]);
});

test("a join abandoned after returning to an earlier session leaves that session alone", async () => {
  const r = recorder({ returned: true });
  const early = joinNow({ token: "tok", name: "Ann", ...r });
  early.abandon();
  await early.answer;
  await microtasksDrained();
  assert.deepEqual(
    r.calls.map(([what]) => what),
    ["join"],
  ); // no socket, no sign-out
});

test("abandoning after the answer changes nothing", async () => {
  const r = recorder();
  const early = joinNow({ token: "tok", name: "Ann", ...r });
  await early.answer;
  early.abandon();
  await microtasksDrained();
  assert.deepEqual(
    r.calls.map(([what]) => what),
    ["join", "handOver"],
  );
});

test("only a plain navigation the server allows joins at once", () => {
  assert.equal(joinAtOnceAllowed(page("at-once"), "navigate"), true);
  assert.equal(joinAtOnceAllowed(page("at-once"), undefined), true); // no navigation timing
  assert.equal(joinAtOnceAllowed(page("ask"), "navigate"), false); // followed from another site
  assert.equal(joinAtOnceAllowed(page(null), "navigate"), false); // an older server's shell
  assert.equal(joinAtOnceAllowed(page("at-once"), "reload"), false);
  assert.equal(joinAtOnceAllowed(page("at-once"), "back_forward"), false);
});

test("the join started as /join loads is taken once, for its own token", async () => {
  const r = recorder();
  const load = { pathname: "/join", hash: "#tok", navigationType: "navigate", name: "Ann", ...r };
  assert.equal(startEarlyJoin({ ...load, pathname: "/", document: page("at-once") }), null);
  assert.equal(startEarlyJoin({ ...load, document: page("ask") }), null);
  assert.equal(startEarlyJoin({ ...load, name: "", document: page("at-once") }), null);
  assert.deepEqual(r.calls, []);

  const early = startEarlyJoin({ ...load, document: page("at-once") });
  assert.ok(early);
  assert.equal(takeEarlyJoin("tok"), early);
  assert.equal(takeEarlyJoin("tok"), null); // once
  await early.answer;
  assert.deepEqual(
    r.calls.map(([what]) => what),
    ["join", "handOver"],
  );
});

test("a join started for another token is abandoned, not handed over", async () => {
  const r = recorder();
  const early = startEarlyJoin({
    pathname: "/join",
    hash: "#first",
    navigationType: "navigate",
    name: "Ann",
    document: page("at-once"),
    ...r,
  });
  assert.equal(takeEarlyJoin("second"), null); // the fragment changed before the page rendered
  await early.answer; // leave is called as the answer is decided
  assert.deepEqual(
    r.calls.map(([what]) => what),
    ["join", "leave"],
  );
});

/** A localStorage stand-in. */
class MemoryStorage {
  constructor() {
    this.items = new Map();
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null;
  }
  setItem(key, value) {
    this.items.set(key, String(value));
  }
}

/** A recording API: joins answer room `room`, getRoom answers by `rooms` or throws `refuse`. */
function roomApi({ room = "r1", refuse = null } = {}) {
  const calls = [];
  return {
    calls,
    join: async (options) => {
      calls.push(["join", options.token]);
      return { ...session, room: { id: room, name: "Room" } };
    },
    getRoom: async (roomId) => {
      calls.push(["getRoom", roomId]);
      if (refuse) throw refuse;
      return { room: { id: roomId, name: "Room" }, participant: session.participant, mesh_limit: 8 };
    },
  };
}

const refusal = (status) => Object.assign(new Error("no"), { status, code: "unauthorized" });

test("opening the same link again returns to the room instead of joining anew", async () => {
  const storage = new MemoryStorage();
  const r = roomApi();
  const first = await joinWithToken({ display_name: "Ann", token: "secret-token-1" }, { ...r, storage });
  assert.equal(first.out.room.id, "r1");
  assert.equal(first.returned, false);
  const again = await joinWithToken({ display_name: " Ann ", token: "secret-token-1" }, { ...r, storage });
  assert.equal(again.out.room.id, "r1");
  assert.equal(again.out.participant.id, "u1");
  assert.equal(again.returned, true);
  assert.deepEqual(r.calls, [
    ["join", "secret-token-1"],
    ["getRoom", "r1"],
  ]);
  // the link itself is not kept: only a fingerprint
  assert.ok(!storage.getItem("peerlane.inviteRooms").includes("secret-token-1"));
});

test("a join the server answers as a return (same browser, same name, by code or another link) is a return", async () => {
  const storage = new MemoryStorage();
  const r = roomApi();
  const join = async (options) => ({ ...(await r.join(options)), returned: true });
  const { out, returned } = await joinWithToken(
    { display_name: "Ann", token: "another-link" },
    { join, getRoom: r.getRoom, storage },
  );
  assert.equal(out.participant.id, "u1");
  assert.equal(returned, true);
  // so abandoning it leaves this browser's seat in the room alone (no sign-out)
  const calls = [];
  const early = joinNow({
    token: "yet-another-link",
    name: "Ann",
    join: (options) => joinWithToken(options, { join, getRoom: r.getRoom, storage }),
    handOver: (o) => calls.push(["handOver", o.room.id]),
    leave: async (roomId) => calls.push(["leave", roomId]),
  });
  early.abandon();
  await early.answer;
  await microtasksDrained();
  assert.deepEqual(calls, []);
});

test("a session that ended (signed out, expired, room gone) joins anew", async () => {
  for (const status of [401, 403, 404]) {
    const storage = new MemoryStorage();
    await joinWithToken({ display_name: "Ann", token: "t" }, { ...roomApi(), storage });
    const r = roomApi({ room: "r2", refuse: refusal(status) });
    const { out } = await joinWithToken({ display_name: "Ann", token: "t" }, { ...r, storage });
    assert.equal(out.room.id, "r2");
    assert.deepEqual(r.calls, [
      ["getRoom", "r1"],
      ["join", "t"],
    ]);
    // and the link now leads to the new room
    const later = roomApi();
    await joinWithToken({ display_name: "Ann", token: "t" }, { ...later, storage });
    assert.deepEqual(later.calls, [["getRoom", "r2"]]);
  }
});

test("another name on a link joined before is another participant: a new join", async () => {
  const storage = new MemoryStorage();
  await joinWithToken({ display_name: "Ann", token: "t" }, { ...roomApi(), storage });
  const r = roomApi({ room: "r1" });
  const { out, returned } = await joinWithToken({ display_name: "Carol", token: "t" }, { ...r, storage });
  assert.equal(returned, false);
  assert.equal(out.room.id, "r1");
  assert.deepEqual(r.calls, [
    ["getRoom", "r1"],
    ["join", "t"],
  ]);
});

test("blocked storage (reading localStorage throws) still joins", async () => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "localStorage");
  Object.defineProperty(globalThis, "localStorage", {
    configurable: true,
    get() {
      throw new Error("SecurityError");
    },
  });
  try {
    const r = roomApi();
    const { out } = await joinWithToken({ display_name: "Ann", token: "t" }, { join: r.join, getRoom: r.getRoom });
    assert.equal(out.room.id, "r1");
  } finally {
    if (descriptor) Object.defineProperty(globalThis, "localStorage", descriptor);
    else delete globalThis.localStorage;
  }
});

test("a server that cannot be reached is reported, not answered with a new join", async () => {
  const storage = new MemoryStorage();
  await joinWithToken({ display_name: "Ann", token: "t" }, { ...roomApi(), storage });
  const down = refusal(0);
  const r = roomApi({ refuse: down });
  await assert.rejects(joinWithToken({ display_name: "Ann", token: "t" }, { ...r, storage }), down);
  assert.deepEqual(r.calls, [["getRoom", "r1"]]);
});

test("other links, no storage and a full list each still join", async () => {
  const storage = new MemoryStorage();
  const r = roomApi();
  for (let i = 0; i < 55; i++) await joinWithToken({ display_name: "Ann", token: `t${i}` }, { ...r, storage });
  assert.equal(r.calls.length, 55); // every one a new link: a join each
  assert.equal(JSON.parse(storage.getItem("peerlane.inviteRooms")).length, 50); // the newest 50 kept
  const none = roomApi();
  await joinWithToken({ display_name: "Ann", token: "t54" }, { ...none, storage: undefined });
  assert.deepEqual(none.calls, [["join", "t54"]]);
  const broken = {
    getItem: () => "{not json",
    setItem: () => {
      throw new Error("full");
    },
  };
  const b = roomApi();
  await joinWithToken({ display_name: "Ann", token: "t" }, { ...b, storage: broken });
  assert.deepEqual(b.calls, [["join", "t"]]);
});

test("the token's fingerprint is stable and tells tokens apart", () => {
  assert.equal(tokenKey("abc"), tokenKey("abc"));
  assert.match(tokenKey("abc"), /^[0-9a-f]{16}$/);
  assert.notEqual(tokenKey("abc"), tokenKey("abd"));
  assert.notEqual(tokenKey("ab"), tokenKey("ba"));
});
