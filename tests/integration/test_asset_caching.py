"""Caching of the web client's files (issue #16): the pages load every file from
``/app/<version>/``, immutable for a year (a CDN in front may keep them); the pages,
the service worker and the manifest are revalidated on every use."""

from __future__ import annotations

import re

import httpx

from peerlane.server.web_pages import WEB
from support import ServerProcess

IMMUTABLE = "public, max-age=31536000, immutable"
PAGES = ("/", "/r/abc", "/join", "/share", "/s")
# Every URL a page names: src and href attributes, and the modules app.js loads next.
NAMED = re.compile(
    r'(?:src|href)="(/[^"]+)"|<meta name="peerlane:(?:next|later)" content="([^"]+)"'
)


def named_urls(html: str) -> set[str]:
    urls: set[str] = set()
    for one, listed in NAMED.findall(html):
        urls.update([one] if one else listed.split())
    return urls


def test_what_the_pages_load_is_immutable_and_the_pages_are_revalidated(
    server: ServerProcess, http: httpx.Client
) -> None:
    prefixes = set()
    for path in PAGES:
        page = http.get(path)
        assert page.status_code == 200, path
        assert page.headers["cache-control"] == "no-cache", path
        urls = named_urls(page.text)
        assert "/static/manifest.webmanifest" in urls, path  # a stable name
        versioned = {u for u in urls if u.startswith("/app/")}
        assert versioned, path
        # npm packages load by the stable URLs the import map names (the map is an inline
        # script allowed by its CSP hash): revalidated like every /static/ file, so an
        # update never mixes versions, but not immutable (yet).
        stable = {u for u in urls - versioned if not u.startswith("/static/vendor/")}
        assert stable == {"/static/manifest.webmanifest"}, path
        prefixes |= {re.match(r"/app/[0-9a-f]{16}/", u)[0] for u in versioned}  # type: ignore[index]
    [prefix] = prefixes  # one version for every page
    sw = http.get("/sw.js")
    assert sw.headers["cache-control"] == "no-cache"
    assert f'"assets": "{prefix}"' in sw.text
    listed = re.findall(r'"(/app/[^"]+[^/"])"', sw.text.partition("\n")[0])  # the files
    for url in sorted(set(listed) | {u for p in PAGES for u in named_urls(http.get(p).text)}):
        r = http.get(url)
        assert r.status_code == 200, url
        if url.startswith("/static/"):
            assert r.headers["cache-control"] == "no-cache", url
            continue
        assert r.headers["cache-control"] == IMMUTABLE, url
        assert r.content == (WEB / url.removeprefix(prefix)).read_bytes(), url
        assert r.headers["etag"], url
    for url in ("/static/app.js", "/static/manifest.webmanifest", "/static/icons/peerlane.svg"):
        r = http.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "no-cache", url


def test_another_version_or_no_file_is_a_404_that_no_cache_keeps(
    server: ServerProcess, http: httpx.Client
) -> None:
    prefix = re.search(r'"(/app/[0-9a-f]{16}/)app\.js"', http.get("/").text)
    assert prefix
    assert http.get(prefix[1] + "app.js").status_code == 200
    for url in (
        "/app/0123456789abcdef/app.js",  # a version that is not the current one
        "/app/app.js",
        "/app/",
        prefix[1] + "no-such-file.js",
        prefix[1] + "%2e%2e/%2e%2e/server/app.py",
    ):
        r = http.get(url)
        assert r.status_code == 404, url
        assert r.json()["error"]["code"] == "not_found", url
        assert "immutable" not in r.headers.get("cache-control", ""), url
    r = http.post(prefix[1] + "app.js")
    assert r.status_code == 405
