// The share page's upload queue (web/share-uploads.js) against recording fakes: a tus
// upload whose every call the test finishes (or fails) by hand, and a store of the one
// share this browser remembers.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ERROR_CODES } from "../../src/peerlane/web/protocol.js";
import { UploadItem, UploadQueue } from "../../src/peerlane/web/share-uploads.js";

const SHARE = Object.freeze({
  id: "sh1",
  link: "https://host/s#secret",
  manage_token: "manage-1",
  expires_at: 2_000_000_000,
  max_downloads: null,
  size_limit: 0,
  upload_url: "/api/files/uploads",
  qr_svg: "",
});

/** @param {string} name @param {number} size */
function file(name, size) {
  return Object.assign(new Blob([new Uint8Array(size)], { type: "text/plain" }), { name, webkitRelativePath: "" });
}

/** An error as the tus client throws it. */
function refusal(status, code) {
  return Object.assign(new Error(`refused: ${code}`), { status, code });
}

/**
 * A recording tus upload: each call waits until the test finishes or fails it. `started(n)`
 * waits for the n-th call (1-based), and `busy`/`most` say how many run at once.
 */
function fakeUpload() {
  /** @type {{file: Blob, options: any, done: (r?: any) => void, fail: (e: unknown) => void}[]} */
  const calls = [];
  /** @type {{n: number, resolve: () => void}[]} */
  const waiters = [];
  const state = { busy: 0, most: 0 };
  /** @type {import("../../src/peerlane/web/tus.js").upload} */
  const upload = (blob, options) =>
    new Promise((resolve, reject) => {
      state.busy += 1;
      state.most = Math.max(state.most, state.busy);
      const end = () => (state.busy -= 1);
      const call = {
        file: blob,
        options,
        done: (r = { url: "u", fileId: "f" }) => {
          end();
          resolve(r);
        },
        fail: (e) => {
          end();
          reject(e);
        },
      };
      options.signal?.addEventListener("abort", () => call.fail(new DOMException("aborted", "AbortError")));
      calls.push(call);
      for (const w of waiters.splice(0)) {
        if (calls.length >= w.n) w.resolve();
        else waiters.push(w);
      }
    });
  /** @param {number} n */
  const started = (n) =>
    calls.length >= n
      ? Promise.resolve(calls[n - 1])
      : new Promise((resolve) => waiters.push({ n, resolve })).then(() => calls[n - 1]);
  return { upload, calls, started, state };
}

/** The share this browser remembers, and every change made to it. */
function fakeStore(files) {
  const saved = { ...SHARE, created_at: 0, complete: false, files: files.map((f) => ({ ...f })) };
  const changes = [];
  return {
    saved,
    changes,
    updateShare: (id, change) => {
      changes.push(id);
      if (id === saved.id) change(saved);
    },
  };
}

/** @param {UploadQueue} queue */
function record(queue) {
  const seen = [];
  queue.addEventListener("change", (e) => seen.push(`${e.detail.info.name}:${e.detail.state}`));
  return seen;
}

function setup(names = ["a.txt", "b.txt"]) {
  const files = names.map((n, i) => file(n, 10 * (i + 1)));
  const store = fakeStore(files.map((f) => ({ name: f.name, size: f.size, type: f.type })));
  const tus = fakeUpload();
  const items = files.map((f) => new UploadItem(f));
  const queue = new UploadQueue(SHARE, items, {
    upload: tus.upload,
    updateShare: store.updateShare,
    fetch: async () => new Response(),
  });
  return { files, store, tus, items, queue, seen: record(queue) };
}

test("the files go up one at a time, each one's URL and completion remembered", async () => {
  const { store, tus, items, queue, seen } = setup();
  const outcome = queue.run();
  const first = await tus.started(1);
  assert.equal(first.options.metadata.share, "sh1");
  assert.equal(first.options.metadata.name, "a.txt");
  assert.equal(first.options.url, null);
  assert.equal(items[1].state, "queued");
  first.options.onUrl("/api/files/uploads/up-a");
  first.options.onProgress({ offset: 4, sent: 4 });
  assert.equal(items[0].sent, 4);
  assert.equal(store.saved.files[0].url, "/api/files/uploads/up-a");
  first.done();
  const second = await tus.started(2);
  assert.equal(second.options.metadata.name, "b.txt");
  second.done();
  assert.equal(await outcome, "done");
  assert.equal(tus.state.most, 1);
  assert.deepEqual(
    items.map((i) => [i.state, i.sent]),
    [
      ["done", 10],
      ["done", 20],
    ],
  );
  assert.deepEqual(
    store.saved.files.map((f) => f.done),
    [true, true],
  );
  assert.deepEqual(seen, ["a.txt:uploading", "a.txt:done", "b.txt:uploading", "b.txt:done"]);
  assert.equal(queue.running, false);
});

