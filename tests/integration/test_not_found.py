"""An unknown path: a browser gets a page with a way home, an API client keeps JSON.

Both are a 404. A browser says it wants HTML in ``Accept`` when it navigates; fetch()
calls, scripts, curl and the other clients do not, and nothing under /api/ is a page.
"""

from __future__ import annotations

import httpx

from support import ServerProcess, assert_error

# What Chromium and Firefox send when they navigate to a page.
BROWSER = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,"
    "image/avif,image/webp,*/*;q=0.8"
}


def test_a_browser_gets_a_page_with_a_way_home(server: ServerProcess, http: httpx.Client):
    for path in ("/no/such/page", "/r", "/static/no-such-file.js"):
        r = http.get(path, headers=BROWSER)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html"), path
        page = r.text
        assert "<title>Page not found" in page
        assert '<a class="btn primary wide" href="/">' in page  # the way home
        assert '<link rel="stylesheet" href="/static/app.css">' in page  # the app's look
        assert "<script" not in page  # the page works without the client
        assert "{" not in page  # no raw JSON
        assert "default-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-request-id"]
        assert r.headers["vary"] == "Accept"  # a cache keeps the page and the JSON apart
        head = http.head(path, headers=BROWSER)
        assert head.status_code == 404
        assert head.headers["content-type"].startswith("text/html")


def test_api_clients_keep_the_json_error(server: ServerProcess, http: httpx.Client):
    cases = [
        ("/no/such/page", {}),  # httpx, curl: Accept */*
        ("/no/such/page", {"accept": "application/json"}),
        ("/no/such/page", {"accept": "text/html;q=0, application/json"}),  # refuses HTML
        ("/api/no/such/thing", BROWSER),  # nothing under /api/ is a page
        ("/api/rooms/nosuchroom/nothing", BROWSER),
    ]
    for path, headers in cases:
        r = http.get(path, headers=headers)
        assert r.headers["content-type"].startswith("application/json"), (path, headers)
        assert_error(r, 404, "not_found")
        if not path.startswith("/api/"):
            assert r.headers["vary"] == "Accept", (path, headers)
    # A method a path does not take is still the JSON 405, for browsers too.
    assert_error(http.post("/healthz", headers=BROWSER), 405, "bad_request")
