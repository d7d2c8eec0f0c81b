"""Render the app icons the web app manifest names (PNGs phones and desktops want) from
the one SVG icon, src/peerlane/web/icons/peerlane.svg, with the headless Chromium the
browser tests use (no image library needed). Run after changing the SVG:

    .venv/bin/python scripts/make_icons.py

and commit the PNGs. tests/server/test_manifest.py checks each PNG has the size its name
and the manifest say.

Two kinds: "any" (the SVG as drawn, its rounded corners transparent) and "maskable" (the
launcher crops it to a circle or squircle: a full-bleed square of the icon's blue with the
drawing inside the central 80 % safe zone).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parents[1] / "src" / "peerlane" / "web" / "icons"
CHROMIUM = os.environ.get("PEERLANE_E2E_CHROMIUM", "/usr/bin/chromium")
BACKGROUND = "#2553c7"  # the SVG's rect
SIZES = {"any": (192, 512), "maskable": (192, 512)}


def page_html(svg: str, size: int, purpose: str) -> str:
    if purpose == "maskable":
        inner = int(size * 0.8)
        pad = (size - inner) // 2
        body = (
            f'<div style="width:{size}px;height:{size}px;background:{BACKGROUND};'
            f'padding:{pad}px;box-sizing:border-box">'
            f'<img src="data:image/svg+xml,{quote(svg)}" width="{inner}" height="{inner}"></div>'
        )
    else:
        body = f'<img src="data:image/svg+xml,{quote(svg)}" width="{size}" height="{size}">'
    return (
        f"<!doctype html><html><body style='margin:0;background:transparent'>{body}</body></html>"
    )


def main() -> None:
    svg = (ICONS / "peerlane.svg").read_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for purpose, sizes in SIZES.items():
            for size in sizes:
                page = browser.new_page(viewport={"width": size, "height": size})
                page.set_content(page_html(svg, size, purpose))
                name = f"peerlane-{'maskable-' if purpose == 'maskable' else ''}{size}.png"
                page.screenshot(
                    path=str(ICONS / name),
                    omit_background=True,
                    clip={"x": 0, "y": 0, "width": size, "height": size},
                )
                page.close()
                print(ICONS / name)
        browser.close()


if __name__ == "__main__":
    main()
