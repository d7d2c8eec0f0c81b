"""``peerlane send`` → ``peerlane receive`` in the network-scenario matrix (issue #12): the
two CLIs each in a peer namespace behind the lab's NATs and firewalls, the server and
coturn in the public namespace (tests/netlab/lab.py). Three scenarios that say the most
about the terminal's own stack (aiortc/aioice, not Chromium's): through endpoint-
independent NATs directly, through port-randomizing NATs over TURN, with UDP and TURN
blocked through the server (tus). The file's hash matches and both summaries name the
path the network allows. The fast path (direct TCP) is offered in each, and cannot cross
the NATs (the other side's private address): the receiver gives it up and the data
channel or the server carries the file.

And on a shared LAN, where the fast path does connect: the receiver killed halfway and
run again resumes from its verified blocks over the fast path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from e2e.cli_peers import Cli, clis, kill_when_half_received, wire_bytes  # noqa: F401
from e2e.helpers import MIB, random_file, sha256_file
from netlab.conftest import NetnsServer, Turn
from netlab.lab import Lab
from netlab.test_scenarios import SCENARIOS, peer_namespaces

pytestmark = pytest.mark.netlab

FILE_SIZE = 4 * MIB + 11
# A room without end-to-end encryption: one scenario falls back to the server, which the
# terminal does not do for an encrypted room's file yet (`send` makes one by default).
CLEAR = ("--no-encrypt",)
# What the summary says for the path each scenario's network allows.
SUMMARY_PATH = {
    "srflx": "peer to peer (direct)",
    "turn-udp": "peer to peer (TURN relay)",
    "turn-tcp": "peer to peer (TURN relay)",
    "turn-tls": "peer to peer (TURN relay)",
    "server": "server",
}
CLI_NAMES = ("2-eim-nat", "4-random-port-nat", "5-udp-blocked", "5-tls-only", "6-turn-blocked")
CLI_SCENARIOS = [s for s in SCENARIOS if s.name in CLI_NAMES]


def run_cli(
    clis: list[Cli],  # noqa: F811
    tmp: Path,
    namespace: str,
    args: Sequence[object],
    **env: str,
) -> Cli:
    label = f"{args[0]}{len(clis)}"
    cli = Cli(tmp, label, [str(a) for a in args], ("ip", "netns", "exec", namespace), **env)
    clis.append(cli)
    return cli


def summary_path(cli: Cli) -> str:
    found = re.search(r" via (.+)$", cli.output, re.MULTILINE)
    assert found, cli.describe()
    return found.group(1)


@pytest.mark.parametrize("scenario", CLI_SCENARIOS, ids=lambda s: s.name)
def test_cli_pair(
    scenario: object,
    lab: Lab,
    coturn: Turn,
    lab_server: NetnsServer,
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811
) -> None:
    ns_a, ns_b = peer_namespaces(lab, scenario)  # type: ignore[arg-type]
    # The CLIs' TURN over TLS (their choice's probe and aioice) trusts the lab's certificate.
    trust = {"SSL_CERT_FILE": str(coturn.certificate)}
    expected = SUMMARY_PATH[scenario.expected]  # type: ignore[attr-defined]
    digest, root = random_file(tmp_path / "cli.bin", FILE_SIZE)
    sender = run_cli(
        clis, tmp_path, ns_a,
        ["send", tmp_path / "cli.bin", "--server", lab_server.base, "--name", "alice",
         *CLEAR],
        PEERLANE_P2P_TIMEOUT="6",  # a direct link comes within 2 s in the lab
        **trust,
    )  # fmt: skip
    link = sender.wait_for(r"Link: (\S+)").group(1)
    out = tmp_path / "got"
    receiver = run_cli(clis, tmp_path, ns_b, ["receive", link, "-o", out, "--yes"], **trust)
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "cli.bin") == digest
    assert f"verified {root}  cli.bin" in receiver.output
    assert (summary_path(sender), summary_path(receiver)) == (expected, expected), (
        sender.describe() + receiver.describe()
    )


RESUME_SIZE = 80 * MIB


def test_cli_receive_killed_halfway_resumes_over_the_fast_path(
    lab: Lab,
    lab_server: NetnsServer,
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811
) -> None:
    """Two CLIs on one LAN: the fast path connects. The sender's link is shaped to
    20 MB/s (a short queue: little in flight) so that the receiver can be killed
    halfway; the rerun takes only what the first run had not verified, over the fast
    path again."""
    ns_a, ns_b = lab.site(2).peers
    lab.limit_rate(ns_a, "160mbit", latency="20ms")
    digest, _ = random_file(tmp_path / "film.mkv", RESUME_SIZE)
    sender = run_cli(
        clis, tmp_path, ns_a,
        ["send", tmp_path / "film.mkv", "--server", lab_server.base, "--name", "alice",
         *CLEAR],
    )  # fmt: skip
    link = sender.wait_for(r"Link: (\S+)").group(1)
    out = tmp_path / "got"
    first = run_cli(clis, tmp_path, ns_b, ["receive", link, "-o", out, "--yes"])
    kill_when_half_received(first, out / "film.mkv.peerlane-part", RESUME_SIZE)
    assert not (out / "film.mkv").exists()
    second = run_cli(clis, tmp_path, ns_b, ["receive", link, "-o", out, "--yes"])
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "film.mkv") == digest
    # Both connections were the fast path: the sender served no other way.
    assert summary_path(sender) == "fast path", sender.describe()
    assert summary_path(second) == "fast path", second.describe()
    again, total = wire_bytes(second), wire_bytes(sender)
    print(f"netlab cli resume: rerun {again / RESUME_SIZE:.3f}, sender {total / RESUME_SIZE:.3f}")
    assert again < RESUME_SIZE * 0.6  # only what the first run had not verified
    assert total <= RESUME_SIZE * 1.1
