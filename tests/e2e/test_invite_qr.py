"""The invite QR code of an end-to-end encrypted room (issue #15, item 2): the browser
draws it (the server never sees the room's key, so it cannot), a QR reader (zxing-cpp, an
implementation independent of the `qr` npm package that drew it) reads exactly the invite
link with the key from it, and a second browser that opens the link it read joins and
reads the room."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
import zxingcpp
from playwright.sync_api import Page, expect

from e2e.helpers import create_room_ui, invite_link, join_by_link_ui, send_ui, wait_messages

pytestmark = pytest.mark.browser

QR_SVG = "[data-testid=invite-qr] svg"
RUN = re.compile(r"M(\d+) (\d+)\.5h(\d+)")
QUIET_ZONE = 2  # modules, as the server's segno QR code has


def drawn_modules(page: Page) -> list[list[bool]]:
    """The dark modules of the QR code on the page, quiet zone included, from its path."""
    svg = page.locator(QR_SVG)
    expect(svg).to_be_visible()
    view_box = svg.get_attribute("viewBox") or ""
    scale_attr = svg.locator("path").get_attribute("transform") or ""
    d = svg.locator("path").get_attribute("d") or ""
    scale = int(re.fullmatch(r"scale\((\d+)\)", scale_attr).group(1))  # type: ignore[union-attr]
    size = int(view_box.split()[2]) // scale
    grid = [[False] * size for _ in range(size)]
    assert RUN.sub("", d) == "", "the path is only row runs"
    for x, y, n in RUN.findall(d):
        for i in range(int(n)):
            grid[int(y)][int(x) + i] = True
    return grid


def read_qr(gray: bytes, width: int, height: int) -> list[str]:
    """The texts of the QR codes a QR reader finds in an 8-bit grayscale image."""
    found = zxingcpp.read_barcodes(memoryview(gray).cast("B", (height, width)))
    return [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]


def painted(grid: list[list[bool]], pixels_per_module: int = 4) -> tuple[bytes, int, int]:
    """The modules painted black on white, as a grayscale image."""
    side = len(grid) * pixels_per_module
    image = bytearray(b"\xff" * side * side)
    for y in range(side):
        row = grid[y // pixels_per_module]
        for x in range(side):
            if row[x // pixels_per_module]:
                image[y * side + x] = 0
    return bytes(image), side, side


def png_gray(png: bytes) -> tuple[bytes, int, int]:
    """A screenshot (8-bit RGB or RGBA PNG, not interlaced) as grayscale: what a camera
    would see of the panel."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,), kind = struct.unpack(">I", png[pos : pos + 4]), png[pos + 4 : pos + 8]
        chunk = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert (depth, interlace) == (8, 0), (depth, interlace)
            assert color in (2, 6), color
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    previous, gray = bytearray(stride), bytearray()
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):  # undo the PNG row filter (None, Sub, Up, Average, Paeth)
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (
                    line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)
                ) & 0xFF
        gray += bytes(sum(line[x : x + 3]) // 3 for x in range(0, stride, channels))
        previous = line
    return bytes(gray), width, height


def test_encrypted_room_invite_qr_is_drawn_in_the_browser_and_opens_the_room(
    server, browsers
) -> None:
    a = browsers.new("alice").page
    asked_for_server_qr: list[str] = []
    a.on("request", lambda r: asked_for_server_qr.append(r.url) if "qr.svg" in r.url else None)
    create_room_ui(a, server.base, "alice", "QR room")
    expect(a.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    link = invite_link(a)
    assert "." in link.split("#", 1)[1], "the room key rides in the link's fragment"

    qr_box = a.locator("[data-testid=invite-qr]")
    expect(qr_box).to_have_attribute("role", "img")
    expect(qr_box).to_have_attribute("aria-label", "QR code of the invite link")
    grid = drawn_modules(a)
    blank = [False] * len(grid)
    assert grid[:QUIET_ZONE] == grid[-QUIET_ZONE:] == [blank] * QUIET_ZONE, "quiet zone"
    assert not any(any(row[:QUIET_ZONE] + row[-QUIET_ZONE:]) for row in grid), "quiet zone"
    [scanned] = read_qr(*painted(grid))
    assert scanned == link, "the QR code is not the invite link (with the key)"
    # And as a phone's camera sees it on screen, in dark mode too (a white box around it).
    for scheme in ("light", "dark"):
        a.emulate_media(color_scheme=scheme)
        assert read_qr(*png_gray(qr_box.screenshot())) == [link], scheme
    assert asked_for_server_qr == [], "the server's QR code (without the key) was fetched"

    send_ui(a, "scanned and joined?")
    b = browsers.new("bob").page
    join_by_link_ui(b, scanned, "bob")
    expect(b.locator("h1")).to_have_text("QR room")
    wait_messages(b, ["scanned and joined?"])
    send_ui(b, "yes, via the QR code")
    wait_messages(a, ["scanned and joined?", "yes, via the QR code"])

    # A new invite: a new link, and the QR code follows it (not the old one's drawing).
    a.locator("pl-invite-panel").get_by_role("button", name="New invite").click()
    expect(a.locator("[data-testid=invite-link]")).not_to_have_text(link)
    new_link = invite_link(a)
    assert read_qr(*painted(drawn_modules(a))) == [new_link]
