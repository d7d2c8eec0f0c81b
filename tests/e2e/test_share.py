"""Share links end to end (docs/file-transfer.md, "Share links"): upload on /share, open
the link in another browser, download, compare bytes; an expired link and a wrong link
show their messages; a deleted share's link stops working."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from e2e.helpers import MIB, random_file, sha256_file
from e2e.test_invite_qr import png_gray, read_qr

pytestmark = pytest.mark.browser

SHARE_TTL = 12  # seconds: the server's default lifetime of a share link in this test


def share_ui(
    page: Page, base: str, paths: list[Path], *, expiry: str = "", max_downloads: str = ""
) -> str:
    """On /share: pick ``paths``, optionally an expiry (the option's label) and a download
    limit, press Upload; the link once every file is uploaded."""
    if not page.url.endswith("/share"):
        page.goto(f"{base}/share")
    page.set_input_files("#share-files", [str(p) for p in paths])
    expect(page.get_by_test_id("chosen-file")).to_have_count(len(paths))
    if expiry:
        page.locator("#share-expiry").select_option(label=expiry)
    if max_downloads:
        page.locator("#share-max-downloads").fill(max_downloads)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("upload")).to_have_count(len(paths))
    link = page.get_by_test_id("share-link")
    expect(link).to_be_visible(timeout=120_000)
    for row in page.get_by_test_id("upload").all():
        expect(row).to_have_attribute("data-state", "done")
        expect(row.get_by_test_id("upload-status")).to_have_text("Uploaded")
    return link.inner_text().strip()


def poll_share_page(page: Page, check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Reload the download page (/s#...) until ``check()`` is truthy once it has shown
    either its files or a problem; that value."""
    deadline = time.monotonic() + timeout
    while True:
        shown = page.get_by_test_id("share-file").or_(page.get_by_test_id("share-problem"))
        expect(shown.first).to_be_visible()
        if result := check():
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        page.wait_for_timeout(250)  # between two polls of the server
        page.reload()


def test_share_link_upload_download_expiry_and_wrong_link(
    server_factory, browsers, tmp_path: Path
) -> None:
    # The cleanup would delete an expired share (its link then reads "unknown"): not now.
    server = server_factory(PEERLANE_SHARE_TTL=str(SHARE_TTL), PEERLANE_CLEANUP_INTERVAL="3600")
    up, down = browsers.new("uploader").page, browsers.new("downloader").page
    path = tmp_path / "shared report.bin"
    sha, root = random_file(path, 12 * MIB)
    started = time.monotonic()

    # -- upload once ...
    link = share_ui(up, server.base, [path], expiry="1 hour", max_downloads="1")
    # The share key rides in the fragment after the token; the QR code (drawn in the
    # browser: the server's has no key) carries it too.
    assert re.fullmatch(re.escape(server.base) + r"/s#[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{43}", link)
    token = link.split("#", 1)[1].split(".")[0]
    expect(up.get_by_test_id("share-qr").locator("svg")).to_have_count(1)
    assert read_qr(*png_gray(up.get_by_test_id("share-qr").screenshot())) == [link]
    expires = float(up.get_by_test_id("share-expiry").get_attribute("data-expires") or 0)
    assert 3500 < expires - time.time() <= 3600, expires - time.time()
    uploaded = time.monotonic()

    # -- ... download later, in another browser.
    down.goto(link)
    row = down.get_by_test_id("share-file")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(path.name)
    with down.expect_download(timeout=60_000) as info:
        row.get_by_test_id("share-download").click()
    download = info.value
    saved = tmp_path / "downloaded.bin"
    download.save_as(saved)
    assert download.suggested_filename == path.name
    assert sha256_file(saved) == sha, "the downloaded file differs from the one uploaded"
    listed = down.evaluate(
        """async (token) => (await (await fetch('/api/shares/open', {
            method: 'POST', headers: {'content-type': 'application/json'},
            body: JSON.stringify({token}),
        })).json()).files""",
        token,
    )
    # The server holds the sealed blocks (a 16-byte tag per MiB), named "file", with the
    # name, type, size and file key only inside the sealed metadata.
    assert [(f["name"], f["size"]) for f in listed] == [("file", 12 * MIB + 12 * 16)]
    assert listed[0]["root"] != root
    assert listed[0]["sealed"].startswith("e2e1.")
    # One download allowed, one used: the page says so (after its own refresh, or ours).
    poll_share_page(
        down,
        lambda: down.evaluate(
            "document.querySelector('[data-testid=share-file]')?.dataset.exhausted === 'true'"
        ),
        20,
        "the download counted",
    )
    expect(down.get_by_test_id("share-file")).to_contain_text("Download limit reached")
    downloaded = time.monotonic()

    # -- a share that expires: the server's default lifetime (SHARE_TTL) applies when the
    # request names none, so the test drops the page's "ttl" on its way to the server.
    def no_ttl(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        body.pop("ttl", None)
        route.continue_(post_data=json.dumps(body))

    up.get_by_role("button", name="Share more files").click()
    up.route(re.compile(r"/api/shares$"), no_ttl)
    small = tmp_path / "short-lived.txt"
    small.write_text("gone soon\n")
    short_link = share_ui(up, server.base, [small])
    up.unroute(re.compile(r"/api/shares$"))
    left = float(up.get_by_test_id("share-expiry").get_attribute("data-expires") or 0) - time.time()
    assert 0 < left <= SHARE_TTL, left
    # The first share is listed under "Your shares on this device".
    expect(up.get_by_test_id("my-share")).to_have_count(1)
    expect(up.get_by_test_id("my-share")).to_contain_text(path.name)

    # Poll the link (a fresh page load each time) until the server says it expired.
    down.goto(short_link)
    state = poll_share_page(
        down,
        lambda: down.evaluate(
            "document.querySelector('[data-testid=share-problem]')?.dataset.problem ?? null"
        ),
        SHARE_TTL + 30,
        "the short-lived link to expire",
    )
    assert state == "expired", state
    problem = down.get_by_test_id("share-problem")
    expect(problem.get_by_role("heading")).to_have_text("This link has expired")
    expect(problem.get_by_role("alert")).to_contain_text("Ask the sender for a new link")
    expired = time.monotonic()

    # -- a wrong link: a token nobody issued, and the real one with a character changed.
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (f"{server.base}/s#{'x' * len(token)}", f"{server.base}/s#{wrong}"):
        down.goto("about:blank")
        down.goto(bad)
        problem = down.get_by_test_id("share-problem")
        expect(problem).to_have_attribute("data-problem", "unknown")
        expect(problem.get_by_role("heading")).to_have_text("This link doesn't work")
        expect(problem.get_by_role("alert")).to_contain_text("Check that you copied the whole link")

    # -- deleting the first share (from "Your shares") makes its link unknown too.
    up.once("dialog", lambda dialog: dialog.accept())
    up.get_by_test_id("my-share").get_by_role("button", name=re.compile("^Delete")).click()
    expect(up.get_by_test_id("my-share")).to_have_count(0)
    down.goto("about:blank")
    down.goto(link)
    expect(down.get_by_test_id("share-problem")).to_have_attribute("data-problem", "unknown")
    print(
        f"share: upload {uploaded - started:.1f} s, download {downloaded - uploaded:.1f} s, "
        f"expiry seen {expired - downloaded:.1f} s later, total {time.monotonic() - started:.1f} s"
    )
