"""Scale-out test rig: nginx in front of peerlane instances, and PostgreSQL and Redis
servers the tests may kill and restart.

nginx runs from Debian's binary as an unprivileged process (as root: the ``nobody``
user) with its own prefix in a temporary directory, listening on 127.0.0.1, with the
site configuration operators use (deploy/nginx/peerlane-lb.conf, placeholders filled
in). Clients connect from other loopback addresses (127.0.0.2, 127.0.0.3, ...) so the
instances can tell them apart from nginx through X-Forwarded-For.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

import services
from peerlane.bus.peerjs_redis import _HOLDERS, _addr
from peerlane.bus.redis import _peers_key
from services import _free_port
from support import TIMEOUT, Member, Peer, ServerProcess, wait_until

SITE = Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "peerlane-lb.conf"
NGINX = "/usr/sbin/nginx"

# The main configuration around the site file: only what an unprivileged nginx in a
# temporary prefix needs (no user switch, every path inside the prefix).
MAIN_CONF = """\
worker_processes 1;
# Two descriptors per proxied socket (client, instance): bench/scaleout.py opens 1,000
# sockets through it, more than the 1,024 descriptors runuser's login limits leave.
worker_rlimit_nofile 16384;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    # Which instance took each request: tests check where a client's socket landed.
    log_format upstream '$remote_addr "$request" $status $upstream_addr';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/peerlane-lb.conf;
}}
"""


def render_site(listen: str, upstreams: Iterable[int]) -> str:
    """deploy/nginx/peerlane-lb.conf with its placeholders filled in."""
    servers = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in upstreams
    )
    text = SITE.read_text()
    for name, value in (("PEERLANE_LISTEN", listen), ("PEERLANE_SERVERS", servers)):
        assert "${" + name + "}" in text, name
        text = text.replace("${" + name + "}", value)
    return text


class Nginx:
    """nginx balancing over ``instances`` (no sticky sessions), on 127.0.0.1."""

    def __init__(self, instances: Iterable[ServerProcess]) -> None:
        if not Path(NGINX).exists():
            pytest.fail("nginx is not installed; run `make system-deps` (apt: nginx-light)")
        self.port = _free_port()
        self.instances = list(instances)
        self.prefix = Path(tempfile.mkdtemp(prefix="peerlane-nginx-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, room_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/rooms/{room_id}/ws"

    def start(self) -> Nginx:
        prefix = self.prefix
        (prefix / "nginx.conf").write_text(MAIN_CONF.format(prefix=prefix))
        site = render_site(f"127.0.0.1:{self.port}", (i.port for i in self.instances))
        (prefix / "peerlane-lb.conf").write_text(site)
        as_user: list[str] = []
        if os.geteuid() == 0:  # never run it as root
            shutil.chown(prefix, "nobody")
            as_user = ["runuser", "-u", "nobody", "--"]
        cmd = [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c"]
        cmd += [str(prefix / "nginx.conf"), "-g", "daemon off;"]
        with (prefix / "stderr.log").open("wb") as stderr:  # the child keeps its copy
            self.proc = subprocess.Popen([*as_user, *cmd], stderr=stderr)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                httpx.get(f"{self.base}/healthz", timeout=1)
                return self
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = (prefix / "stderr.log").read_text(errors="replace")
                    raise RuntimeError(f"nginx did not start: {err}") from None
                time.sleep(0.05)  # polling a port that is not yet bound: no event

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.prefix, ignore_errors=True)

    def upstream_ports(self, pattern: str, status: int = 101) -> list[int]:
        """The instance port of every request so far whose request line matches the
        regular expression ``pattern`` and that got ``status`` (101: a WebSocket), in
        order (nginx's access log; a request retried on another instance counts the
        last one)."""
        line = re.compile(r'"[A-Z]+ (\S+) [^"]*" (\d+) (.+)$')
        ports = []
        for entry in (self.prefix / "access.log").read_text().splitlines():
            match = line.search(entry)
            if match and re.search(pattern, match[1]) and int(match[2]) == status:
                ports.append(int(match[3].rsplit(", ", 1)[-1].rsplit(":", 1)[1]))
        return ports

    def client(self, source: str = "127.0.0.2", **options: Any) -> httpx.Client:
        """An HTTP client whose requests come from ``source`` (a loopback address)."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(
            base_url=self.base, transport=transport, **{"timeout": TIMEOUT, **options}
        )

    def peer(self, member: Member, last_seq: int | None = None, source: str = "127.0.0.2") -> Peer:
        return Peer(self, member, last_seq, source_address=(source, 0))  # type: ignore[arg-type]


