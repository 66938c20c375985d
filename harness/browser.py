"""A real `streamlit run` server and Debian's headless Chromium, driven by Playwright."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from deploy.serve import free_port, streamlit_command, wait_healthy
from harness.paths import ARTIFACTS, ROOT

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--disable-dev-shm-usage"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Streamlit's own signal that a run is over: the ForwardMsg `script_finished` on the websocket,
# counted per page (FINISHED_EARLY_FOR_RERUN is a run that a rerun or a page switch cut short).
# Counted in Python because a short run can start and end between two frames of the browser, so
# the page's script-state attribute may never show it.
_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
         ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
# The script idle and every element drawn (lazily loaded ones, such as charts, show a skeleton
# until their code is in).
DRAWN = f"""() => !!document.querySelector("{IDLE}") && !document.querySelector("[data-testid='stSkeleton']")"""
# Resolves after the browser has laid out and painted twice: what the page last received is on
# screen (or after 250 ms, for a page the browser paints no frames for: one of many in the background).
_PAINTED = ("() => new Promise(done => { requestAnimationFrame(() => requestAnimationFrame(() => done()));"
            " setTimeout(() => done(), 250); })")


class _Runs:
    """Runs finished on one page, and how many of them a wait has already seen."""

    def __init__(self) -> None:
        self.finished = self.seen = 0

    def frame(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg.FromString(payload)
            if message.WhichOneof("type") == "script_finished" and message.script_finished in _DONE:
                self.finished += 1


def count_runs(page) -> None:
    """From now on, count the runs that finish on `page` (for `wait_idle`); `chromium` contexts do
    it for each page they open."""
    runs = page._explorer_runs = _Runs()
    page.on("websocket", lambda socket: socket.on("framereceived", runs.frame))


_SERVERS: list[tuple[str, int]] = []


def last_server_pid() -> int:
    """The process id of the most recent `streamlit_server` (for memory checks)."""
    return _SERVERS[-1][1]


def server_pid(url: str) -> int:
    """The process id of the `streamlit_server` at url."""
    return next(pid for served, pid in _SERVERS if served == url)


def server_log(url: str) -> Path:
    """What the `streamlit_server` at url printed."""
    return ARTIFACTS / f"streamlit-{url.rsplit(':', 1)[1]}.log"


def wait_for_line(url: str, text: str, seconds: float = 300) -> str:
    """The first line of the server's log at url containing `text`, once it is there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [line for line in server_log(url).read_text().splitlines() if text in line]
        if found:
            return found[0]
        time.sleep(0.2)
    raise TimeoutError(f"{text!r} not in {server_log(url)} after {seconds} s")


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


