"""Firefox for the browser suite, driven over WebDriver BiDi (no geckodriver, no Playwright).

Debian's ``firefox-esr`` is started headless with ``--remote-debugging-port=0`` and a
fresh profile (prefs in ``user.js``); it prints the WebSocket address of its BiDi server
on stderr, and :class:`BiDi` speaks the protocol (JSON commands, answers by id, events)
over it with ``websockets``. :class:`FirefoxPage` offers the few page operations the
cross-browser scenarios need (tests/e2e/pages.py), with the same names as
:class:`pages.ChromiumPage` so one scenario runs in either browser.

Console errors (``log.entryAdded`` at level "error", uncaught exceptions included) are
kept in ``errors``: the ``firefoxes`` fixture fails the test on any, as the Chromium
fixture does.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FIREFOX = os.environ.get("PEERLANE_E2E_FIREFOX", "/usr/bin/firefox-esr")
LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")

# user.js of every profile: no first-run pages or background traffic; WebRTC host
# candidates carry the real address (not an mDNS name) and no media prompt; downloads
# go straight to the profile's downloads/ folder (the "Save" button of a transfer).
PREFS: dict[str, Any] = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.enabled": False,
    "app.update.auto": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.navigator.permission.disabled": True,
    "browser.download.folderList": 2,
    "browser.download.useDownloadDir": True,
    "browser.download.always_ask_before_handling_new_types": False,
    "browser.download.start_downloads_in_tmp_dir": False,
    "browser.download.alwaysOpenPanel": False,
    "browser.download.panel.shown": True,
    "dom.disable_beforeunload": True,
}
# "Peer to peer impossible", as NO_P2P_PREFS for Chromium: no ICE candidate at all
# (the only ones a browser could gather here are host candidates on the test address).
NO_P2P_PREFS = {
    "media.peerconnection.ice.default_address_only": True,
    "media.peerconnection.ice.no_host": True,
}


class BiDiError(AssertionError):
    pass


class BiDi:
    """One WebDriver BiDi connection: ``command(method, params)`` -> result; events
    go to the handlers registered with ``on(method, fn)`` (called on the reader thread)."""

    def __init__(self, url: str) -> None:
        self.ws: ClientConnection = connect(url, max_size=None, open_timeout=15)
        self._next = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def on(self, method: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._handlers.setdefault(method, []).append(handler)

    def _read(self) -> None:
        try:
            for raw in self.ws:
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self._waiting:
                    self._waiting[msg["id"]].put(msg)
                elif msg.get("type") == "event":
                    for handler in self._handlers.get(msg["method"], []):
                        handler(msg["params"])
        except Exception:  # the connection closed: anyone waiting gets an error below
            pass
        for box in list(self._waiting.values()):
            box.put({"type": "error", "error": "closed", "message": "connection closed"})

    def command(self, method: str, params: dict[str, Any], timeout: float = 60) -> Any:
        with self._lock:
            self._next += 1
            ident = self._next
            box: queue.Queue[dict[str, Any]] = queue.Queue()
            self._waiting[ident] = box
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        try:
            msg = box.get(timeout=timeout)
        except queue.Empty:
            raise BiDiError(f"{method}: no answer in {timeout} s") from None
        finally:
            self._waiting.pop(ident, None)
        if msg.get("type") == "error":
            raise BiDiError(f"{method}: {msg.get('error')}: {msg.get('message')}")
        return msg["result"]

    def close(self) -> None:
        self.ws.close()


def _unwrap(value: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as plain Python data (what the scenarios return is JSON-like)."""
    kind = value.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return value["value"]
    if kind == "number":
        v = value["value"]
        return v if not isinstance(v, str) else float(v.replace("Infinity", "inf"))
    if kind == "array":
        return [_unwrap(v) for v in value.get("value", [])]
    if kind == "object":
        return {k: _unwrap(v) for k, v in value.get("value", [])}
    return value  # a node (kept as the RemoteValue: it carries its sharedId), etc.


