// What a background notification says (notify.js): the sender and room, the words or the
// file offered; nothing for a file message that is not an offer.
import assert from "node:assert/strict";
import { test } from "node:test";

import { notificationFor } from "../../src/peerlane/web/notify.js";

const message = (kind, body) => ({ id: "m1", seq: 3, sender: "p-bob", sender_name: "bob", kind, body });

test("a text says who, where and what", () => {
  assert.deepEqual(notificationFor(message("text", "bring the bread"), "Picnic"), {
    title: "bob in Picnic",
    body: "bring the bread",
  });
  const long = notificationFor(message("text", "x".repeat(300)), "Picnic");
  assert.equal(long?.body.length, 140);
  assert.ok(long?.body.endsWith("…"));
});

test("a file offer names the file; other file messages are not news", () => {
  assert.deepEqual(notificationFor(message("file", { op: "offer", name: "photo.jpg" }), "Holiday"), {
    title: "bob in Holiday",
    body: "Offers a file: photo.jpg",
  });
  assert.equal(notificationFor(message("file", { op: "cancel" }), "Holiday"), null);
  assert.equal(notificationFor(message("reaction", "👍"), "Holiday"), null);
});
