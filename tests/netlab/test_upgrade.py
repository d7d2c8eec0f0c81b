"""The background upgrade from the server relay (issue #11, the fallback chain): a pair
whose UDP and TURN are blocked (scenario 6's rules) talks through the peerlane server;
when the rules are lifted, the mesh's background tries (mesh-upgrade.js) find the direct
path, and chat goes on there with no message lost or doubled, and the next file goes
over the data channel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from e2e.helpers import create_room_ui, invite_link, join_by_link_ui, wait_js
from netlab.checks import CONNECT_TIMEOUT, FAST_UPGRADES, chat_both_ways, file_a_to_b, wait_path
from netlab.conftest import LabBrowsers, NetnsServer
from netlab.lab import Lab

pytestmark = pytest.mark.netlab

# A failed link is not restarted by the mesh's own ICE restarts (those last ~100 s here
# with the default five): only the background tries can bring the pair back.
NO_ICE_RESTARTS = "try { localStorage.setItem('peerlaneIceRestarts', '0'); } catch {}"
FAILED_JS = """() => [...window.peerlane.room._links.mesh.peers.values()][0]?.problem
  ?.includes('could not be reached')"""


def test_server_relay_upgrades_to_direct(
    lab: Lab, lab_server: NetnsServer, lab_browsers: LabBrowsers, tmp_path: Path
) -> None:
    sites = [lab.site(1), lab.site(1)]
    for site in sites:
        lab.block_relay_paths(site)  # UDP and the TURN port dropped: only the server is left
    a = lab_browsers.new(sites[0].peers[0], lab_server.base)
    b = lab_browsers.new(sites[1].peers[0], lab_server.base)
    for page in (a, b):
        page.add_init_script(FAST_UPGRADES)
        page.add_init_script(NO_ICE_RESTARTS)
    room_id = create_room_ui(a, lab_server.base, "alice")
    assert join_by_link_ui(b, invite_link(a), "bob") == room_id
    wait_path(a, b, "server")
    for page in (a, b):  # ICE failed on both sides: the first link is over
        wait_js(page, FAILED_JS, timeout=CONNECT_TIMEOUT, what="ICE failing")
    said = chat_both_ways(a, b, "through the server")

    for site in sites:
        lab.lift_now(site)
    lifted = time.monotonic()
    # Sent while the pair moves: each message still arrives once, in order.
    said = chat_both_ways(a, b, "while moving", said)
    wait_path(a, b, "direct", timeout=CONNECT_TIMEOUT + 30)
    print(f"netlab server-relay upgrade: direct {time.monotonic() - lifted:.1f} s after the lift")
    chat_both_ways(a, b, "direct", said)
    assert file_a_to_b(a, b, tmp_path)["path"] == "direct"
