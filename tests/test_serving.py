"""Serving a lecture hall: the container image and Kubernetes manifests pass their linters, and two
real replicas behind the real HAProxy on loopback serve 40 sessions at once with affinity, then
lose a replica without losing a session."""
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from deploy import serve
from harness import streamlit_client
from harness.paths import ROOT

NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "alexnet", "resnet18"]
PAGES = ["activations", "costs", "compare", "lecture", "graph"]
TITLES = {"activations": "Activations", "costs": "Parameters & FLOPs", "compare": "Compare architectures",
          "lecture": "The lecture's claims", "graph": "Network graph"}


def test_the_dockerfile_passes_hadolint():
    hadolint = Path(sys.executable).with_name("hadolint")
    done = subprocess.run([str(hadolint), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text and "HEALTHCHECK" in text and "/_stcore/health" in text
    # the server starts as every server of the app does, with its configuration (the collector, magic)
    assert '"-m", "deploy.start", "run", "app.py"' in text
    assert "COPY --chown=10001:10001 .streamlit/ .streamlit/" in text and "deploy/start.py" in text


def test_the_kubernetes_manifests_validate_and_pin_sessions_to_pods():
    validate = Path(sys.executable).with_name("kubernetes-validate")
    manifests = sorted(str(p) for p in (ROOT / "deploy" / "k8s").glob("*.yaml"))
    done = subprocess.run([str(validate), "--strict", "-k", "1.30.0", *manifests], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.count("passed") == len(manifests) == 4, done.stdout + done.stderr
    ingress = (ROOT / "deploy" / "k8s" / "ingress.yaml").read_text()
    assert 'affinity: "cookie"' in ingress and "proxy-read-timeout" in ingress


def test_the_balancer_configuration_is_valid_haproxy():
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.fail("HAProxy is missing: `make test` installs Debian's haproxy package")
    config = ROOT / "tests" / "artifacts" / "haproxy-check.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(serve.haproxy_config(8501, {"r1": 8601, "r2": 8602}))
    done = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def cluster(artifacts):
    logs = artifacts / "cluster"
    logs.mkdir(exist_ok=True)
    for old in logs.glob("replica-*.log"):  # the replicas append (a restarted one adds to its log): this run's only
        old.unlink()
    with serve.cluster(2, logs=logs) as running:
        yield running


async def _class(url: str, count: int, pause_s: float = 0.0) -> list[streamlit_client.Visit]:
    return await asyncio.gather(*[streamlit_client.visit(url, f"net={NETWORKS[i % len(NETWORKS)]}",
                                                         [PAGES[i % len(PAGES)]], pause_s) for i in range(count)])


def test_forty_sessions_through_two_replicas_stay_on_their_replica_and_split_the_load(cluster):
    visits = asyncio.run(_class(cluster.url, 40))
    assert [v.error for v in visits if v.error] == [] and [v.exceptions for v in visits if v.exceptions] == []
    for index, visit in enumerate(visits):
        assert len(set(visit.replicas)) == 1 and None not in visit.replicas, (index, visit.replicas)  # never moved
        assert len(visit.titles) == 2 and visit.titles[1].startswith(TITLES[PAGES[index % len(PAGES)]]), visit.titles
    shares = Counter(visit.replicas[0] for visit in visits)
    assert set(shares) == {"r1", "r2"} and all(12 <= n <= 28 for n in shares.values()), shares  # 30–70 %


def test_each_replica_starts_as_deployed_and_warms_what_its_first_sessions_open(cluster, artifacts):
    from deploy import start

    deadline = time.monotonic() + 300
    for name in cluster.ports:
        log = artifacts / "cluster" / f"replica-{name}.log"
        while start.WARMED not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)


@pytest.fixture
def served(artifacts):
    """`python -m deploy.serve`, what `make serve` runs, as a person starts it: (process, url, replica pids,
    the lines it printed so far)."""
    port = serve.free_port()
    process = subprocess.Popen([sys.executable, "-m", "deploy.serve", "--replicas", "2", "--port", str(port),
                                "--bind", "127.0.0.1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        while sum(line.startswith("replica r") for line in lines) < 2:
            assert process.poll() is None and time.monotonic() < deadline, lines
            time.sleep(0.2)
        pids = {match[1]: int(match[2]) for line in lines if (match := re.match(r"replica (r\d) \(pid (\d+)", line))}
        yield process, f"http://127.0.0.1:{port}", pids, lines
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_killed_replica_sends_its_sessions_to_the_other_and_is_started_again(served):
    process, url, pids, lines = served

    async def visits_and_a_crash():
        running = asyncio.ensure_future(_class(url, 10, pause_s=4.0))
        await asyncio.sleep(2.0)  # every session has its first page; none has its second
        os.kill(pids["r1"], signal.SIGKILL)
        return await running

    visits = asyncio.run(visits_and_a_crash())
    moved = [v for v in visits if v.replicas[0] == "r1"]
    stayed = [v for v in visits if v.replicas[0] == "r2"]
    assert moved and stayed and len(moved) + len(stayed) == 10
    assert [v.error for v in visits if v.error] == [] and [v.exceptions for v in visits if v.exceptions] == []
    for visit in stayed:
        assert set(visit.replicas) == {"r2"} and visit.reconnects == 0
    for visit in moved:
        assert visit.reconnects == 1 and visit.replicas[-1] == "r2", visit.replicas
        assert any("The server that held your session stopped" in notice for notice in visit.notices), visit.notices
        assert len(visit.titles) >= 2  # the page it asked for, on the other replica
    assert process.poll() is None, lines  # the cluster lives on
    assert any(line.startswith("replica r1 started again") for line in lines), lines
    # back in HAProxy's rotation once healthy: new sessions reach both replicas again
    deadline = time.monotonic() + 180
    while True:
        reached = {v.replicas[0] for v in asyncio.run(_class(url, 4))}
        if reached == {"r1", "r2"}:
            break
        assert time.monotonic() < deadline, reached
        time.sleep(2)


class _Process:
    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None

    def poll(self):
        return self.returncode


def test_a_replica_that_keeps_dying_is_started_again_later_each_time():
    now = [0.0]
    said: list[str] = []
    replicas = {"r1": _Process(1), "r2": _Process(2)}
    running = serve.Cluster("", replicas, {"r1": 1, "r2": 2}, _Process(0),
                            start_replica=lambda name: _Process(max(p.pid for p in replicas.values()) + 1))
    supervisor = serve.Supervisor(running, said.append, clock=lambda: now[0])
    waits = []
    for _ in range(4):  # r1 dies at once after every start: 1, 2, 4, 8 s before each new start
        replicas["r1"].returncode = -9
        dead = replicas["r1"]
        assert supervisor.check()
        started = now[0]
        while replicas["r1"] is dead:
            now[0] += 0.5
            assert supervisor.check()
        waits.append(now[0] - started)
    assert waits == [1.0, 2.0, 4.0, 8.0] and supervisor.restarts == 4 and replicas["r2"].pid == 2
    now[0] += 120  # up two minutes: its next death is not a crash loop, back to 1 s
    replicas["r1"].returncode = 1
    supervisor.check()
    assert supervisor.due["r1"] == now[0] + 1.0
    running.balancer.returncode = 0
    assert not supervisor.check() and "HAProxy exited" in said[-1]


def _health_seconds(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as response:
        assert response.read() == b"ok"
    return time.perf_counter() - start


def test_a_slowloris_client_neither_starves_the_balancer_nor_holds_its_connections(cluster):
    """1,100 connections from one address (127.0.0.2), each trickling a header line every 2 s: the
    ones past the per-source limit are refused at once, the rest are closed once the request
    timeout passes, and a student elsewhere (127.0.0.1) is answered meanwhile."""
    port = int(cluster.url.rsplit(":", 1)[1])
    held, closed_at, start = [], {}, time.monotonic()
    for index in range(serve.CONNECTIONS_PER_SOURCE + 100):
        attacker = socket.socket()
        attacker.bind(("127.0.0.2", 0))
        attacker.settimeout(5)
        held.append(attacker)
        try:
            attacker.connect(("127.0.0.1", port))
            attacker.sendall(b"GET / HTTP/1.1\r\nHost: explorer\r\n")
        except ConnectionError:
            # The balancer's reset of a connection past the limit can arrive before connect() returns
            closed_at[index] = time.monotonic() - start
    assert min(closed_at, default=serve.CONNECTIONS_PER_SOURCE) >= serve.CONNECTIONS_PER_SOURCE
    try:
        while time.monotonic() - start < 16 and len(closed_at) < len(held):
            assert _health_seconds(cluster.url) < 2.0
            for index, attacker in enumerate(held):
                if index in closed_at:
                    continue
                try:
                    attacker.sendall(b"X-Slow: 1\r\n")
                    attacker.setblocking(False)
                    if attacker.recv(4096, socket.MSG_PEEK) is not None:  # 408 or a close: the balancer let go
                        closed_at[index] = time.monotonic() - start
                except BlockingIOError:
                    pass  # still held open, nothing said yet
                except OSError:
                    closed_at[index] = time.monotonic() - start
            time.sleep(2)
        assert len(closed_at) == len(held)  # none held past the request timeout
        refused_at_once = sum(seconds < 3 for seconds in closed_at.values())
        assert refused_at_once >= 100 and max(closed_at.values()) <= 15, sorted(closed_at.values())[-5:]
    finally:
        for attacker in held:
            attacker.close()
