"""N replicas of the app behind HAProxy with cookie affinity, on this machine.

`make serve REPLICAS=2` (or `python -m deploy.serve --replicas 2 --port 8501`) starts the replicas
on the ports after --port + 100, writes the balancer's configuration from deploy/haproxy.cfg.template
and runs HAProxy in front until interrupted. The replicas share one cookie secret, so a session that
moves after its replica died keeps a valid XSRF cookie. Tests and benchmarks use `cluster()`.
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
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
HEALTH_INTERVAL_MS = 1000  # a dead replica is out after two failed checks (a refused one fails at once)


@dataclass
class Cluster:
    url: str  # the balancer
    replicas: dict[str, subprocess.Popen]  # name -> process
    ports: dict[str, int]
    balancer: subprocess.Popen

    def kill(self, name: str) -> None:
        """Kill one replica outright, as a crashed or evicted process."""
        self.replicas[name].kill()
        self.replicas[name].wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def haproxy_config(port: int, replicas: dict[str, int], bind: str = "127.0.0.1") -> str:
    servers = "\n".join(f"    server {name} 127.0.0.1:{replica_port} check cookie {name} inter {HEALTH_INTERVAL_MS}"
                        f" fall 2 rise 2" for name, replica_port in replicas.items())
    return TEMPLATE.read_text().format(bind=bind, port=port, servers=servers)


def _healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


def _wait(url: str, processes: list[subprocess.Popen], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not _healthy(url):
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
    try:
        for name, replica_port in ports.items():
            replicas[name] = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(replica_port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env={**os.environ, **shared, "EXPLORER_REPLICA_NAME": name, **(env or {})},
                stdout=open(logs / f"replica-{name}.log", "w"), stderr=subprocess.STDOUT)
        for name, replica_port in ports.items():
            _wait(f"http://127.0.0.1:{replica_port}", list(replicas.values()))
        config = folder / "haproxy.cfg"
        config.write_text(haproxy_config(port, ports, bind))
        balancer = subprocess.Popen([haproxy, "-f", str(config), "-db"], stdout=open(logs / "haproxy.log", "w"),
                                    stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        _wait(url, [balancer])
        yield Cluster(url, replicas, ports, balancer)
    finally:
        for process in [*replicas.values(), *([balancer] if balancer else [])]:
            if process.poll() is None:
                process.terminate()
        for process in [*replicas.values(), *([balancer] if balancer else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--bind", default="0.0.0.0", help="the balancer's address (replicas stay on 127.0.0.1)")
    args = parser.parse_args()
    with cluster(args.replicas, args.port, args.bind) as running:
        print(f"CNN Explorer: {args.replicas} replicas behind HAProxy on http://{args.bind}:{args.port} "
              f"(replicas on ports {', '.join(map(str, running.ports.values()))}); Ctrl-C stops them all", flush=True)
        stop = lambda *_: (_ for _ in ()).throw(KeyboardInterrupt)
        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in [*running.replicas.values(), running.balancer]):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
