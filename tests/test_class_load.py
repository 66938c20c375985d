"""A class arriving at once, in real headless Chromium against `streamlit run`:

- 16 sessions open their own permalink (network and language), switch to Upload, upload a
  photo and go back to Home; every one ends on its own network and language;
- 20 sessions open every page with different networks at once, on a fresh server; each is sent
  exactly what the same visit is sent when it is the only one, on another fresh server.
"""
import asyncio
import itertools
import re

import pytest
from google.protobuf import text_format
from playwright.async_api import TimeoutError as PlaywrightTimeout

from explorer import i18n, zoo
from explorer.ui import navigation
from harness import browser, streamlit_client
from harness.paths import ARTIFACTS, SAMPLES

pytestmark = pytest.mark.browser
IDLE_MS = 600_000
STEP_MS = 240_000  # the longest one step may take with the whole class waiting
NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "resnet18", "alexnet",
            "googlenet", "squeezenet1_0", "mobilenet_v2", "shufflenet_v2_x1_0", "resnet34"]
# every network, each language several times: the browser's side of a class (what the server
# sends a class is checked below, over the protocol, without a renderer per student)
UPLOADERS = 16
VISITORS = [(network, language) for network, language in zip(itertools.islice(itertools.cycle(NETWORKS), UPLOADERS),
                                                                itertools.cycle(["zh", "en", "en"]))]


async def _launch(playwright):
    return await playwright.chromium.launch(executable_path=browser.chromium_path(), headless=True,
                                            args=browser.CHROMIUM_FLAGS)


async def _new_page(context):
    page = await context.new_page()
    browser.count_runs(page)
    return page


async def upload_and_go_home(context, url: str, network: str, language: str, number: int) -> dict:
    """One student's visit; on a failure, the step it stopped at and a screenshot."""
    page = await _new_page(context)
    step = "open"
    try:
        await page.goto(f"{url}/?net={network}&lang={language}")
        await browser.settle(page, timeout=IDLE_MS)
        with i18n.use(language):
            upload_label = i18n.t("sidebar.source.Upload")
        sidebar = page.get_by_test_id("stSidebar")
        uploader = sidebar.locator(".st-key-upload input[type='file']")
        step = "choose Upload"
        await sidebar.locator(".st-key-image_source").get_by_text(upload_label, exact=True).click()
        await browser.settle(page, timeout=STEP_MS)
        await uploader.wait_for(state="attached", timeout=STEP_MS)
        step = "upload"
        await uploader.set_input_files(str(SAMPLES / "coffee.jpg"))
        await browser.settle(page, timeout=STEP_MS)
        await page.get_by_test_id("stMain").get_by_text("coffee.jpg").first.wait_for(timeout=STEP_MS)
        step = "go Home"
        await page.locator("[data-testid='stSidebarNav'] a").first.click()
        await browser.settle(page, timeout=STEP_MS)
        await page.locator("h1").first.wait_for(timeout=STEP_MS)
        step = "done"
        return {"url": page.url, "title": await page.locator("h1").first.inner_text(),
                "network": await sidebar.get_by_test_id("stSelectbox").first.locator("input").input_value(),
                "main": await page.inner_text("[data-testid='stMain']"),
                "errors": await page.locator("[data-testid='stException']").all_inner_texts()}
    except (PlaywrightTimeout, TimeoutError):
        await page.screenshot(path=str(ARTIFACTS / f"class-upload-{number}-{network}.png"), full_page=True)
        return {"stuck": step, "url": page.url}
    finally:
        await page.close()


async def _class_uploads(url: str) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await _launch(playwright)
        context = await chromium.new_context(viewport={"width": 1200, "height": 1400})
        context.set_default_timeout(STEP_MS)  # sixteen pages loading at once take longer than 30 s
        try:
            return await asyncio.gather(*(upload_and_go_home(context, url, n, l, i)
                                          for i, (n, l) in enumerate(VISITORS)))
        finally:
            await chromium.close()


