"""Twenty sessions at once on one server: no errors, no cross-talk, bounded memory."""
import asyncio
import itertools
import subprocess

import pytest
import torch

from explorer import i18n, images, inference, samples
from harness import browser

pytestmark = pytest.mark.browser
NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "resnet18", "alexnet"]
SESSIONS = list(itertools.product(NETWORKS, samples.FILES))[:20]  # 5 networks x 4 images


def expected_top1() -> dict[tuple[str, str], str]:
    """What each session must show, computed independently in this process."""
    found = {}
    for network in NETWORKS:
        loaded = inference.load(network, torch.device("cpu"))
        for sample in samples.FILES:
            image = images.load(samples.path(sample).read_bytes())
            found[network, sample] = inference.top_k(inference.analyse(loaded, image, taps=()).record.logits, 1)[0].label
    return found


async def one_session(context, url: str, network: str, sample: str) -> tuple[str, list[str]]:
    page = await context.new_page()
    browser.count_runs(page)
    await page.goto(f"{url}/?net={network}&img={sample}", timeout=300_000)
    await browser.settle(page, timeout=300_000)
    await page.locator(".js-plotly-plot").first.wait_for(timeout=300_000)
    text = await page.inner_text("[data-testid='stMain']")
    errors = await page.locator("[data-testid='stException']").all_inner_texts()
    await page.close()
    return text, errors


async def drive(url: str) -> list[tuple[str, list[str]]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=browser.chromium_path(), headless=True,
                                                    args=browser.CHROMIUM_FLAGS)
        context = await chromium.new_context(viewport={"width": 1200, "height": 1600})
        try:
            return await asyncio.gather(*(one_session(context, url, n, s) for n, s in SESSIONS))
        finally:
            await chromium.close()


def _server_and_children_mb(pid: int) -> float:
    output = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid), "-p", str(pid)], capture_output=True, text=True)
    return sum(int(v) for v in output.stdout.split()) / 1024


def test_twenty_sessions_at_once_see_their_own_results():
    expected = expected_top1()
    with browser.streamlit_server() as url:
        results = asyncio.run(drive(url))
        server_mb = _server_and_children_mb(browser.last_server_pid())
    for (network, sample), (text, errors) in zip(SESSIONS, results):
        assert not errors, (network, sample, errors)
        with i18n.use("en"):
            assert f"sample: {i18n.t(f'sample.{sample}')}" in text, (network, sample)
        assert expected[network, sample] in text, (network, sample, expected[network, sample])
    assert server_mb < 4096