class FirefoxPage:
    """The one tab of a Firefox: the page operations the scenarios use."""

    def __init__(self, browser: Firefox, context: str) -> None:
        self.browser = browser
        self.context = context

    @property
    def bidi(self) -> BiDi:
        return self.browser.bidi

    @property
    def url(self) -> str:
        tree = self.bidi.command("browsingContext.getTree", {"root": self.context})
        return str(tree["contexts"][0]["url"])

    def goto(self, url: str) -> None:
        self.bidi.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    def reload(self) -> None:
        self.bidi.command("browsingContext.reload", {"context": self.context, "wait": "complete"})

    def evaluate(self, function: str, arg: Any = None) -> Any:
        """Call the JS function ``function`` (source) with ``arg``; its (awaited) result."""
        out = self.bidi.command(
            "script.callFunction",
            {
                # The argument goes in as JSON text, the result comes back as JSON text:
                # plain data both ways, whatever the function returns.
                "functionDeclaration": (
                    f"async (argJson) => {{ const r = await ({function})(JSON.parse(argJson));"
                    " return r === undefined ? 'null' : JSON.stringify(r); }"
                ),
                "arguments": [{"type": "string", "value": json.dumps(arg)}],
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        if out["type"] == "exception":
            details = out["exceptionDetails"]
            raise BiDiError(f"in the page: {details.get('text')}")
        return json.loads(_unwrap(out["result"]))

    def element(self, selector: str, timeout: float = 15) -> dict[str, Any]:
        """The shared reference of the first visible element matching ``selector``."""
        self.wait_js(
            "(s) => { const e = document.querySelector(s);"
            " return !!e && e.getClientRects().length > 0; }",
            selector,
            timeout=timeout,
            what=f"{selector} visible",
        )
        out = self.bidi.command(
            "script.callFunction",
            {
                "functionDeclaration": "(s) => document.querySelector(s)",
                "arguments": [{"type": "string", "value": selector}],
                "target": {"context": self.context},
                "awaitPromise": False,
                "resultOwnership": "none",
            },
        )
        node = out["result"]
        if node.get("type") != "node":
            raise BiDiError(f"{selector}: no element ({node})")
        return {"sharedId": node["sharedId"]}

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element, as a person would: scrolled
        into view, hovered, and pressed once the element is the one under the pointer
        (a hover toolbar may only take clicks once shown)."""
        self.evaluate(
            "(s) => document.querySelector(s).scrollIntoView({block: 'center'})", selector
        )
        ref = self.element(selector)
        origin = {"type": "element", "element": ref}
        move = {"type": "pointerMove", "x": 0, "y": 0, "origin": origin}
        self._pointer([move])
        self.wait_js(
            """(s) => { const e = document.querySelector(s); const r = e.getBoundingClientRect();
              const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              return !!hit && (hit === e || e.contains(hit)); }""",
            selector,
            what=f"{selector} under the pointer",
        )
        down, up = {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}
        self._pointer([move, down, up])

    def _pointer(self, actions: list[dict[str, Any]]) -> None:
        self.bidi.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [
                    {
                        "type": "pointer",
                        "id": "mouse",
                        "parameters": {"pointerType": "mouse"},
                        "actions": actions,
                    }
                ],
            },
        )

    def click_button(self, name: str, within: str = "body") -> None:
        """Click the visible button whose text is ``name`` (inside ``within``)."""
        marker = f"pl-fx-{time.monotonic_ns()}"
        self.wait_js(
            """({within, name, marker}) => {
              const b = [...document.querySelectorAll(within + ' button')].find(
                (x) => x.textContent.trim() === name && x.getClientRects().length > 0);
              if (b) b.dataset.fxClick = marker;
              return !!b;
            }""",
            {"within": within, "name": name, "marker": marker},
            what=f"button {name!r}",
        )
        self.click(f"[data-fx-click='{marker}']")

    def type(self, selector: str, text: str) -> None:
        """Focus ``selector``, select what it holds and type ``text`` with the keyboard."""
        self.click(selector)
        self.evaluate("(s) => document.querySelector(s).select?.()", selector)
        keys: list[dict[str, Any]] = [
            {"type": "keyDown", "value": "\ue017"},
            {"type": "keyUp", "value": "\ue017"},
        ]  # Delete
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.bidi.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [{"type": "key", "id": "keyboard", "actions": keys}],
            },
        )

    def fill(self, selector: str, text: str) -> None:
        self.type(selector, text)

    def press(self, selector: str, key: str) -> None:
        """Press a key (``"Enter"``, ``"Escape"``) with ``selector`` focused."""
        value = {"Enter": "\ue007", "Escape": "\ue00c", "Tab": "\ue004"}[key]
        self.evaluate("(s) => document.querySelector(s).focus()", selector)
        self.bidi.command(
            "input.performActions",
            {
                "context": self.context,
                "actions": [
                    {
                        "type": "key",
                        "id": "keyboard",
                        "actions": [
                            {"type": "keyDown", "value": value},
                            {"type": "keyUp", "value": value},
                        ],
                    }
                ],
            },
        )

    def set_input_files(self, selector: str, paths: list[str]) -> None:
        ref = self.bidi.command(
            "script.callFunction",
            {
                "functionDeclaration": "(s) => document.querySelector(s)",
                "arguments": [{"type": "string", "value": selector}],
                "target": {"context": self.context},
                "awaitPromise": False,
                "resultOwnership": "none",
            },
        )["result"]
        self.bidi.command(
            "input.setFiles",
            {"context": self.context, "element": {"sharedId": ref["sharedId"]}, "files": paths},
        )

    def wait_js(self, predicate: str, arg: Any = None, timeout: float = 15, what: str = "") -> Any:
        """As helpers.wait_js: until ``predicate(arg)`` is truthy in the page; its value."""
        from e2e.helpers import wait_js

        return wait_js(self, predicate, arg, timeout=timeout, what=what)  # type: ignore[arg-type]

    def wait_for_url(self, pattern: str, timeout: float = 15) -> None:
        glob = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = re.compile(f"^{glob}$")
        deadline = time.monotonic() + timeout
        while not regex.match(self.url):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for URL {pattern} (at {self.url})")
            # the URL changes with a navigation: ask the page to say when it is loaded
            self.evaluate("() => new Promise((r) => setTimeout(r, 50))")

    def download(self, click_selector: str, timeout: float = 120) -> Path:
        """Click ``click_selector`` and wait for the download it starts to finish; its file."""
        folder = self.browser.downloads
        before = set(folder.iterdir())
        done: queue.Queue[dict[str, Any]] = queue.Queue()
        self.browser.download_events = done
        self.click(click_selector)
        try:
            event = done.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no download finished in {timeout} s") from None
        assert event.get("status") == "complete", event
        path = event.get("filepath")
        if path:
            return Path(path)
        new = [p for p in folder.iterdir() if p not in before and not p.name.endswith(".part")]
        assert len(new) == 1, new
        return new[0]


class Firefox:
    """A firefox-esr process with a fresh profile and one page, driven over BiDi."""

    def __init__(self, name: str, root: Path, *, p2p: bool = True) -> None:
        if not Path(FIREFOX).exists():
            raise AssertionError(f"{FIREFOX} is missing: apt-get install -y firefox-esr")
        self.name = name
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        self.profile = root / f"firefox-{name}"
        self.downloads = self.profile / "downloads"
        self.downloads.mkdir(parents=True)
        prefs = {**PREFS, "browser.download.dir": str(self.downloads)}
        if not p2p:
            prefs.update(NO_P2P_PREFS)
        (self.profile / "user.js").write_text(
            "".join(f'user_pref("{k}", {json.dumps(v)});\n' for k, v in prefs.items())
        )
        self.download_events: queue.Queue[dict[str, Any]] | None = None
        self.log = (self.profile / "firefox.log").open("w+")
        self.proc = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--no-remote",
                "--remote-debugging-port=0",
                "--profile",
                str(self.profile),
                "about:blank",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
        )
        url = self._bidi_url(timeout=30)
        self.bidi = BiDi(url + "/session")
        self.bidi.command("session.new", {"capabilities": {"alwaysMatch": {}}})
        self.bidi.on("log.entryAdded", self._on_log)
        self.bidi.on("browsingContext.downloadEnd", self._on_download)
        events = ["log.entryAdded"]
        # older Firefox has no downloadEnd: the download is then found in the folder
        with contextlib.suppress(BiDiError):
            self.bidi.command("session.subscribe", {"events": ["browsingContext.downloadEnd"]})
        self.bidi.command("session.subscribe", {"events": events})
        tree = self.bidi.command("browsingContext.getTree", {"maxDepth": 0})
        self.page = FirefoxPage(self, tree["contexts"][0]["context"])
        self.bidi.command(
            "browsingContext.setViewport",
            {"context": self.page.context, "viewport": {"width": 1280, "height": 800}},
        )

    def _bidi_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.log.seek(0)
            found = LISTENING.search(self.log.read())
            if found:
                return found.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)  # polling Firefox's own log for the line it prints when ready
        self.log.seek(0)
        raise AssertionError(f"firefox did not start its BiDi server:\n{self.log.read()[-3000:]}")

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def _on_log(self, entry: dict[str, Any]) -> None:
        if entry.get("level") != "error":
            return
        text = str(entry.get("text", ""))
        if any(p.search(text) for p in self.allowed):
            return
        # As for Chromium (conftest NETWORK_NOISE): refused/failed sockets while the
        # server is away and 401s before joining are expected network noise.
        if re.search(r"can.t establish a connection to the server at ws://", text):
            return
        where = entry.get("source", {}).get("realm", "")
        self.errors.append(f"{entry.get('type')}: {text} {where}".strip())

    def _on_download(self, event: dict[str, Any]) -> None:
        if self.download_events is not None:
            self.download_events.put(event)

    def close(self) -> None:
        # it may be gone already; the process is ended below in any case
        with contextlib.suppress(Exception):
            self.bidi.command("browser.close", {}, timeout=10)
        with contextlib.suppress(Exception):
            self.bidi.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile / "cache2", ignore_errors=True)
