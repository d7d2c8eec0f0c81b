// ui/transfer-text.js: the engine's note and error codes in words, one place for all of
// them; every code the engine emits has words.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { TransferError } from "../../src/peerlane/web/transfer.js";
import {
  actionErrorText,
  errorText,
  newsText,
  noteText,
  retryStalled,
  stateText,
  whoText,
  withRecipient,
} from "../../src/peerlane/web/ui/transfer-text.js";

const WEB = new URL("../../src/peerlane/web/", import.meta.url);
const UNKNOWN = errorText({ code: "no-such-code" });

/** Every code the engine's modules emit: `code: "…"`, DownloadError("…"), TransferError("…"), a progress note. */
function emittedCodes() {
  const codes = new Set();
  for (const name of readdirSync(WEB).filter((n) => /^transfer.*\.js$/.test(n))) {
    const source = readFileSync(new URL(name, WEB), "utf8");
    for (const m of source.matchAll(
      /code: "([a-z-]+)"|(?:DownloadError|TransferError)\("([a-z-]+)"|_progressNote\(live, "([a-z-]+)"/g,
    )) {
      codes.add(m[1] ?? m[2] ?? m[3]);
    }
  }
  return codes;
}

test("every note and error code the engine emits has words", () => {
  const codes = emittedCodes();
  assert.ok(codes.size >= 25, `found ${[...codes]}`);
  for (const code of codes) {
    const words =
      noteText({
        code,
        name: "Bob",
        percent: 40,
        seconds: 30,
        status: 503,
        detail: "x",
        needed: 1,
        free: 0,
        text: "t",
      }) || errorText({ code, detail: "x", needed: 1, free: 0, text: "t" });
    assert.ok(words && words !== UNKNOWN, `no words for ${code}`);
  }
});

test("notes in words", () => {
  assert.equal(noteText({ code: "preparing", percent: 40 }), "Preparing… 40 %");
  assert.equal(noteText({ code: "checking" }), "Checking the file…");
  assert.equal(noteText({ code: "waiting-accept", name: "Bob" }), "Waiting for Bob to accept");
  assert.equal(noteText({ code: "waiting-accept", name: null }), "Waiting for someone to accept");
  assert.equal(noteText({ code: "stalled", seconds: 30 }), "No progress for 30 s");
  assert.equal(noteText({ code: "server-status", status: 503 }), "The server answered 503; retrying…");
  assert.equal(noteText(null), "");
  assert.equal(noteText({ code: "a-newer-note" }), "", "an unknown note: the state's own words show instead");
});

test("errors in words; sizes with the one byte formatter", () => {
  assert.equal(
    errorText({ code: "no-space", needed: 5_200_000_000, free: 1_000_000_000 }),
    "Not enough storage space in this browser for this file (5.2 GB needed, 1.0 GB free).",
  );
  assert.equal(
    errorText({ code: "cannot-store", detail: "QuotaExceededError" }),
    "This browser cannot store the file: QuotaExceededError",
  );
  assert.equal(
    errorText({ code: "text", text: "Words saved by an older version." }),
    "Words saved by an older version.",
  );
  assert.equal(errorText(null), "");
  assert.equal(actionErrorText(new TransferError("not-same-file", "x")), errorText({ code: "not-same-file" }));
  assert.equal(actionErrorText(new Error("Plain words")), "Plain words");
  assert.equal(actionErrorText(null), "That didn't work; try again.");
});

test("screen-reader news says a failure's error in words", () => {
  const view = {
    direction: "in",
    state: "failed",
    name: "a.bin",
    senderName: "Alice",
    size: 3,
    error: { code: "integrity-failed" },
  };
  assert.equal(newsText(view), "a.bin failed. The file did not pass the integrity check.");
});

// Issue #10, rough edge 3: the engine only knows the names of people it has reached, so
// a file offered to someone offline read "to someone"; the roster names them.
test("an offer to someone offline names them and says they are offline", () => {
  const offer = {
    id: "t1",
    direction: "out",
    state: "waiting",
    to: "p-dave",
    toName: null,
    note: { code: "waiting-accept", name: null },
  };
  const roster = new Map([["p-dave", { name: "Dave", online: false }]]);
  const named = withRecipient(/** @type {any} */ (offer), (id) => roster.get(id));
  assert.equal(whoText(named), "From you to Dave (offline)");
  assert.equal(noteText(named.note), "Waiting for Dave to come online");
  assert.equal(stateText(named), "Waiting for Dave to come online");

  roster.set("p-dave", { name: "Dave", online: true });
  const back = withRecipient(/** @type {any} */ (offer), (id) => roster.get(id));
  assert.equal(whoText(back), "From you to Dave");
  assert.equal(noteText(back.note), "Waiting for Dave to accept");

  // Offers to everyone, incoming offers and people the roster doesn't know are left as they are.
  const everyone = { ...offer, to: null };
  assert.equal(
    withRecipient(/** @type {any} */ (everyone), (id) => roster.get(id)),
    everyone,
  );
  const stranger = { ...offer, to: "p-nobody" };
  assert.equal(whoText(withRecipient(/** @type {any} */ (stranger), (id) => roster.get(id))), "From you to one person");
});

test("retry all starts every stalled transfer again, and only those", () => {
  const retried = [];
  const engine = {
    list: () => [
      { id: "a", state: "stalled" },
      { id: "b", state: "receiving" },
      { id: "c", state: "stalled" },
      { id: "d", state: "failed" },
    ],
    retry: (id) => retried.push(id),
  };
  assert.deepEqual(retryStalled(engine), ["a", "c"]);
  assert.deepEqual(retried, ["a", "c"]);
});
