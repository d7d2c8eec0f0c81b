"""The answer to an unknown path: a page for a browser, the JSON error for everyone else.

A person who follows a stale link or mistypes an address should see words and a way
home, not ``{"error": ...}``. API clients (fetch(), curl, scripts) keep the one error
shape. Both are a 404. The page is plain HTML in the app's look (its stylesheet, the
entry-page layout of the home page); no script, so it shows even when the client's
modules are the missing thing.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path

from starlette.requests import Request

WEB = Path(__file__).resolve().parent.parent / "web"
TITLE = "Page not found"


def may_be_page(request: Request) -> bool:
    """Not under ``/api/``, where everything is JSON whatever the client accepts."""
    path = request.url.path
    return not (path.startswith("/api/") or path == "/api")


def wants_page(request: Request) -> bool:
    """A browser navigating: it accepts ``text/html`` (with a quality above 0), and the
    path may be a page."""
    return may_be_page(request) and accepts_html(request.headers.get("accept", ""))


def accepts_html(accept: str) -> bool:
    """Whether an ``Accept`` header names ``text/html`` without refusing it (``q=0``).
    ``*/*`` alone does not count: every HTTP client sends it."""
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() != "text/html":
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


@cache
def page_html() -> str:
    """index.html's head (its meta tags, icon and stylesheet) without its script, and a
    card like the home page's: what happened, and a link home."""
    index = (WEB / "index.html").read_text(encoding="utf-8")
    head = index[: index.index("</head>")]
    head = "\n".join(line for line in head.splitlines() if "<script" not in line)
    head = head.replace("<title>peerlane</title>", f"<title>{escape(TITLE)} · peerlane</title>")
    return f"""{head}
</head>
<body>
  <main class="entry" id="main">
    <header class="brand">
      <p class="brand-name"><span class="brand-mark" aria-hidden="true"></span>peerlane</p>
    </header>
    <section class="card narrow stack" aria-labelledby="not-found-title">
      <h1 class="card-title" id="not-found-title">{escape(TITLE)}</h1>
      <p class="muted">There is nothing at this address. The link may be incomplete or
        mistyped, or what it led to is gone.</p>
      <a class="btn primary wide" href="/">Go to the home page</a>
    </section>
  </main>
</body>
</html>
"""
