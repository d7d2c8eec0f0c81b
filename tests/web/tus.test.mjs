import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";

import { encodeMetadata, fileIdOf, TusError, terminate, upload } from "../../src/peerlane/web/tus.js";
import { patternFile } from "./transfer-fakes.mjs";

const ENDPOINT = "http://host/api/rooms/room1/uploads";

/**
 * A recording tus server: creation, HEAD, PATCH (checking offset and checksum), DELETE.
 * `script[i]` may replace the answer to request i (a Response, or "network" to throw).
 */
function fakeTus({ script = {}, offset = 0, known = true } = {}) {
  const state = { offset, length: null, data: [], requests: [], known };
  const fetch = async (url, init = {}) => {
    const method = init.method ?? "GET";
    const headers = init.headers ?? {};
    const i = state.requests.length;
    state.requests.push({ url, method, headers, bytes: init.body?.length ?? 0 });
    const scripted = script[i];
    if (scripted === "network") throw new TypeError("fetch failed");
    if (scripted) return scripted();
    assert.equal(headers["Tus-Resumable"], "1.0.0");
    if (method === "POST") {
      state.length = Number(headers["Upload-Length"]);
      state.known = true;
      state.offset = 0;
      return new Response(null, { status: 201, headers: { Location: "/api/rooms/room1/uploads/up1" } });
    }
    if (!state.known) return json(404, "upload_not_found");
    if (method === "HEAD")
      return new Response(null, { status: 200, headers: { "Upload-Offset": String(state.offset) } });
    if (method === "PATCH") {
      if (Number(headers["Upload-Offset"]) !== state.offset) return json(409, "offset_mismatch");
      const body = init.body;
      const [alg, b64] = headers["Upload-Checksum"].split(" ");
      assert.equal(alg, "sha256");
      if (createHash("sha256").update(body).digest("base64") !== b64) return json(460, "checksum_mismatch");
      assert.equal(headers["Content-Type"], "application/offset+octet-stream");
      state.data.push(Buffer.from(body));
      state.offset += body.length;
      return new Response(null, { status: 204, headers: { "Upload-Offset": String(state.offset) } });
    }
    if (method === "DELETE") return new Response(null, { status: 204 });
    return json(400, "bad_request");
  };
  return { fetch, state };
}

