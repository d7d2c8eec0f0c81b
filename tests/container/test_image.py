"""The image built from Containerfile: non-root, healthy, serves the app, stops cleanly on
SIGTERM within the drain timeout, keeps its data in the volume."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx

from container.podman import ULIMIT_ARGS, Podman, unique
from peerlane.config import Settings
from peerlane.server.ws import DRAIN_TIMEOUT
from support import TIMEOUT, Peer, close_code, create_room, free_port

# Start-up in a container on the shared 2-core machine: seconds, sometimes many.
START_TIMEOUT = 12 * TIMEOUT
# SIGTERM: the WebSockets' drain, then uvicorn's graceful shutdown of in-flight requests.
SHUTDOWN_TIMEOUT = Settings.model_fields["shutdown_timeout"].default
STOP_WITHIN = DRAIN_TIMEOUT + SHUTDOWN_TIMEOUT


@dataclass
class Container:
    """A running peerlane container, its port published on 127.0.0.1."""

    name: str
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, room_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/rooms/{room_id}/ws"


def start(podman: Podman, image: str, names: list[str], *extra: str) -> Container:
    name = unique("peerlane-test")
    names.append(name)
    port = free_port()
    podman.run("run", "--detach", "--name", name, *ULIMIT_ARGS,
               "--publish", f"127.0.0.1:{port}:8000", *extra, image)  # fmt: skip
    podman.wait_healthy(name, START_TIMEOUT)
    return Container(name, port)


def test_runs_as_an_unprivileged_user_without_compilers(podman: Podman, peerlane_image: str):
    def inside(*command: str) -> str:
        proc = podman.run("run", "--rm", *ULIMIT_ARGS, "--entrypoint", command[0],
                          peerlane_image, *command[1:])  # fmt: skip
        return proc.stdout.strip()

    assert inside("id", "-u") == "10001"
    assert inside("id", "-un") == "peerlane"
    assert inside("id", "-g") == "10001"
    # No compiler and no pip in the runtime stage: only the virtualenv came over.
    found = inside("sh", "-c", "for t in gcc cc c++ make pip pip3; do command -v $t; done; true")
    assert found == "", found
    assert inside("peerlane", "version")
    # The data directory is the volume, owned by the user and private to it.
    mounts = podman.run("image", "inspect", "--format", "{{json .Config.Volumes}}",
                        peerlane_image).stdout  # fmt: skip
    assert "/var/lib/peerlane" in mounts
    assert inside("stat", "-c", "%U %a", "/var/lib/peerlane") == "peerlane 700"


def test_becomes_healthy_and_serves_the_app(podman: Podman, peerlane_image: str, names):
    box = start(podman, peerlane_image, names)
    # The image's HEALTHCHECK (Docker format) is what `podman healthcheck run` ran.
    assert "peerlane" in podman.inspect(box.name, "{{json .Config.Healthcheck}}")
    assert podman.inspect(box.name, "{{.State.Health.Status}}") == "healthy"
    with httpx.Client(base_url=box.base, timeout=TIMEOUT) as http:
        ready = http.get("/readyz").json()
        # ready, and which instance answered (a random id per process, for balancers)
        assert ready == {"status": "ready", "instance": ready["instance"]}
        assert ready["instance"]
        alice = create_room(http, "alice")
        page = http.get(f"/r/{alice.room_id}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        linked = re.search(r'href="(/app/[0-9a-f]+/ui/room-page\.js)"', page.text)
        assert linked, page.text
        module = http.get(linked[1])
        assert module.status_code == 200
        assert "immutable" in module.headers["cache-control"]
        assert "javascript" in module.headers["content-type"]
        assert "export" in module.text


def test_sigterm_drains_and_exits_cleanly_within_the_drain_timeout(
    podman: Podman, peerlane_image: str, names
):
    box = start(podman, peerlane_image, names)
    with httpx.Client(base_url=box.base, timeout=TIMEOUT) as http:
        alice = create_room(http, "alice")
    peer = Peer(box, alice)  # type: ignore[arg-type]
    peer.chat("before-stop")
    started = time.monotonic()
    # `podman stop` sends the image's STOPSIGNAL (SIGTERM) and kills only after -t seconds.
    podman.run("stop", "--time", str(int(3 * STOP_WITHIN)), box.name)
    elapsed = time.monotonic() - started
    assert close_code(peer.ws) == 1001  # going away: clients reconnect elsewhere
    assert elapsed < STOP_WITHIN, f"stop took {elapsed:.1f}s"
    assert podman.inspect(box.name, "{{.State.ExitCode}}") == "0"
    logs = podman.logs(box.name)
    assert '"event": "shutdown.drain"' in logs, logs
    assert "Traceback" not in logs, logs


def test_a_volume_keeps_the_room_across_a_new_container(podman: Podman, peerlane_image: str, names):
    volume = unique("peerlane-data")
    names.append(volume)
    podman.run("volume", "create", volume)
    first = start(podman, peerlane_image, names, "--volume", f"{volume}:/var/lib/peerlane")
    with httpx.Client(base_url=first.base, timeout=TIMEOUT) as http:
        alice = create_room(http, "alice")
    peer = Peer(first, alice)  # type: ignore[arg-type]
    ack = peer.chat("kept", body="still here after the restart")
    peer.close()
    podman.run("rm", "--force", "--volumes", "--time", str(int(3 * STOP_WITHIN)), first.name)

    # A new container (a new image version would do the same) on the same volume: the
    # room, the message and the signing secret (so alice's token) are all still there.
    second = start(podman, peerlane_image, names, "--volume", f"{volume}:/var/lib/peerlane")
    again = Peer(second, alice, last_seq=0)  # type: ignore[arg-type]
    message = again.expect("message", seq=ack["seq"])
    assert message["body"] == "still here after the restart"
    again.close()


def test_settings_come_from_peerlane_variables(podman: Podman, peerlane_image: str, names):
    name = unique("peerlane-test")
    names.append(name)
    port = free_port()
    podman.run("run", "--detach", "--name", name, *ULIMIT_ARGS, "--env", "PEERLANE_PORT=9000",
               "--publish", f"127.0.0.1:{port}:9000", peerlane_image)  # fmt: skip
    # The health check reads the same variable, so it follows the port.
    podman.wait_healthy(name, START_TIMEOUT)
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=TIMEOUT).status_code == 200


def test_runs_read_only_without_capabilities(podman: Podman, peerlane_image: str, names):
    """The hardening docs/security.md advises: a read-only root filesystem, no Linux
    capabilities, no privilege gain; only the data volume and /tmp are writable."""
    box = start(podman, peerlane_image, names, "--read-only", "--tmpfs", "/tmp",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges")  # fmt: skip
    with httpx.Client(base_url=box.base, timeout=TIMEOUT) as http:
        alice = create_room(http, "alice")
    peer = Peer(box, alice)  # type: ignore[arg-type]
    peer.chat("stored", body="on a read-only root")
    peer.close()
