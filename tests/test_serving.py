"""Serving a lecture hall: the container image and Kubernetes manifests pass their linters, and two
real replicas behind the real HAProxy on loopback serve 40 sessions at once with affinity, then
lose a replica without losing a session."""
import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from deploy import serve
from tests import streamlit_client
from tests.conftest import ROOT

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


def test_a_killed_replica_sends_its_sessions_to_the_other_with_a_message(cluster):
    async def visits_and_a_crash():
        running = asyncio.ensure_future(_class(cluster.url, 10, pause_s=4.0))
        await asyncio.sleep(2.0)  # every session has its first page; none has its second
        await asyncio.to_thread(cluster.kill, "r1")
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