def test_sixteen_sessions_that_upload_and_navigate_keep_their_network_and_language():
    with browser.streamlit_server() as url:
        outcomes = asyncio.run(_class_uploads(url))
    for (network, language), outcome in zip(VISITORS, outcomes):
        assert "stuck" not in outcome, (network, language, outcome)
        assert not outcome["errors"], (network, outcome["errors"])
        assert f"net={network}" in outcome["url"], (network, language, outcome["url"])
        assert ("lang=zh" in outcome["url"]) == (language == "zh"), (network, language, outcome["url"])
        assert outcome["title"] == zoo.get(network).name, (network, outcome["title"])
        assert zoo.get(network).name in outcome["network"]
        assert "coffee.jpg" in outcome["main"]


# ---------------------------------------------------------------- the numbers a class sees
# What a session is shown is what the server sends it: every element and block of the page, as
# protobuf text, read over Streamlit's own websocket protocol (harness.streamlit_client), which
# also reruns a fragment that asks to run again by itself, as the browser does. Twenty Chromium
# renderers would mostly measure a 2-core machine drawing pages; the browser journey under a
# class is the upload test above.

VISITS = [  # (page path, network, extra query parameters)
    ("", "resnet18", ""), ("", "squeezenet1_1", ""), ("", "mobilenet_v3_small", "&lang=zh"),
    ("activations", "alexnet", "&tap=conv2"), ("activations", "googlenet", "&tap=inception_4a"),
    ("activations", "vgg11", ""),
    ("graph", "googlenet", ""), ("costs", "googlenet_paper", "&tap=inception_3a"), ("efficient", "squeezenet1_1", ""),
    ("inception", "googlenet", "&module=inception_3b"), ("inception", "googlenet_paper", ""),
    ("gradient_flow", "resnet18", ""),
    ("compare", "alexnet", "&nets=alexnet2012,zfnet"),
    ("attribution", "resnet18", ""), ("attribution", "shufflenet_v2_x0_5", "&method=saliency&method2=gradcam"),
    ("lecture", "alexnet", ""),
    ("features", "efficientnet_lite0", "&tap=stage4.1&ch=3,17"), ("activations", "mobilenet_v2", "&tap=block3.1"),
    ("costs", "vgg16", "&tap=conv5_3"),
    ("", "alexnet2012", "&lang=zh"),
]
VISITS += [(page.url_path, "resnet18", "") for page in navigation.PAGES  # a page added later is visited too
           if page.url_path not in {path for path, _, _ in VISITS}]
# how long something took differs between runs (the LRN card's share of a timed pass too)
_TIMINGS = re.compile(r"\d[\d.,]*\s*(ms|s|秒|毫秒)\b|\d+\s?% of its forward pass here: [\d.,]+ of|时间的 \d+\s?%")


async def _visits(url: str, together: bool) -> list[streamlit_client.Visit]:
    calls = [streamlit_client.visit(url, f"net={network}&img=Cat{extra}", [], start=path, keep_screens=True)
             for path, network, extra in VISITS]
    if together:
        return await asyncio.gather(*calls)
    return [await call for call in calls]


# a download drawn when clicked is named by a handle each session gets afresh; what it draws is shared
_DEFERRED = re.compile(r'deferred_file_id: "[0-9a-f]+"')


def _shown(visit: streamlit_client.Visit) -> str:
    shown = "\n".join(text_format.MessageToString(delta, as_utf8=True) for delta in visit.screens[0])
    return _DEFERRED.sub("deferred_file_id: <per session>", _TIMINGS.sub("<time>", shown))


def test_twenty_sessions_on_every_page_are_sent_exactly_what_one_visitor_is_sent(artifacts):
    with browser.streamlit_server() as url:
        alone = asyncio.run(_visits(url, together=False))
    with browser.streamlit_server() as url:
        together = asyncio.run(_visits(url, together=True))
    differing = []
    for visit, one, in_class in zip(VISITS, alone, together):
        assert one.error is None and in_class.error is None, (visit, one.error, in_class.error)
        assert not one.exceptions and not in_class.exceptions, (visit, one.exceptions, in_class.exceptions)
        assert one.titles and one.titles == in_class.titles, (visit, one.titles, in_class.titles)
        if _shown(in_class) != _shown(one):  # keep both for a person to compare
            name = "-".join(part.strip("&") for part in visit if part) or "home"
            (artifacts / f"class-{name}-alone.txt").write_text(_shown(one))
            (artifacts / f"class-{name}-together.txt").write_text(_shown(in_class))
            differing.append(visit)
    assert not differing
