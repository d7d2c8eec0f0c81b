// ui/form-errors.js: the server's validation reply in plain words (issue #10, rough edge 11).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../src/peerlane/web/api.js";
import { clip, formErrorText, NAME_MAX } from "../../src/peerlane/web/ui/form-errors.js";

/** The server's 422 for a field (server/app.py's RequestValidationError handler). */
const invalid = (/** @type {string} */ detail) => new ApiError(422, "invalid_message", `Invalid request: ${detail}`);

test("the server's validation reply names the field in plain words, never its own wording", () => {
  const name = formErrorText(invalid("display_name: String should have at most 40 characters"));
  assert.match(name, /^Your name can be at most 40 characters/);
  const room = formErrorText(invalid("name: String should have at most 80 characters"));
  assert.match(room, /^The room name can be at most 80 characters/);
  assert.match(formErrorText(invalid("code: String should have at most 100 characters")), /room code/);
  for (const text of [name, room, formErrorText(invalid("something_else: Field required"))]) {
    assert.doesNotMatch(text, /Invalid request|String should|display_name|Field required/);
  }
});

test("other errors keep their words; a network failure says so", () => {
  assert.equal(formErrorText(new ApiError(404, "room_not_found", "No such room.")), "No such room.");
  assert.match(formErrorText(new TypeError("Failed to fetch")), /Can't reach the server/);
  assert.equal(formErrorText(null, "Fallback."), "Fallback.");
});

test("clip cuts to whole characters, as the server counts them, and says whether it cut", () => {
  assert.deepEqual(clip("Ann", NAME_MAX), { text: "Ann", cut: false });
  const long = clip("x".repeat(10_000), NAME_MAX);
  assert.equal(long.text.length, NAME_MAX);
  assert.equal(long.cut, true);
  const emoji = clip("😀".repeat(41), NAME_MAX);
  assert.equal(Array.from(emoji.text).length, NAME_MAX);
  assert.equal(emoji.text, "😀".repeat(40));
});
