import assert from "node:assert/strict";
import { test } from "node:test";

import { inviteToken, joinNow, takeEarlyJoin, whenShown } from "../../src/peerlane/web/ui/join-now.js";

const session = { room: { id: "r1", name: "Room" }, participant: { id: "u1", name: "Ann", role: "member" }, mesh_limit: 8 };

/** A recording joinRoom and handOverSession. */
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
  };
}

test("the token is the fragment, decoded and trimmed; a malformed escape is kept as typed", () => {
  assert.equal(inviteToken("#abc-DEF_12"), "abc-DEF_12");
  assert.equal(inviteToken("#%20abc%2Fd%20"), "abc/d");
  assert.equal(inviteToken("#abc%zz"), "abc%zz");
  assert.equal(inviteToken(""), "");
});

test("with a remembered name the join goes out at once and its answer is handed over", async () => {
  const r = recorder();
  const early = joinNow({ token: "tok", name: "  Ann ", join: r.join, handOver: r.handOver });
  assert.ok(early);
  assert.equal(early.name, "Ann");
  assert.deepEqual(await early.answer, session);
  assert.deepEqual(r.calls, [["join", { display_name: "Ann", token: "tok" }], ["handOver", "r1"]]);
});

test("no name or no token: nothing is sent (the form asks)", () => {
  const r = recorder();
  assert.equal(joinNow({ token: "tok", name: "  ", join: r.join, handOver: r.handOver }), null);
  assert.equal(joinNow({ token: "", name: "Ann", join: r.join, handOver: r.handOver }), null);
  assert.deepEqual(r.calls, []);
});

test("a refused join reaches the answer and hands nothing over", async () => {
  const refused = Object.assign(new Error("This invite has expired."), { code: "invite_expired" });
  const r = recorder({ fail: refused });
  const early = joinNow({ token: "old", name: "Ann", join: r.join, handOver: r.handOver });
  await assert.rejects(early.answer, refused);
  assert.deepEqual(r.calls, [["join", { display_name: "Ann", token: "old" }]]);
});

test("a prerendered page joins only once it is shown", async () => {
  const doc = new EventTarget();
  doc.prerendering = true;
  const r = recorder();
  const early = joinNow({ token: "tok", name: "Ann", shown: whenShown(doc), join: r.join, handOver: r.handOver });
  for (let i = 0; i < 5; i++) await Promise.resolve(); // let any eager work run
  assert.deepEqual(r.calls, []);
  doc.prerendering = false;
  doc.dispatchEvent(new Event("prerenderingchange"));
  await early.answer;
  assert.equal(r.calls.length, 2);
});

test("outside a /join page nothing was started", () => {
  assert.equal(takeEarlyJoin("tok"), null);
});
