"""Twenty sessions at once on one server: no errors, no cross-talk, bounded memory.

Each session speaks Streamlit's websocket protocol (harness.streamlit_client) and is checked
against a prediction this process makes on its own; the browser under a class is test_class_load's.
"""
import asyncio
import itertools
import json
import subprocess

import pytest
import torch

from explorer import i18n, images, inference, samples
from harness import browser, streamlit_client

pytestmark = pytest.mark.browser
NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "resnet18", "alexnet"]
SESSIONS = list(itertools.product(NETWORKS, samples.FILES))[:20]  # 5 networks x 4 images


def expected_top1() -> dict[tuple[str, str], set[str]]:
    """What each session may show as its top bar, computed independently in this process: the best
    class, or any of those tied with it within float rounding (an untrained MobileNetV3's logits
    are all about 1e-9, so which comes first depends on the order of the sums)."""
    found = {}
    for network in NETWORKS:
        loaded = inference.load(network, torch.device("cpu"))
        for sample in samples.FILES:
            image = images.load(samples.path(sample).read_bytes())
            predictions = inference.top_k(inference.analyse(loaded, image, taps=()).record.logits, 1000)
            found[network, sample] = {f"{p.label} ({p.index})" for p in predictions
                                      if p.prob > predictions[0].prob * (1 - 1e-6)}
    return found


def _top1_shown(visit: streamlit_client.Visit) -> str:
    """The top-5 chart's best bar (drawn last, on top)."""
    charts = [delta.new_element.plotly_chart for delta in visit.screens[0]
              if delta.new_element.WhichOneof("type") == "plotly_chart"]
    return json.loads(charts[0].spec)["data"][0]["y"][-1]


def _captions(visit: streamlit_client.Visit) -> str:
    return "\n".join(delta.new_element.markdown.body for delta in visit.screens[0]
                     if delta.new_element.WhichOneof("type") == "markdown")


def _server_and_children_mb(pid: int) -> float:
    output = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True)
    return sum(int(v) for v in output.stdout.split()) / 1024


async def _arrive(url: str) -> list[streamlit_client.Visit]:
    return await asyncio.gather(*(streamlit_client.visit(url, f"net={network}&img={sample}", [], keep_screens=True)
                                  for network, sample in SESSIONS))


def test_twenty_sessions_at_once_see_their_own_results():
    expected = expected_top1()
    with browser.streamlit_server() as url:
        visits = asyncio.run(_arrive(url))
        server_mb = _server_and_children_mb(browser.last_server_pid())
    for (network, sample), visit in zip(SESSIONS, visits):
        assert visit.error is None and not visit.exceptions, (network, sample, visit.error, visit.exceptions)
        with i18n.use("en"):
            assert f"sample: {i18n.t(f'sample.{sample}')}" in _captions(visit), (network, sample)
        assert _top1_shown(visit) in expected[network, sample], (network, sample)
    assert server_mb < 4096
