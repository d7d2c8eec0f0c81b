import assert from "node:assert/strict";
import { test } from "node:test";

import {
  inviteToken,
  joinAtOnceAllowed,
  joinNow,
  startEarlyJoin,
  takeEarlyJoin,
  whenShown,
} from "../../src/peerlane/web/ui/join-now.js";

const session = { room: { id: "r1", name: "Room" }, participant: { id: "u1", name: "Ann", role: "member" }, mesh_limit: 8 };

/** A recording joinRoom, handOverSession and leaveRoom. */
function recorder({ fail = null } = {}) {
  const calls = [];
  return {
    calls,
    join: async (options) => {
      calls.push(["join", options]);
      if (fail) throw fail;
      return session;
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

const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

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
  assert.deepEqual(r.calls, [["join", { display_name: "Ann", token: "tok" }], ["handOver", "r1"]]);
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
  await settle();
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
  await early.answer;
  await settle();
  assert.deepEqual(r.calls, [["join", { display_name: "Ann", token: "tok" }], ["leave", "r1"]]);
});

test("abandoning after the answer changes nothing", async () => {
  const r = recorder();
  const early = joinNow({ token: "tok", name: "Ann", ...r });
  await early.answer;
  early.abandon();
  await settle();
  assert.deepEqual(r.calls.map(([what]) => what), ["join", "handOver"]);
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
  assert.deepEqual(r.calls.map(([what]) => what), ["join", "handOver"]);
});

test("a join started for another token is abandoned, not handed over", async () => {
  const r = recorder();
  const early = startEarlyJoin({
    pathname: "/join", hash: "#first", navigationType: "navigate", name: "Ann", document: page("at-once"), ...r,
  });
  assert.equal(takeEarlyJoin("second"), null); // the fragment changed before the page rendered
  await early.answer;
  await settle();
  assert.deepEqual(r.calls.map(([what]) => what), ["join", "leave"]);
});
