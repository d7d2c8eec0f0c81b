"""The compose stack (compose.yaml) under podman-compose, for the compose test.

No registry is reachable here: postgres, redis, nginx and coturn are small local images
built from the same Debian base with Debian's packages (tests/container/images/), tagged
and passed through the *_IMAGE variables compose.yaml reads. Real deployments use the
official images (the defaults in compose.yaml).
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from container.podman import ROOT, ULIMITS, Podman
from support import TIMEOUT, free_port

IMAGES = ROOT / "tests" / "container" / "images"
SERVICE_IMAGES = {
    "POSTGRES_IMAGE": ("postgres", "localhost/peerlane-test-postgres:bookworm"),
    "REDIS_IMAGE": ("redis", "localhost/peerlane-test-redis:bookworm"),
    "NGINX_IMAGE": ("nginx", "localhost/peerlane-test-nginx:bookworm"),
    "COTURN_IMAGE": ("coturn", "localhost/peerlane-test-coturn:bookworm"),
}
INSTANCES = ("peerlane-1", "peerlane-2")
SERVICES = (*INSTANCES, "nginx", "postgres", "redis", "coturn")
# The CNI host-local IPAM state of each network (podman's "cni" network backend, Debian
# 12's); `podman network rm` leaves its directory behind (netavark has none).
CNI_IPAM_DIR = Path("/var/lib/cni/networks")


def build_service_images(podman: Podman, base: str) -> dict[str, str]:
    """The stand-ins for the official images (layers cached after the first build)."""
    images = {}
    for variable, (name, tag) in SERVICE_IMAGES.items():
        podman.build(tag, IMAGES, IMAGES / f"{name}.Containerfile", base)
        images[variable] = tag
    return images


def override_yaml() -> str:
    """compose.test.yaml: container ulimits within the host's, for every service; and the
    peerlane instances are not restarted, so that one killed stays down and the other
    alone serves the clients."""
    limits = "".join(
        f"      {name}: {{soft: {value.split(':')[0]}, hard: {value.split(':')[1]}}}\n"
        for name, value in ULIMITS.items()
    )
    services = ""
    for service in SERVICES:
        services += f"  {service}:\n    ulimits:\n{limits}"
        if service.startswith("peerlane-"):
            services += '    restart: "no"\n'
    return "services:\n" + services


@dataclass
class Stack:
    podman: Podman
    project: str
    directory: Path
    https_port: int
    # podman's volumes before the stack came up: none of the stack's may outlive it
    volumes_before: frozenset[str] = frozenset()

    @property
    def base(self) -> str:
        return f"https://localhost:{self.https_port}"

    def ws_url(self, room_id: str) -> str:
        return f"wss://localhost:{self.https_port}/api/rooms/{room_id}/ws"

    @property
    def tls(self) -> ssl.SSLContext:
        """Trusts exactly the stack's certificate (self-signed by `peerlane deploy init`)."""
        return ssl.create_default_context(cafile=self.directory / "deploy/compose/tls/cert.pem")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.tls, timeout=TIMEOUT)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [
                "podman-compose",
                "-p",
                self.project,
                "-f",
                "compose.yaml",
                "-f",
                "compose.test.yaml",
                *args,
            ],
            cwd=self.directory,
            env=self.podman.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, f"podman-compose {args}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def up(self, timeout: float) -> None:
        """Start the stack in the order compose.yaml's `depends_on` conditions give
        (`docker compose` waits for them itself; podman-compose 1.0.3 only waits a second
        between starts): the databases healthy, then peerlane-1 (which runs the
        migrations) healthy, then the rest; then wait for nginx to answer."""
        self.compose("up", "-d", "postgres", "redis")
        for service in ("postgres", "redis"):
            self.podman.wait_healthy(self.container(service), timeout)
        self.compose("up", "-d", "peerlane-1")
        self.podman.wait_healthy(self.container("peerlane-1"), timeout)
        self.compose("up", "-d")
        self.podman.wait_healthy(self.container("peerlane-2"), timeout)
        deadline = time.monotonic() + timeout
        with self.http() as http:
            while True:
                try:
                    if http.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(self.podman.logs(self.container("nginx")))
                time.sleep(0.2)  # nginx binding its port: nothing to wait on but the port

    def websocket_connections(self, service: str) -> int:
        """The instance's own count of open WebSockets (its /metrics, from inside)."""
        script = (
            "import urllib.request; "
            "print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())"
        )
        out = self.podman.run("exec", self.container(service), "python3", "-c", script).stdout
        match = re.search(r"^peerlane_websocket_connections ([0-9.]+)$", out, re.MULTILINE)
        assert match, out
        return int(float(match.group(1)))

    def connections(self) -> dict[str, int]:
        """Open WebSockets of every running instance."""
        return {
            service: self.websocket_connections(service)
            for service in INSTANCES
            if self.podman.inspect(self.container(service), "{{.State.Status}}") == "running"
        }

    def wait_connections(
        self, done: Callable[[dict[str, int]], bool], timeout: float
    ) -> dict[str, int]:
        """The instances' WebSocket counts once ``done`` holds for them (a connection or a
        close reaches the instance a moment after the client sees it)."""
        deadline = time.monotonic() + timeout
        while not done(counts := self.connections()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"WebSocket connections per instance: {counts}")
            time.sleep(0.2)  # each count is a `podman exec`: a few per second at most
        return counts

    def kill(self, service: str) -> None:
        """SIGKILL the service's container; it stays down (compose.test.yaml: no restart)."""
        self.podman.run("kill", "--signal", "KILL", self.container(service))
        state = self.podman.inspect(self.container(service), "{{.State.Status}}")
        assert state in ("exited", "stopped"), state

    def revive(self, timeout: float) -> None:
        """Start again every instance a test killed, wait until it is healthy, and have
        nginx look its address up again.

        A started container gets a new address on podman's network, and nginx resolves
        an upstream's names only when it loads its configuration: without the reload it
        would go on sending that instance's share to the old address (each request then
        costs the 2 s connect timeout before the other instance) and could not reach it
        at all once the other one is down (docs/deployment.md, "What each service gets").
        """
        revived = False
        for service in INSTANCES:
            name = self.container(service)
            if self.podman.inspect(name, "{{.State.Status}}") != "running":
                self.podman.run("start", name)
                self.podman.wait_healthy(name, timeout)
                revived = True
        if revived:
            self.reload_nginx(timeout)

    def reload_nginx(self, timeout: float) -> None:
        """`nginx -s reload`, then wait until only the new workers are left (the old ones
        finish their connections with the old addresses first)."""
        nginx = self.container("nginx")
        self.podman.run("exec", nginx, "nginx", "-s", "reload")
        deadline = time.monotonic() + timeout
        while True:
            processes = self.podman.run("top", nginx, "args").stdout
            if "shutting down" not in processes and "worker process" in processes:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx did not finish reloading:\n{processes}")
            time.sleep(0.2)  # workers exit on their own once idle: poll

    def leftovers(self) -> dict[str, list[str]]:
        """What podman still has of this project: containers, networks, volumes, pods,
        and CNI's address bookkeeping for its network."""
        label = f"label=io.podman.compose.project={self.project}"
        found = {}
        for kind in ("container", "network", "volume", "pod"):
            args = [kind, "ls", "--filter", label, "--format", "{{.Name}}"]
            if kind == "container":
                args = ["ps", "--all", "--filter", label, "--format", "{{.Names}}"]
            if kind == "pod":
                args = ["pod", "ls", "--filter", f"name={self.project}", "--format", "{{.Name}}"]
            found[kind] = self.podman.run(*args).stdout.split()
        found["cni-ipam"] = [self.network] if (CNI_IPAM_DIR / self.network).exists() else []
        return found

    def remove_everything(self) -> None:
        """After a failure: force every trace of the project away."""
        label = f"label=io.podman.compose.project={self.project}"
        names = self.podman.run("ps", "-a", "-q", "--filter", label, check=False).stdout.split()
        if names:
            self.podman.run("rm", "--force", "--time", "0", *names, check=False)
        for kind in ("volume", "network"):
            for name in self.podman.run(kind, "ls", "-q", "--filter", label).stdout.split():
                self.podman.run(kind, "rm", "--force", name, check=False)
        self.forget_network_addresses()

    @property
    def network(self) -> str:
        return f"{self.project}_default"

    def forget_network_addresses(self) -> None:
        """Remove the IPAM state CNI keeps for the project's network after its removal
        (the last address handed out, a lock file): nothing of the project may stay."""
        shutil.rmtree(CNI_IPAM_DIR / self.network, ignore_errors=True)


