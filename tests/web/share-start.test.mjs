// A stopped share's upload resumed (web/share-start.js resumeShare): the files picked
// again are matched to the ones left by name and size; the finished ones stay done.
import assert from "node:assert/strict";
import { test } from "node:test";

import { resumeShare } from "../../src/peerlane/web/share-start.js";

/** @param {string} name @param {number} size @param {string} [path] */
function file(name, size, path = "") {
  return Object.assign(new Blob([new Uint8Array(size)], { type: "text/plain" }), { name, webkitRelativePath: path });
}

const SAVED = Object.freeze({
  id: "sh1",
  link: "https://host/s#secret",
  manage_token: "manage-1",
  expires_at: 2_000_000_000,
  max_downloads: 3,
  created_at: 1_900_000_000,
  complete: false,
  qr_svg: "<svg/>",
  files: [
    { name: "done.txt", size: 4, type: "text/plain", url: "/api/files/uploads/u1", done: true },
    { name: "dir/a.txt", size: 5, type: "text/plain", url: "/api/files/uploads/u2" },
    { name: "b.txt", size: 6, type: "text/plain", key: "k-b" },
  ],
});

test("the files picked again continue at their upload URL; one not picked is left out and named", () => {
  const a = file("a.txt", 5, "dir/a.txt");
  const resumed = resumeShare(SAVED, [a, file("b.txt", 7), file("other.txt", 6)]);
  assert.ok(resumed);
  const { share, items, missing } = resumed;
  assert.deepEqual(missing, ["b.txt"], "b.txt of another size is not the file left");
  assert.deepEqual(
    items.map((i) => [i.info.name, i.state, i.url, i.file === a]),
    [
      ["done.txt", "done", null, false],
      ["dir/a.txt", "queued", "/api/files/uploads/u2", true],
    ],
  );
  assert.deepEqual(
    share.files.map((f) => f.name),
    ["done.txt", "dir/a.txt"],
  );
  assert.equal(share.manage_token, "manage-1");
  assert.equal(share.max_downloads, 3);
  assert.equal(share.upload_url, "/api/files/uploads");
  assert.equal(share.qr_svg, "<svg/>");
});

test("an encrypted share's file keeps its key", () => {
  const resumed = resumeShare(SAVED, [file("b.txt", 6)]);
  assert.ok(resumed);
  assert.equal(resumed.items.find((i) => i.info.name === "b.txt")?.key, "k-b");
  assert.deepEqual(resumed.missing, ["dir/a.txt"]);
});

test("none of the files left picked again: nothing to resume", () => {
  assert.equal(resumeShare(SAVED, [file("a.txt", 5), file("c.txt", 6)]), null, "a.txt is dir/a.txt only with its path");
  assert.equal(resumeShare(SAVED, []), null);
});