class RedisProcess:
    """A redis-server without persistence on a fixed loopback port, that a test can kill
    and start again (empty, as a Redis without persistence comes back)."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.fail("redis-server is not installed; run `make system-deps`")
        self.port = _free_port()
        self.workdir = tempfile.mkdtemp(prefix="peerlane-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        assert self.binary is not None
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.workdir],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        try:
            wait_until(lambda: _pings(client), what="redis-server answering")
        finally:
            client.close()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


# Limits high enough for a busy chat from a few addresses; the per-address limit test
# sets its own.
BUSY_LIMITS = {
    "PEERLANE_MESSAGES_PER_SECOND": "1000",
    "PEERLANE_MESSAGE_BURST": "1000",
    "PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND": "1000",
    "PEERLANE_PARTICIPANT_MESSAGE_BURST": "1000",
    "PEERLANE_IP_MESSAGES_PER_SECOND": "1000",
    "PEERLANE_IP_MESSAGE_BURST": "1000",
    "PEERLANE_IP_CONNECTS_PER_MINUTE": "10000",
    "PEERLANE_PARTICIPANT_CONNECTS_PER_MINUTE": "10000",
    "PEERLANE_ROOMS_PER_HOUR": "100000",
    "PEERLANE_JOINS_PER_MINUTE": "100000",
    "PEERLANE_UPLOADS_PER_HOUR": "100000",
    "PEERLANE_UPLOAD_BURST": "100000",
}


class Cluster:
    """``count`` peerlane instances sharing one PostgreSQL database, one Redis and one
    files directory, each trusting one proxy hop, behind nginx."""

    def __init__(
        self,
        root: Path,
        count: int,
        *,
        database_url: str,
        redis_url: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.env = {
            **BUSY_LIMITS,
            "PEERLANE_DATABASE_URL": database_url,
            "PEERLANE_REDIS_URL": redis_url,
            "PEERLANE_FILES_DIR": str(root / "files"),
            "PEERLANE_TRUSTED_PROXY_HOPS": "1",
            **(env or {}),
        }
        self.instances = [ServerProcess(root / f"instance{i}", env=self.env) for i in range(count)]
        self.nginx = Nginx(self.instances)

    def start(self) -> Cluster:
        try:
            for instance in self.instances:
                instance.start()
            self.nginx.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.nginx.stop()
        for instance in self.instances:
            instance.stop()

    def replace(self, index: int) -> ServerProcess:
        """A new instance on the port of instance ``index`` (stopped or dead)."""
        old = self.instances[index]
        new = ServerProcess(old.data_dir, env=self.env, port=old.port).start()
        self.instances[index] = new
        return new

    def logs(self) -> str:
        return "\n".join(f"--- {i.data_dir.name}\n{i.logs()[-4000:]}" for i in self.instances)

    def live_by_id(self) -> dict[str, ServerProcess]:
        """The running instances, by the instance id each shows in /readyz."""
        live = [i for i in self.instances if i.proc is not None and i.proc.poll() is None]
        return {httpx.get(f"{i.base}/readyz", timeout=TIMEOUT).json()["instance"]: i for i in live}

    def _redis_get(self, key: str, field: str) -> str | None:
        client = redis.Redis.from_url(self.env["PEERLANE_REDIS_URL"], decode_responses=True)
        try:
            return client.hget(key, field)  # type: ignore[return-value]
        finally:
            client.close()

    def holder(self, room_id: str, peer_id: str) -> ServerProcess | None:
        """The live instance whose socket holds ``peer_id`` in the room, by the presence
        entry that instance keeps in Redis (bus/redis.py: ``by``)."""
        entry = self._redis_get(_peers_key(room_id), peer_id)
        return None if entry is None else self.live_by_id().get(json.loads(entry)["by"])

    def peerjs_holder(self, peer_id: str, key: str = "peerjs") -> ServerProcess | None:
        """The live instance holding PeerJS ``peer_id`` (bus/peerjs_redis.py: holders)."""
        entry = self._redis_get(_HOLDERS, _addr(key, peer_id))
        return None if entry is None else self.live_by_id().get(entry.split("|", 1)[0])


class PgProcess:
    """A PostgreSQL server (as services.pg_server starts one) that a test can stop and
    start again on the same port and data, as an operator's restart does."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.server = self._stack.enter_context(services.pg_server())
        # pg_server's private details, to restart the same cluster.
        self.data = Path(_pg_data_dir(self.server.port))

    def ctl(self, *args: str) -> None:
        bindir = services._pg_bindir()
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        options = (
            f"-p {self.server.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 "
            f"{services.PG_FAST_SETTINGS}"
        )
        cmd = [*as_owner, str(bindir / "pg_ctl"), "-D", str(self.data), "-o", options]
        cmd += ["-l", str(self.data.parent / "server.log"), "-w", "-t", "60", *args]
        subprocess.run(cmd, capture_output=True, check=True)

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")

    def start(self) -> None:
        self.ctl("start")

    def close(self) -> None:
        self._stack.close()


def _pg_data_dir(port: int) -> str:
    """The data directory of the server listening on ``port`` (from its postmaster.pid)."""
    for pid_file in Path(tempfile.gettempdir()).glob("peerlane-pg-*/data/postmaster.pid"):
        lines = pid_file.read_text().splitlines()
        if len(lines) > 3 and lines[3].strip() == str(port):
            return str(pid_file.parent)
    raise RuntimeError(f"no PostgreSQL data directory for port {port}")


@contextlib.contextmanager
def cluster_on_own_services(root: Path) -> Iterator[tuple[PgProcess, RedisProcess, Cluster]]:
    """Two instances behind nginx on a PostgreSQL and a Redis of their own, which the
    outage tests stop and start; the instances fail fast while one is down (as in
    production, a little faster)."""
    pg = PgProcess()
    redis_server = RedisProcess().start()
    # In a thread: asyncio.run() refuses to run beside a running loop (Playwright's, in
    # the browser tests).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        database = pool.submit(services.create_database, pg.server).result()
    cluster = Cluster(
        root,
        2,
        database_url=database,
        redis_url=redis_server.url,
        env={"PEERLANE_BACKEND_CONNECT_TIMEOUT": "2"},
    )
    try:
        yield pg, redis_server, cluster.start()
    finally:
        cluster.stop()
        redis_server.close()
        pg.close()


def ready(cluster: Cluster) -> list[int]:
    """Each instance's /readyz status."""
    return [httpx.get(f"{i.base}/readyz", timeout=TIMEOUT).status_code for i in cluster.instances]
