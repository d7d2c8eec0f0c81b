// The one wording of the connection status (status-text.js): room.statusText, the room
// header and the connection panel all say the same.
import assert from "node:assert/strict";
import { test } from "node:test";

import { directPeople, endedError, statusText } from "../../src/peerlane/web/status-text.js";

test("statusText: plain words and a tone for each state", () => {
  assert.deepEqual(statusText("connecting", 0), { text: "Connecting…", tone: "busy" });
  assert.deepEqual(statusText("online", 0), { text: "Connected", tone: "ok" });
  // Plain words, not "Connected — 2 direct" (issue #10, rough edge 14).
  assert.deepEqual(statusText("online", 2), { text: "Connected to 2 people directly", tone: "ok" });
  assert.deepEqual(statusText("online", 1), { text: "Connected to 1 person directly", tone: "ok" });
  assert.deepEqual(statusText("offline", 1), {
    text: "Reconnecting to the server — chatting directly with 1 person",
    tone: "warn",
  });
  assert.deepEqual(statusText("offline", 3).text, "Reconnecting to the server — chatting directly with 3 people");
  assert.deepEqual(statusText("offline", 0), {
    text: "Offline — messages will be sent when the connection returns",
    tone: "bad",
  });
  assert.deepEqual(statusText("online", 2, "removed"), { text: "Removed from this room", tone: "bad" });
  assert.equal(
    statusText("offline", 0, "closed").text,
    "Offline — messages will be sent when the connection returns",
    "a plain close is no ending",
  );
});

test("directPeople counts people, not tabs, reached over a channel of their own; not me", () => {
  const peers = [
    { peer_id: "p1", participant_id: "alice", path: "direct" },
    { peer_id: "p2", participant_id: "alice", path: "turn" }, // alice's second tab
    { peer_id: "p3", participant_id: "bob", path: "server" },
    { peer_id: "p4", participant_id: "me", path: "direct" }, // my other tab
    { peer_id: "p5", path: "direct" }, // not yet named: counted by its peer id
  ];
  assert.equal(directPeople(peers, "me"), 2);
});

test("endedError: the error a room that ended reports, in plain words", () => {
  assert.deepEqual(endedError("room_gone"), { code: "room_not_found", message: "This room has been deleted." });
  assert.equal(endedError("closed"), undefined);
});
