"""A real `streamlit run` server and Debian's headless Chromium, driven by Playwright."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--disable-dev-shm-usage"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
_SERVERS: list[int] = []


def last_server_pid() -> int:
    """The process id of the most recent `streamlit_server` (for memory checks)."""
    return _SERVERS[-1]


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_path() -> str | None:
    """Debian's Chromium; missing is a failure under CI=true and a skip elsewhere."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    (ROOT / "tests" / "artifacts").mkdir(parents=True, exist_ok=True)
    log = open(ROOT / "tests" / "artifacts" / f"streamlit-{port}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    _SERVERS.append(process.pid)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def chromium(user_data_dir: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir), executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 2400})
        try:
            yield context
        finally:
            context.close()


def wait_idle(page, timeout: float = 180_000) -> None:
    """Let a rerun start, then wait until the script has finished."""
    page.wait_for_timeout(400)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)


def exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


def choose(page, label: str, option: str) -> None:
    """Pick an option of a st.selectbox by its visible text."""
    widget = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    widget.locator("input").click()
    page.keyboard.type(option.split(" · ")[-1])  # the list is virtualised: filter it first
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)
