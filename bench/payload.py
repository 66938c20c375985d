"""Bytes the app sends the browser for one view of a page (websocket frames + media files).

Static JavaScript bundles are excluded: a browser caches them after the first visit.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import Result

PAGES = {"home": "", "activations": "activations"}
BUDGET_BYTES = 2 * 1024 * 1024


def page_view_bytes(base_url: str, context, path: str) -> int:
    from harness import browser

    received = []
    page = context.new_page()

    def on_websocket(socket):
        socket.on("framereceived", lambda payload: received.append(len(payload)))

    def on_response(response):
        if "/media/" in response.url:
            received.append(len(response.body()))

    page.on("websocket", on_websocket)
    page.on("response", on_response)
    page.goto(f"{base_url}/{path}")
    page.wait_for_selector("[data-testid='stSidebar']", timeout=180_000)
    browser.wait_idle(page)
    page.wait_for_load_state("networkidle")  # the pictures' media requests too
    page.close()
    return sum(received)


def run(device=None) -> list[Result]:
    from harness import browser

    if browser.find_chromium() is None:
        return [Result(f"page_view_bytes [{name}]", float("nan"), "MB", 2.0, False) for name in PAGES]
    results = []
    with browser.streamlit_server() as url, browser.chromium(Path(tempfile.mkdtemp())) as context:
        page_view_bytes(url, context, "")  # warm the model caches: measure steady state
        for name, path in PAGES.items():
            size = page_view_bytes(url, context, path)
            results.append(Result.at_most(f"page_view_bytes [{name}, alexnet, sample]", size / 2**20, "MB",
                                          BUDGET_BYTES / 2**20))
    return results
