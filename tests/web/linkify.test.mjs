// Links in messages (rough edge 7): linkify.js finds http(s) addresses only; the message
// row shows them as <a> elements built from nodes, opening in a new tab safely.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { linkify, safeHref } from "../../src/peerlane/web/linkify.js";
import { installFakeDom } from "./fake-dom.mjs";

installFakeDom();
const { fillRow, rowContext } = await import("../../src/peerlane/web/ui/message-row.js");

const links = (text) => linkify(text).filter((p) => p.href);

describe("linkify", () => {
  test("plain text stays one plain part", () => {
    assert.deepEqual(linkify("hello there"), [{ text: "hello there" }]);
    assert.deepEqual(linkify(""), [{ text: "" }]);
  });

  test("http and https addresses become links; the parts join to the text unchanged", () => {
    const text = "see https://example.org/a?b=1#c and http://127.0.0.1:8080/x, thanks";
    const parts = linkify(text);
    assert.equal(parts.map((p) => p.text).join(""), text);
    assert.deepEqual(links(text), [
      { text: "https://example.org/a?b=1#c", href: "https://example.org/a?b=1#c" },
      { text: "http://127.0.0.1:8080/x", href: "http://127.0.0.1:8080/x" },
    ]);
    assert.equal(links("HTTPS://Example.org")[0]?.href, "https://example.org/");
  });

  test("sentence punctuation and unbalanced brackets stay outside the link", () => {
    assert.equal(links("Go to https://example.org.")[0]?.text, "https://example.org");
    assert.equal(links("(at https://example.org/x)")[0]?.text, "https://example.org/x");
    assert.equal(links("https://en.wikipedia.org/wiki/Peer_(x)")[0]?.text, "https://en.wikipedia.org/wiki/Peer_(x)");
    assert.equal(links('"https://example.org/q"!')[0]?.text, "https://example.org/q");
  });

  test("other schemes never become links", () => {
    for (const text of [
      "javascript:alert(1)",
      "click javascript://example.org/%0Aalert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "https://",
      "xhttps://example.org",
    ]) {
      assert.deepEqual(links(text), [], text);
      assert.equal(
        linkify(text)
          .map((p) => p.text)
          .join(""),
        text,
      );
    }
    assert.equal(safeHref("javascript:alert(1)"), null);
    assert.equal(safeHref("data:text/plain,hi"), null);
    assert.equal(safeHref("https://example.org"), "https://example.org/");
  });

  test("markup in the text is no part of an address", () => {
    assert.equal(links('https://example.org/"><img src=x onerror=alert(1)>')[0]?.text, "https://example.org/");
  });
});

describe("message row", () => {
  const message = (body) => ({
    id: "m1",
    seq: 1,
    sender: "p2",
    sender_name: "Bea",
    body,
    ts: 1_700_000_000,
    state: "sent",
  });

  test("addresses in a message are links with target=_blank and rel=noopener noreferrer", () => {
    const row = document.createElement("div");
    const m = message("look: https://example.org/x and javascript:alert(1) <b>bold</b>");
    fillRow(row, m, rowContext(m, undefined, "p1"));
    const body = row.find((e) => e.className.includes("msg-body"))[0];
    assert.equal(body.textContent, m.body, "the text is shown unchanged");
    const anchors = body.find((e) => e.tagName === "A");
    assert.equal(anchors.length, 1);
    const a = anchors[0];
    assert.equal(a.getAttribute("href"), "https://example.org/x");
    assert.equal(a.getAttribute("target"), "_blank");
    assert.equal(a.getAttribute("rel"), "noopener noreferrer");
    assert.equal(a.textContent, "https://example.org/x");
    assert.equal(body.find((e) => e.tagName === "B").length, 0, "markup stays text");
  });
});
