"""Connect-time benchmark: invite link in a second browser -> open data channel.

A real ``python -m peerlane serve`` on 127.0.0.1 and two headless Debian Chromiums
(the flags of tests/e2e/conftest.py), all inside the private network namespace made by
``scripts/netns-run`` (the script refuses to run anywhere else: WebRTC must never reach
beyond this machine). Browser A (a persistent profile) creates a room through the UI and
stays on the room page. Then, per run, browser B -- a fresh profile, so no session
cookie, no IndexedDB and no HTTP cache -- has its display name pre-set in localStorage
(someone who has used peerlane in this browser before), opens the invite link, which
then joins at once (src/peerlane/web/ui/join-now.js), and the clock stops when B's
``window.peerlane.room`` reports an open direct data channel to A (its "peers" event
after the mesh's channel "open": ``directCount >= 1`` and that peer's ``path ==
"direct"``). B is then closed and A must see it leave before the next run.

Time is measured inside B's page: ``performance.now()`` counts from the navigation
start of the invite link (``performance.timeOrigin``), so Playwright's own overhead
(driver round trips, polling) is not in it. The same page instrumentation (an init
script: resource timing, wrapped fetch, WebSocket and RTCPeerConnection, a hook on
``window.peerlane``) gives the breakdown: page loaded (the join request sent) -> ``POST
/api/join`` answered -> the room's WebSocket created -> its welcome -> offer/answer
exchanged -> ICE + DTLS + SCTP -> channel open.

A revision from before the join at once (``--compare-with``) shows a "Join room"
button instead: the page load then ends when it is rendered, and the bench clicks it
-- a mouse click (CDP input events) at the button's place as soon as an in-page promise
reports it rendered, not a Playwright locator, whose injected selector engine would
compile in the page while it loads. The time the click takes (button rendered -> click
event) is reported apart (``click``, 0 without one), and ``app`` is the total without
it. ``wall`` is the same interval seen from Python (``page.goto`` -> the in-page wait
returns), Playwright included.

The machine is shared, so each run also records the CPU time spent between
``page.goto`` and the open channel by browser B (by process kind), browser A, the server
and the Playwright driver (``/proc/<pid>/stat`` of this script's descendants), and how
busy all CPUs were (``/proc/stat``); the load average is printed with the results.

Browser B, two modes (``--browser``):
  process  a new Chromium process with a new persistent profile per run (default: a
           browser started just for the link; startup is before the clock)
  context  one Chromium process for every run, a new browser context per run (a
           browser already running; per-context cookies, storage and cache)
Before opening the link, B's window must be idle: every B process together used at most
one clock tick (10 ms) in 150 ms (``settle_ms`` is how long that took; 10 s at most). A
new Chromium window is busy for about a second -- Chromium builds its own WebUI omnibox
popup in a renderer of its own (0.3-0.9 s of CPU) and the browser process sets the
window up -- and on two cores that work would compete with the page for the whole
measured interval. A person opens an invite link in a browser that is already up.
``--no-settle`` opens the link as soon as the window exists (the earlier method).
``--driver cdp`` drives B without Playwright: only the DevTools commands the benchmark
needs (attach, Page.enable, the instrumentation for new documents, navigate, evaluate),
over ``--remote-debugging-pipe`` (bench/_cdp.py). Playwright enables its own domains on
every page and answers their events, about 85 ms of B's browser-process CPU and 25 ms of
its renderer's per page load here; a person's browser has no automation attached. It
needs the join at once (it does not click) and process mode.
``--no-omnibox-popup`` adds WebUIOmniboxPopup to the flags' --disable-features: Chromium
156 otherwise builds its WebUI omnibox popup in a renderer of its own for every new
window, which in ``context`` mode lands inside the measured interval (~0.4 s of CPU).

``--returning`` measures a returning visitor, whose app shell the service worker keeps
(a visit to the home page with the same profile before the clock), against a first
visit, interleaved, each with its own server, A and room (bench/_returning.py). Target:
the returning visit's p50 at least 30 % faster.

``--e2e`` measures an end-to-end encrypted room's link (``#<token>.<key>``: B decodes the
key, opens the sealed name and seals nothing before the channel opens) against a link to
a room made without encryption, interleaved, each with its own server, A and room.
Target: the encrypted link within +20 ms of the plain one. The machine is shared and
loaded, so single runs swing by seconds: the figure is the median of the paired
differences (run k of each, back to back) with a bootstrap 95 % interval
(bench/_paired.py), over many pairs (40 by default, no new pair after ``--budget``
seconds, 900 by default), and the verdict says "met" only when the whole interval is
within +20 ms, "not met" when all of it is above, "not readable" otherwise. The same
paired median is given for each milestone of a run (page loaded, join answered, socket
created, welcome, room started, offer/answer, channel open; bench/_connect_e2e.py) and
for the IndexedDB and WebCrypto waits before the room started (the init script times
every IndexedDB request and SubtleCrypto call), so a difference is located, not only
sized.

The code is split along its seams: ``_connect_page.py`` (Chromium, the page
instrumentation, the namespace check), ``_connect_session.py`` (servers, browser A,
the interleaved runs), one run: ``_connect_setup.py`` (what either driver needs, the
result row), ``_connect_run.py`` (Playwright), ``_connect_cdp.py`` (``--driver cdp``),
``_connect_phases.py`` (the run's timeline as phases); ``_connect_report.py`` (stats and
tables), ``_connect_output.py`` (the session's JSON report and printed summary).

``--compare-with REV`` measures the working tree ("current") against a git revision side
by side, as the machine's load swings too much for separate runs to be compared. REV is
checked out with ``git worktree add --detach`` into the temporary directory (removed at
the end, also on failure or at the time limit), and a second server runs from it: the same
environment plus ``PYTHONPATH=<worktree>/src``, so it uses REV's server code and web
client. Before the runs, each server's ``/static/app.js`` (and a web file that differs
between the trees, if any) is compared with the files of its own tree, and each server's
environment is checked to import peerlane from its tree. Each variant has its own browser
A and room; the runs alternate in ABBA order (pair k: current then REV for even k, REV
then current for odd k), with ``--warmup`` warm-up runs and ``--runs`` measured runs per
variant. The output adds a comparison of the p50s and the median of the paired
differences of the totals (run k of current minus run k of REV).

Every wait has a deadline and the whole run has a time limit (``--time-limit``). Output:
a table per run, a summary (p50/p95 by nearest rank, min, max) and, as the last line,
one JSON object.

    scripts/netns-run .venv/bin/python bench/connect_time.py             # 20 runs (+2 warm-up)
    scripts/netns-run .venv/bin/python bench/connect_time.py --quick     # 5 runs
    scripts/netns-run .venv/bin/python bench/connect_time.py --browser context --runs 40
    scripts/netns-run .venv/bin/python bench/connect_time.py --compare-with HEAD~1
    scripts/netns-run .venv/bin/python bench/connect_time.py --driver cdp  # B without Playwright
    scripts/netns-run .venv/bin/python bench/connect_time.py --returning  # app shell kept
    scripts/netns-run .venv/bin/python bench/connect_time.py --e2e  # encrypted vs plain link
    scripts/netns-run .venv/bin/python bench/connect_time.py --e2e --runs 60 --budget 1800
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]


from _connect_output import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    findings,
    print_findings,
)
from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM,
    TARGET_P50_MS,
    RunFailed,
    namespace_problem,
)
from _connect_session import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    bench,
    time_limit,
)
from _variants import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Variant,
    add_worktree,
    current_variant,
    remove_worktree,
)
from support import ServerProcess  # type: ignore[import-not-found, unused-ignore]  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--runs",
        type=int,
        default=0,
        help="measured runs (20; per variant with --compare-with; 40 pairs with --e2e)",
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=-1,
        help="seconds of runs after which no new pair starts (--e2e: 900; 0: none)",
    )
    ap.add_argument("--warmup", type=int, default=2, help="runs first, not counted (2)")
    ap.add_argument("--quick", action="store_true", help="5 runs (and 1 warm-up)")
    ap.add_argument(
        "--browser",
        choices=("process", "context"),
        default="process",
        help="B per run: a new Chromium process + profile (default), or a new context "
        "in one shared Chromium process",
    )
    ap.add_argument(
        "--driver",
        choices=("playwright", "cdp"),
        default="playwright",
        help="what drives browser B: Playwright (default), or only the DevTools commands "
        "the benchmark needs, over a pipe (bench/_cdp.py): no automation attached to the "
        "page, as in a person's browser (process mode, no click, no --trace)",
    )
    ap.add_argument(
        "--no-omnibox-popup",
        action="store_true",
        help="also disable Chromium's WebUIOmniboxPopup feature: a new window then does "
        "not build the WebUI omnibox popup while the page loads (context mode: ~0.4 s CPU)",
    )
    ap.add_argument(
        "--trace",
        type=Path,
        metavar="DIR",
        help="save a Chromium trace of browser B per run into DIR (chrome://tracing or "
        "Perfetto; tracing adds its own overhead to the times)",
    )
    ap.add_argument(
        "--no-settle",
        action="store_true",
        help="open the link as soon as B's window exists, not once B is idle: Chromium's "
        "own window set-up then runs inside the measured interval",
    )
    ap.add_argument(
        "--compare-with",
        metavar="REV",
        help="also measure git revision REV (a worktree of it, a second server, browser A "
        "and room), alternating with the working tree run by run (ABBA)",
    )
    ap.add_argument(
        "--returning",
        action="store_true",
        help="a returning visitor (the service worker keeps the app shell: a visit with "
        "the same profile before the clock) against a first visit, interleaved (ABBA)",
    )
    ap.add_argument(
        "--e2e",
        action="store_true",
        help="an end-to-end encrypted room's link (the key in the fragment) against a "
        "plain room's link, interleaved (ABBA); target: within +20 ms",
    )
    ap.add_argument("--target-p50-ms", type=float, default=TARGET_P50_MS, help="(300)")
    ap.add_argument("--check", action="store_true", help="exit 1 when p50 misses the target")
    ap.add_argument("--verbose", action="store_true", help="print every run's event timeline")
    ap.add_argument(
        "--time-limit", type=float, default=0, help="seconds for everything (default: by runs)"
    )
    args = ap.parse_args(argv)
    if not args.runs:
        args.runs = 40 if args.e2e else 20
    if args.budget < 0:
        args.budget = 900 if args.e2e else 0
    if args.quick:
        args.runs, args.warmup = 5, 1
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be at least 1 and --warmup at least 0")
    if args.driver == "cdp" and (args.browser != "process" or args.trace):
        ap.error("--driver cdp drives a new Chromium process per run, without --trace")
    if args.returning and (args.compare_with or args.browser != "process"):
        ap.error(
            "--returning compares two kinds of visit of the working tree, each B a "
            "new Chromium process with its own profile"
        )
    if args.e2e and (args.compare_with or args.returning):
        ap.error(
            "--e2e compares two rooms of the working tree: not with --compare-with or --returning"
        )
    if not args.time_limit:
        variants = 2 if args.compare_with or args.returning or args.e2e else 1
        per_run = 75 if args.returning else 45  # the visit that keeps the app shell
        args.time_limit = 120 * variants + per_run * variants * (args.runs + args.warmup)
        if args.budget:  # the budget, then the pair under way and the warm-up
            args.time_limit = min(
                args.time_limit,
                120 * variants + args.budget + per_run * variants * (1 + args.warmup),
            )
    return args


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    problem = namespace_problem()
    if problem is not None or os.environ.get("NETNS_RUN") != "1":
        print(
            "connect_time: refusing to run outside the private test network namespace "
            "(WebRTC must never reach beyond this machine). Run it as:\n"
            "    scripts/netns-run .venv/bin/python bench/connect_time.py\n"
            + (problem or "NETNS_RUN is not set"),
            file=sys.stderr,
        )
        return 2
    if not Path(CHROMIUM).exists():
        print(f"connect_time: {CHROMIUM} is missing (make system-deps)", file=sys.stderr)
        return 2
    servers: list[ServerProcess] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="peerlane-connect-") as tmp:
        worktree = Path(tmp) / "worktree" if opts.compare_with else None
        try:
            with time_limit(opts.time_limit, servers):
                variants = [current_variant()]
                if opts.returning:
                    first = variants[0]
                    variants = [
                        Variant("first", first.tree, first.commit),
                        Variant("returning", first.tree, first.commit, returning=True),
                    ]
                if opts.e2e:
                    first = variants[0]
                    variants = [
                        Variant("encrypted", first.tree, first.commit),
                        Variant("plain", first.tree, first.commit, encrypted=False),
                    ]
                if worktree is not None:
                    variants.append(add_worktree(opts.compare_with, worktree))
                result = bench(opts, Path(tmp), servers, variants)
        except TimeoutError as exc:
            print(f"connect_time: stopped: {exc} (--time-limit)", file=sys.stderr)
            return 1
        except ValueError as exc:  # --compare-with: not a commit, or no worktree
            print(f"connect_time: {exc}", file=sys.stderr)
            return 2
        except RunFailed as exc:  # --compare-with: a server does not run its own tree
            print(f"connect_time: check failed: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in servers:
                server.stop()
            if worktree is not None:
                remove_worktree(worktree)
    found = findings(opts, result, started)
    print_findings(opts, result, found)
    if any(o["failures"] or not o["measured"] for o in result["variants"]):
        return 1
    return 1 if opts.check and not found.met else 0


if __name__ == "__main__":
    sys.exit(main())