function json(status, code) {
  return new Response(JSON.stringify({ error: { code, message: `refused: ${code}` } }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const noSleep = async () => {};
const CHUNK = 256 * 1024;

describe("tus client", () => {
  test("creation with base64 metadata, then PATCH chunks with sha256 checksums", async () => {
    const { fetch, state } = fakeTus();
    const file = patternFile(CHUNK * 2 + 100);
    const urls = [];
    const progress = [];
    const result = await upload(file, {
      endpoint: ENDPOINT,
      fetch,
      sleep: noSleep,
      chunkBytes: CHUNK,
      metadata: { room: "room1", name: "héllo.txt", type: "text/plain", root: "ab".repeat(32), to: null },
      onUrl: (u) => urls.push(u),
      onProgress: (p) => progress.push(p),
    });
    assert.deepEqual(result, { url: "http://host/api/rooms/room1/uploads/up1", fileId: "up1" });
    assert.deepEqual(urls, [result.url]);
    const create = state.requests[0];
    assert.equal(create.method, "POST");
    assert.equal(create.headers["Upload-Length"], String(file.size));
    const meta = Object.fromEntries(
      create.headers["Upload-Metadata"].split(",").map((p) => {
        const [k, v] = p.split(" ");
        return [k, Buffer.from(v, "base64").toString("utf8")];
      }),
    );
    assert.deepEqual(
      meta,
      { room: "room1", name: "héllo.txt", type: "text/plain", root: "ab".repeat(32) },
      "null values left out",
    );
    assert.deepEqual(
      state.requests.slice(1).map((r) => [r.method, r.headers["Upload-Offset"]]),
      [
        ["PATCH", "0"],
        ["PATCH", String(CHUNK)],
        ["PATCH", String(2 * CHUNK)],
      ],
    );
    assert.deepEqual(Buffer.concat(state.data), Buffer.from(await file.arrayBuffer()));
    assert.deepEqual(progress.at(-1), { offset: file.size, sent: file.size });
  });

  test("resume by URL: HEAD gives the offset, only the rest is sent", async () => {
    const { fetch, state } = fakeTus({ offset: CHUNK });
    const file = patternFile(CHUNK * 2);
    const result = await upload(file, {
      endpoint: ENDPOINT,
      fetch,
      sleep: noSleep,
      chunkBytes: CHUNK,
      metadata: {},
      url: "http://host/api/rooms/room1/uploads/up1",
    });
    assert.equal(result.fileId, "up1");
    assert.deepEqual(
      state.requests.map((r) => r.method),
      ["HEAD", "PATCH"],
    );
    assert.equal(state.requests[1].headers["Upload-Offset"], String(CHUNK));
    assert.equal(state.requests[1].bytes, CHUNK);
  });

  test("a kept URL the server forgot: a new upload from the start", async () => {
    const { fetch, state } = fakeTus({ known: false });
    const urls = [];
    await upload(patternFile(100), {
      endpoint: ENDPOINT,
      fetch,
      sleep: noSleep,
      metadata: {},
      url: "http://host/api/rooms/room1/uploads/old",
      onUrl: (u) => urls.push(u),
    });
    assert.deepEqual(
      state.requests.map((r) => r.method),
      ["HEAD", "POST", "PATCH"],
    );
    assert.equal(urls.length, 1);
  });

  test("network failure and 409: ask HEAD where to go on, then continue", async () => {
    const { fetch, state } = fakeTus({ script: { 2: () => json(409, "offset_mismatch"), 4: "network" } });
    const retries = [];
    const file = patternFile(CHUNK * 3);
    await upload(file, {
      endpoint: ENDPOINT,
      fetch,
      sleep: noSleep,
      chunkBytes: CHUNK,
      metadata: {},
      onRetry: (e) => retries.push(e.code),
    });
    assert.deepEqual(
      state.requests.map((r) => r.method),
      ["POST", "PATCH", "PATCH", "HEAD", "PATCH", "HEAD", "PATCH", "PATCH"],
    );
    assert.deepEqual(retries, ["unavailable"]);
    assert.equal(state.offset, file.size);
  });

  test("a checksum mismatch (460) sends the chunk again", async () => {
    const { fetch, state } = fakeTus({ script: { 1: () => json(460, "checksum_mismatch") } });
    await upload(patternFile(100), { endpoint: ENDPOINT, fetch, sleep: noSleep, metadata: {} });
    assert.deepEqual(
      state.requests.map((r) => r.method),
      ["POST", "PATCH", "HEAD", "PATCH"],
    );
  });

  test("a permanent refusal throws a TusError with the server's code", async () => {
    const { fetch } = fakeTus({ script: { 0: () => json(413, "room_quota_exceeded") } });
    await assert.rejects(
      upload(patternFile(100), { endpoint: ENDPOINT, fetch, sleep: noSleep, metadata: {} }),
      (err) => {
        assert.ok(err instanceof TusError);
        assert.equal(err.status, 413);
        assert.equal(err.code, "room_quota_exceeded");
        assert.equal(err.transient, false);
        return true;
      },
    );
  });

  test("gives up after repeated transient failures", async () => {
    const script = {};
    for (let i = 1; i < 40; i++) script[i] = "network";
    const { fetch } = fakeTus({ script });
    await assert.rejects(
      upload(patternFile(100), { endpoint: ENDPOINT, fetch, sleep: noSleep, metadata: {} }),
      /Cannot reach/,
    );
  });

  test("an empty file is done at creation", async () => {
    const { fetch, state } = fakeTus();
    await upload(new File([], "empty"), { endpoint: ENDPOINT, fetch, sleep: noSleep, metadata: {} });
    assert.deepEqual(
      state.requests.map((r) => r.method),
      ["POST"],
    );
  });

  test("abort stops the upload", async () => {
    const { fetch } = fakeTus();
    const ctrl = new AbortController();
    ctrl.abort();
    await assert.rejects(
      upload(patternFile(100), { endpoint: ENDPOINT, fetch, sleep: noSleep, metadata: {}, signal: ctrl.signal }),
    );
  });

  test("terminate, metadata encoding, file ids", async () => {
    const { fetch, state } = fakeTus();
    await terminate("http://host/api/rooms/room1/uploads/up1", { fetch });
    assert.equal(state.requests[0].method, "DELETE");
    assert.equal(encodeMetadata({ a: "x", b: "", c: null, d: undefined }), "a eA==");
    assert.equal(fileIdOf("http://host/api/rooms/r/uploads/abc123"), "abc123");
  });
});