test("a failed file does not stop the others; Retry resumes it at its remembered URL", async () => {
  const { store, tus, items, queue } = setup();
  const outcome = queue.run();
  const first = await tus.started(1);
  first.options.onUrl("/api/files/uploads/up-a");
  first.fail(refusal(0, ERROR_CODES.UNAVAILABLE));
  (await tus.started(2)).done();
  assert.equal(await outcome, "failed");
  assert.equal(items[0].state, "failed");
  assert.equal(items[0].final, false);
  assert.equal(items[0].error.code, ERROR_CODES.UNAVAILABLE);
  assert.equal(store.saved.files[0].done, undefined);

  const again = queue.retry(items[0]);
  const third = await tus.started(3);
  assert.equal(third.options.url, "/api/files/uploads/up-a");
  assert.equal(items[0].error, null);
  third.done();
  assert.equal(await again, "done");
  assert.deepEqual(
    store.saved.files.map((f) => f.done),
    [true, true],
  );
});

for (const [status, code] of [
  [413, ERROR_CODES.SHARE_QUOTA_EXCEEDED],
  [413, ERROR_CODES.FILE_TOO_LARGE],
  [410, ERROR_CODES.SHARE_EXPIRED],
  [507, ERROR_CODES.STORAGE_QUOTA_EXCEEDED],
  [404, ERROR_CODES.SHARE_NOT_FOUND],
]) {
  test(`a refusal retrying cannot get past (${code}) is final: Retry does not send it again`, async () => {
    const { tus, items, queue } = setup(["a.txt"]);
    const outcome = queue.run();
    (await tus.started(1)).fail(refusal(status, code));
    assert.equal(await outcome, "failed");
    assert.equal(items[0].final, true);
    assert.equal(await queue.retry(items[0]), "failed");
    assert.equal(tus.calls.length, 1);
  });
}

test("cancel aborts the upload under way, and what was queued never starts", async () => {
  const { tus, items, queue, seen } = setup(["a.txt", "b.txt", "c.txt"]);
  const outcome = queue.run();
  const first = await tus.started(1);
  queue.cancel();
  assert.equal(first.options.signal.aborted, true);
  assert.equal(await outcome, "cancelled");
  assert.deepEqual(
    items.map((i) => i.state),
    ["cancelled", "cancelled", "cancelled"],
  );
  assert.equal(tus.calls.length, 1);
  assert.equal(await queue.run(), "cancelled");
  assert.equal(tus.calls.length, 1);
  assert.ok(seen.includes("b.txt:cancelled") && seen.includes("a.txt:cancelled"));
});

test("a retry while the queue runs joins that run: still one upload at a time", async () => {
  const { tus, items, queue } = setup(["a.txt", "b.txt"]);
  const outcome = queue.run();
  (await tus.started(1)).fail(refusal(503, ERROR_CODES.UNAVAILABLE));
  const second = await tus.started(2);
  const joined = queue.retry(items[0]);
  assert.equal(joined, outcome);
  assert.equal(items[0].state, "queued");
  assert.equal(tus.calls.length, 2);
  second.done();
  (await tus.started(3)).done();
  assert.equal(await outcome, "done");
  assert.equal(tus.state.most, 1);
  assert.deepEqual(
    tus.calls.map((c) => c.options.metadata.name),
    ["a.txt", "b.txt", "a.txt"],
  );
});

test("a resumed share: files up already are done, the others continue at their URLs", async () => {
  const f = file("b.txt", 20);
  const store = fakeStore([
    { name: "a.txt", size: 10, type: "text/plain", done: true },
    { name: "b.txt", size: 20, type: "text/plain", url: "/api/files/uploads/up-b" },
  ]);
  const tus = fakeUpload();
  const done = new UploadItem(null, store.saved.files[0]);
  const pending = new UploadItem(f, store.saved.files[1]);
  pending.url = "/api/files/uploads/up-b";
  const queue = new UploadQueue(SHARE, [done, pending], { upload: tus.upload, updateShare: store.updateShare });
  assert.equal(done.state, "done");
  const outcome = queue.run();
  const call = await tus.started(1);
  assert.equal(call.file, f);
  assert.equal(call.options.url, "/api/files/uploads/up-b");
  call.done();
  assert.equal(await outcome, "done");
  assert.equal(tus.calls.length, 1);
  assert.deepEqual(
    store.saved.files.map((x) => x.done),
    [true, true],
  );
});

test("the manage token goes with every request of the uploads, and no cookie", async () => {
  const seen = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    seen.push({ input, auth: new Headers(init?.headers).get("Authorization"), credentials: init?.credentials });
    return new Response(null, { status: 204 });
  };
  try {
    const tus = fakeUpload();
    const queue = new UploadQueue(SHARE, [new UploadItem(file("a.txt", 1))], {
      upload: tus.upload,
      updateShare: () => {},
    });
    const outcome = queue.run();
    const call = await tus.started(1);
    await call.options.fetch("/api/files/uploads", { method: "POST", headers: { "Tus-Resumable": "1.0.0" } });
    call.done();
    assert.equal(await outcome, "done");
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.deepEqual(seen, [{ input: "/api/files/uploads", auth: "Bearer manage-1", credentials: "omit" }]);
});
