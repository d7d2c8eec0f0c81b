"""Flags every test Chromium runs with (tests/e2e, tests/netlab)."""

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # host candidates carry the real address (10.77.0.1), not a random .local name
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