def make_stack(podman: Podman, project: str, directory: Path, images: dict[str, str]) -> Stack:
    """A project directory like an operator's: compose.yaml, deploy/compose/nginx.conf,
    and the .env + certificate `peerlane deploy init` writes; the test's additions go to
    the end of .env (loopback ports, local images) and to compose.test.yaml (ulimits)."""
    (directory / "deploy" / "compose").mkdir(parents=True)
    shutil.copy(ROOT / "compose.yaml", directory / "compose.yaml")
    shutil.copy(ROOT / "deploy/compose/nginx.conf", directory / "deploy/compose/nginx.conf")
    https_port, http_port, turn_port = free_port(), free_port(), free_port()
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "peerlane",
            "deploy",
            "init",
            "--public-url",
            f"https://localhost:{https_port}",
            "--https-port",
            str(https_port),
            "--http-port",
            str(http_port),
            "--turn-port",
            str(turn_port),
        ],
        cwd=directory,
        env={**os.environ},
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    relay = free_port()  # one relay port is plenty for a test that relays nothing
    env = (directory / ".env").read_text()
    env = re.sub(r"^TURN_RELAY_(MIN|MAX)_PORT=.*$", "", env, flags=re.MULTILINE)
    extra = {
        "BIND_ADDRESS": "127.0.0.1",
        "TURN_RELAY_MIN_PORT": str(relay),
        "TURN_RELAY_MAX_PORT": str(relay),
        **images,
    }
    env += "".join(f"{k}={v}\n" for k, v in extra.items())
    (directory / ".env").write_text(env)
    (directory / "compose.test.yaml").write_text(override_yaml())
    return Stack(podman, project, directory, https_port)
