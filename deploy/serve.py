"""N replicas of the app behind HAProxy with cookie affinity, on this machine.

`make serve REPLICAS=2` (or `python -m deploy.serve --replicas 2 --port 8501`) starts the replicas
on the ports after --port + 100, writes the balancer's configuration from deploy/haproxy.cfg.template
and runs HAProxy in front until interrupted, starting again any replica that dies (`Supervisor`). The
replicas share one cookie secret, so a session that moves after its replica died keeps a valid XSRF
cookie. Tests and benchmarks use `cluster()`.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
CONNECTIONS_PER_SOURCE = 1000  # open connections one address may hold at the balancer
HEALTH_INTERVAL_MS = 1000  # a dead replica is out after two failed checks (a refused one fails at once)


@dataclass
class Cluster:
    url: str  # the balancer
    replicas: dict[str, subprocess.Popen]  # name -> process
    ports: dict[str, int]
    balancer: subprocess.Popen
    start_replica: Callable[[str], subprocess.Popen]  # a new process for a replica's name, on its port

    def kill(self, name: str) -> None:
        """Kill one replica outright, as a crashed or evicted process."""
        self.replicas[name].kill()
        self.replicas[name].wait(timeout=30)

    def restart(self, name: str) -> subprocess.Popen:
        """A new process in a dead replica's place, on its port: HAProxy's health checks take it
        back in once it answers (`rise 2`)."""
        self.replicas[name] = self.start_replica(name)
        return self.replicas[name]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def haproxy_config(port: int, replicas: dict[str, int], bind: str = "127.0.0.1",
                   per_source: int = CONNECTIONS_PER_SOURCE) -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{replica_port} check cookie {name} inter {HEALTH_INTERVAL_MS}"
                        f" fall 2 rise 2" for name, replica_port in replicas.items())
    return TEMPLATE.read_text().format(bind=bind, port=port, servers=servers, per_source=per_source)


def streamlit_command(port: int, script: Path = ROOT / "app.py", launcher: str = "deploy.start") -> list[str]:
    """How one server of the app is started (a replica here, a test's or a benchmark's server): by
    default as deploy/start.py starts it, warming what the first sessions ask for."""
    return [sys.executable, "-m", launcher, "run", str(script), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true"]


def healthy(url: str) -> bool:
    """Whether the server at url answers Streamlit's health check (as HAProxy asks it)."""
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


def wait_healthy(url: str, processes: list[subprocess.Popen], seconds: float = 120) -> None:
    """Until url is healthy; RuntimeError if one of `processes` ends first or time runs out."""
    deadline = time.monotonic() + seconds
    while not healthy(url):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise RuntimeError(f"{url} did not become healthy")
        time.sleep(0.3)


@contextmanager
def cluster(count: int, port: int | None = None, bind: str = "127.0.0.1", logs: Path | None = None,
            env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """`count` replicas (named r1, r2, …) and HAProxy in front of them; everything stopped on exit."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        raise RuntimeError("HAProxy is missing: `make serve` and `make test` install Debian's haproxy package")
    port = port or free_port()
    ports = {f"r{i + 1}": free_port() for i in range(count)}
    folder = Path(tempfile.mkdtemp(prefix="explorer-cluster-"))
    logs = logs or folder
    shared = {"STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16)}
    replicas: dict[str, subprocess.Popen] = {}
    balancer = None

    def start_replica(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            streamlit_command(ports[name]), cwd=ROOT, env={**os.environ, **shared, "EXPLORER_REPLICA_NAME": name, **(env or {})},
            stdout=open(logs / f"replica-{name}.log", "a"), stderr=subprocess.STDOUT)

    try:
        for name in ports:
            replicas[name] = start_replica(name)
        for name, replica_port in ports.items():
            wait_healthy(f"http://127.0.0.1:{replica_port}", list(replicas.values()))
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(port, ports, bind))
        balancer = subprocess.Popen([haproxy, "-f", str(config), "-db"], stdout=open(logs / "haproxy.log", "w"),
                                    stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, [balancer])
        yield Cluster(url, replicas, ports, balancer, start_replica)
    finally:
        for process in [*replicas.values(), *([balancer] if balancer else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*replicas.values(), *([balancer] if balancer else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


class Supervisor:
    """Keeps a cluster's replicas running: a replica that exits (a crash, `kill -9`, the kernel's
    out-of-memory killer) is started again on its port after a back-off that doubles while it keeps
    dying young (1 s up to 60 s), while HAProxy sends its sessions to the others. The balancer is
    the one process whose end ends the cluster."""

    def __init__(self, running: Cluster, log: Callable[[str], None],
                 first_delay_s: float = 1.0, max_delay_s: float = 60.0, healthy_after_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.running, self.log, self.clock = running, log, clock
        self.first_delay_s, self.max_delay_s, self.healthy_after_s = first_delay_s, max_delay_s, healthy_after_s
        self.delay = {name: first_delay_s for name in running.replicas}
        self.started = {name: clock() for name in running.replicas}
        self.due: dict[str, float] = {}  # name -> when a dead replica is started again
        self.restarts = 0

    def check(self) -> bool:
        """One look at every process; False once the balancer has gone."""
        now = self.clock()
        for name, process in self.running.replicas.items():
            if name in self.due or process.poll() is None:
                continue
            if now - self.started[name] > self.healthy_after_s:
                self.delay[name] = self.first_delay_s  # it had been up a while: not a crash loop
            self.due[name] = now + self.delay[name]
            self.log(f"replica {name} (pid {process.pid}) exited with status {process.returncode}; "
                     f"starting it again in {self.delay[name]:g} s")
            self.delay[name] = min(2 * self.delay[name], self.max_delay_s)
        for name, when in list(self.due.items()):
            if now >= when:
                del self.due[name]
                process = self.running.restart(name)
                self.started[name], self.restarts = now, self.restarts + 1
                self.log(f"replica {name} started again (pid {process.pid}, port {self.running.ports[name]})")
        if self.running.balancer.poll() is not None:
            self.log(f"HAProxy exited with status {self.running.balancer.returncode}: stopping the replicas")
            return False
        return True


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--bind", default="0.0.0.0", help="the balancer's address (replicas stay on 127.0.0.1)")
    args = parser.parse_args()
    say = lambda line: print(line, flush=True)
    with cluster(args.replicas, args.port, args.bind) as running:
        say(f"CNN Explorer: {args.replicas} replicas behind HAProxy on http://{args.bind}:{args.port}; "
            "Ctrl-C stops them all")
        for name, process in running.replicas.items():
            say(f"replica {name} (pid {process.pid}, port {running.ports[name]})")
        stop = lambda *_: (_ for _ in ()).throw(KeyboardInterrupt)
        signal.signal(signal.SIGTERM, stop)
        supervisor = Supervisor(running, say)
        try:
            while supervisor.check():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