@contextmanager
def streamlit_server(env: dict[str, str] | None = None, script: Path = ROOT / "app.py",
                     launcher: str = "streamlit") -> Iterator[str]:
    """`python -m <launcher> run <script>` on a free loopback port until the block ends; its URL."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{port}.log", "w")  # server_log
    process = subprocess.Popen(streamlit_command(port, script, launcher), cwd=ROOT, stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    _SERVERS.append((url, process.pid))
    try:
        try:
            wait_healthy(url, [process])
        except RuntimeError:
            raise RuntimeError(f"streamlit did not start; see {log.name}") from None
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
        context.on("page", count_runs)
        try:
            yield context
        finally:
            context.close()


def wait_idle(page, timeout: float = 180_000, fresh: bool = True) -> None:
    """Until a run that finished after the last wait (a page opened, a widget moved) is drawn:
    the script idle and nothing left to draw. A step that starts no run times out here, as it
    should: the test did not do what it meant to. With `fresh=False`, until the page is idle and
    drawn, whether or not a run finished since the last wait."""
    runs = page._explorer_runs
    deadline = time.monotonic() + timeout / 1000
    while not ((runs.finished > runs.seen or not fresh) and page.evaluate(DRAWN)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no run settled in {timeout / 1000:.0f} s: {runs.finished} finished, "
                                 f"{runs.seen} seen before, drawn: {page.evaluate(DRAWN)}")
        page.wait_for_timeout(50)  # lets Playwright deliver the websocket's frames
    runs.seen = runs.finished


async def settle(page, ready: str = DRAWN, arg: object = None, timeout: float = 600_000) -> None:
    """`wait_idle` for an async page (a class of sessions at once, each `count_runs` from its
    start): until a run finished since the last settle and the JS predicate `ready` (given `arg`;
    by default the page idle and drawn) holds, and still holds once the browser has painted.
    The browser polls `ready` itself, four times a second: fifty pages asked from here twenty
    times a second kept a core busy with the asking."""
    runs = page._explorer_runs
    deadline = time.monotonic() + timeout / 1000
    while True:
        while runs.finished == runs.seen:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no run finished in {timeout / 1000:.0f} s: {runs.finished} finished")
            await asyncio.sleep(0.05)  # the page's websocket frames arrive meanwhile
        left_ms = max(1.0, (deadline - time.monotonic()) * 1000)
        await page.wait_for_function(ready, arg=arg, polling=250, timeout=left_ms)
        await page.evaluate(_PAINTED)
        if await page.evaluate(ready, arg):
            break
    runs.seen = runs.finished


async def steady_text(page, read: str, most: int = 20) -> str:
    """What the JS function `read` returns once two reads a painted frame apart agree: an
    element can finish drawing a frame after its run ended (a multiselect's chosen items, with
    the browser busy)."""
    text = await page.evaluate(read)
    for _ in range(most):
        await page.evaluate(_PAINTED)
        again = await page.evaluate(read)
        if again == text:
            return text
        text = again
    raise TimeoutError(f"the page kept changing over {most} frames")


def exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()


def choose(page, label: str, option: str) -> None:
    """Pick an option of a st.selectbox by its visible text."""
    widget = page.get_by_test_id("stSelectbox").filter(has=page.get_by_text(label, exact=True))
    widget.locator("input").click()
    page.keyboard.type(option)  # the list is virtualised: filter it first
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


# Text of a plotly chart that a person cannot read: outside its chart (cut off at the edge) or
# over another label of the same chart (bubble labels, bar labels, axis ticks).
_LAYOUT_PROBLEMS_JS = """
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) problems.push(`page scrolls sideways: ${doc.scrollWidth}px`);
  // a label Streamlit shortens with "…" (selectbox values, page links, metric labels, tabs); not an
  // uploader's file-type list, which it shortens in any narrow column (the limit before it stays)
  document.querySelectorAll('[data-testid="stMain"] *, [data-testid="stSidebar"] *').forEach(element => {
    if (element.closest('[data-testid="stFileUploaderDropzoneInstructions"]')) return;
    const style = getComputedStyle(element);
    if (style.textOverflow === 'ellipsis' && element.scrollWidth > element.clientWidth + 1 &&
        element.clientWidth > 0 && style.visibility !== 'hidden' && element.textContent.trim())
      problems.push(`"${element.textContent.trim()}" is cut to ${element.clientWidth}px`);
  });
  document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller').forEach((grid, index) => {
    if (grid.scrollWidth > grid.clientWidth + 1)
      problems.push(`table ${index} scrolls sideways: ${grid.scrollWidth}px in ${grid.clientWidth}px`);
  });
  document.querySelectorAll('.js-plotly-plot').forEach((plot, index) => {
    const box = plot.getBoundingClientRect();
    const texts = [...plot.querySelectorAll('text')].filter(t => t.textContent.trim() &&
      getComputedStyle(t).visibility !== 'hidden' && t.getBoundingClientRect().width > 0);
    const rects = texts.map(t => t.getBoundingClientRect());
    texts.forEach((t, i) => {
      const r = rects[i];
      if (r.left < box.left - 2 || r.right > box.right + 2 || r.top < box.top - 2 || r.bottom > box.bottom + 2)
        problems.push(`chart ${index}: "${t.textContent}" is cut off`);
      for (let j = 0; j < i; j++) {
        const o = rects[j];
        const w = Math.min(r.right, o.right) - Math.max(r.left, o.left);
        const h = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
        if (w > 3 && h > 3 && w * h > 0.25 * Math.min(r.width * r.height, o.width * o.height))
          problems.push(`chart ${index}: "${t.textContent}" covers "${texts[j].textContent}"`);
      }
    });
  });
  return problems;
}
"""


def layout_problems(page) -> list[str]:
    """Sideways scrolling (of the page or a table), labels shortened with an ellipsis, and chart labels cut off or covering
    each other."""
    return page.evaluate(_LAYOUT_PROBLEMS_JS)


def screenshot_whole_page(page, path: Path) -> None:
    """The whole page at the viewport's width: Streamlit scrolls inside its main block, so a
    full-page screenshot alone stops at the window's height."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": max(height, page.viewport_size["height"])})
    page.evaluate(_PAINTED)
    page.screenshot(path=str(path), full_page=True)
