// ui/file-name.js: a file name cut in the middle, never mid-word at a line's end, its
// extension always in view, the whole name in its text and title.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { fileNameEl, setFileName, splitFileName } = await import("../../src/peerlane/web/ui/file-name.js");

describe("splitFileName", () => {
  test("the tail is the extension and six characters before it; head + tail is the name", () => {
    const name = "holiday-photos-from-the-seaside-2024-07.jpeg";
    const [head, tail] = splitFileName(name);
    assert.equal(tail, "024-07.jpeg");
    assert.equal(head + tail, name);
  });

  test("a very long name without spaces keeps its end", () => {
    const name = `${"x".repeat(300)}.tar.gz`;
    const [head, tail] = splitFileName(name);
    assert.equal(tail, "xx.tar.gz");
    assert.equal(head + tail, name);
  });

  test("short names are not split", () => {
    assert.deepEqual(splitFileName("a.txt"), ["a.txt", ""]);
    assert.deepEqual(splitFileName("report.pdf"), ["report.pdf", ""]);
  });

  test("no extension, a dot file, or words after the last dot: the last six characters", () => {
    assert.deepEqual(splitFileName("a-long-name-without-any-dot"), ["a-long-name-without-a", "ny-dot"]);
    assert.equal(splitFileName(".a-very-long-hidden-configuration")[1], "ration");
    assert.equal(splitFileName("minutes.from the meeting on monday")[1], "monday");
  });

  test("an emoji is never cut in two", () => {
    const name = `${"🎉".repeat(20)}.png`;
    const [head, tail] = splitFileName(name);
    assert.equal(tail, `${"🎉".repeat(6)}.png`);
    assert.equal(head, "🎉".repeat(14));
  });
});

describe("fileNameEl", () => {
  test("screen readers get the whole name in one piece, the title too; the cut one is hidden from them", () => {
    const name = "quarterly-financial-statements-final-v2.xlsx";
    const el = fileNameEl(name, { "data-testid": "transfer-name", id: "n1" });
    const [full, shown] = el.children;
    assert.equal(full.textContent, name);
    assert.equal(full.getAttribute("data-testid"), "transfer-name");
    assert.equal(full.getAttribute("id"), "n1");
    assert.equal(full.className, "visually-hidden");
    assert.equal(el.title, name);
    assert.equal(shown.getAttribute("aria-hidden"), "true");
    assert.deepEqual(
      shown.children.map((c) => c.className),
      ["fn-head", "fn-tail"],
    );
    assert.equal(shown.textContent, name);
    setFileName(el, "b.txt");
    assert.equal(full.textContent, "b.txt");
    assert.equal(shown.children.length, 1);
  });
});
