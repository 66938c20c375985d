"""A warm session is cheap for the server (issue 26): no full garbage collection after every script
run, pictures encoded once for every session and handed on by Streamlit as they are, and memory
flat over a thousand sessions. Sessions speak Streamlit's websocket protocol to a real server that
runs under bench/gc_probe.py, which counts the collections from inside the server process."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from explorer import activations, figures, inference
from harness import browser, memory, streamlit_client
from harness.paths import ROOT

QUERY = "net=efficientnet_lite0"


def _class(url: str, count: int, pages: list[str], fetch_media: bool = False) -> list[streamlit_client.Visit]:
    async def arrive():
        return await asyncio.gather(*[streamlit_client.visit(url, QUERY, pages, fetch_media=fetch_media)
                                      for _ in range(count)])
    visits = asyncio.run(arrive())
    assert [v.error for v in visits if v.error or v.exceptions] == []
    return visits


def _probe(path: str) -> dict:
    from bench import gc_probe

    time.sleep(0.6)  # the probe writes its totals every quarter second
    return gc_probe.read(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    probe = str(tmp_path_factory.mktemp("gc") / "gc.json")
    with browser.streamlit_server({"GC_PROBE_FILE": probe}, launcher="bench.gc_probe") as url:
        yield url, probe, browser.last_server_pid()


def test_two_sessions_are_sent_the_same_picture_bytes_that_were_encoded_once(server):
    url, _, _ = server
    first, second = _class(url, 2, ["activations"], fetch_media=True)
    assert first.images and first.images == second.images  # a media URL is the hash of its bytes
    served = first.media
    assert served == second.media and set(served) == set(first.images)
    # the first-layer kernels as the core draws them, byte for byte: Streamlit re-encoded nothing
    kernels = activations.first_layer(inference.load("efficientnet_lite0")).kernels
    assert figures.png_bytes(figures.kernel_grid(kernels)) in served.values()
    assert all(data.startswith((b"\x89PNG", b"\xff\xd8")) for data in served.values())


def test_memory_stays_flat_and_no_full_collection_runs_per_session_over_a_thousand_sessions(server):
    url, probe, pid = server
    for _ in range(4):  # warm: every cache this visit fills, filled
        _class(url, 25, [])
    start_rss, start_gc = memory.rss_mb(pid), _probe(probe)
    for _ in range(40):
        _class(url, 25, [])
    end_rss, end_gc = memory.rss_mb(pid), _probe(probe)
    assert end_rss <= 1.05 * start_rss, (start_rss, end_rss)
    # Streamlit's default is one full collection after every run: 1,000 here
    assert end_gc["full_collections"] - start_gc["full_collections"] <= 20, (start_gc, end_gc)


def test_each_page_freezes_what_lives_once_per_process():
    program = ("import gc; from explorer.ui import collector; assert gc.get_freeze_count() == 0; "
               "first = collector.settle('home'); frozen = gc.get_freeze_count(); again = collector.settle('home'); "
               "same = gc.get_freeze_count() == frozen; kept = [[i] for i in range(1000)]; other = collector.settle('costs'); "
               "print(first, again, same, frozen > 10_000, other, gc.get_freeze_count() > frozen)")
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "False", "True", "True", "True", "True"], done.stderr


def test_the_server_runs_no_collection_after_each_script_run():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def _in_thread(work):
    """work() run in another thread, as another session's script thread runs it."""
    found = []
    thread = threading.Thread(target=lambda: found.append(work()))
    thread.start()
    thread.join(60)
    return found[0]


def test_a_picture_is_drawn_and_encoded_once_and_every_session_gets_those_bytes(cat_image):
    import numpy as np

    from explorer.ui import cache

    draws = []

    def draw():
        draws.append(1)
        return np.full((8, 8, 3), 7, np.uint8)

    mine = cache.picture("test_picture", None, cat_image, 1, draw=draw)
    theirs = _in_thread(lambda: cache.picture("test_picture", None, cat_image, 1, draw=draw))
    assert theirs is mine and mine.startswith(b"\x89PNG") and draws == [1]
    assert cache.picture("test_picture", None, cat_image, 2, draw=draw) is not mine and draws == [1, 1]
    photo = cache.picture("test_picture", None, cat_image, 1, draw=draw, photo=True)
    assert photo.startswith(b"\xff\xd8") and draws == [1, 1, 1]  # JPEG, its own entry


def test_a_figure_is_built_once_per_language_and_shared(cat_image):
    from explorer import i18n
    from explorer.ui import cache

    builds = []

    def build():
        builds.append(i18n.language())
        return figures.top_k_bar([inference.Prediction(281, i18n.t("figures.probability"), 0.5)])

    english = cache.figure("test_figure", None, cat_image, build=build)
    assert _in_thread(lambda: cache.figure("test_figure", None, cat_image, build=build)) is english
    with i18n.use("zh"):
        chinese = cache.figure("test_figure", None, cat_image, build=build)
    assert builds == ["en", "zh"] and chinese.layout.title.text != english.layout.title.text


def test_the_bare_reference_page_draws_every_element_and_block_the_apps_page_drew(server):
    """bench/warm.py's ratio is only fair if plain Streamlit draws what the app drew: every kind the
    app's Compare page and Lecture page send (Compare: the most elements; Lecture: tabs), counted
    the same way, comes back from bench/bare_page.py in the same numbers."""
    from bench.warm import elements_query

    url, _, _ = server
    app = asyncio.run(streamlit_client.visit(url, QUERY, ["compare", "lecture"]))
    assert not app.error and not app.exceptions
    wanted = [counts for counts in app.elements[1:]]
    assert {"block:column", "block:tab", "block:tab_container", "dataframe", "multiselect", "imgs"} <= set(
        wanted[0] | wanted[1])
    with browser.streamlit_server(script=ROOT / "bench" / "bare_page.py") as bare_url:
        bare = asyncio.run(streamlit_client.visit(bare_url, elements_query(wanted[0]), [""],
                                                  page_queries=[elements_query(wanted[1])]))
    assert not bare.error and not bare.exceptions
    assert bare.elements == wanted


def test_a_server_starts_serving_while_its_warm_up_is_still_running(monkeypatch, capsys):
    """deploy/start.py hands over to Streamlit at once: the warm-up (held here until Streamlit has
    started) runs beside it, so the health check never waits for the app's imports or networks."""
    from streamlit.web import cli

    from deploy import start
    from explorer.ui import warmup

    release, started_while_warming = threading.Event(), []

    def held_warm_up() -> tuple[str, str]:
        assert release.wait(60)
        return "a network", "a sample"

    def streamlit_main() -> None:  # Streamlit's own start, as `streamlit run` would begin it
        warming = [thread for thread in threading.enumerate() if thread.name == "explorer-warm-up"]
        started_while_warming.append(bool(warming) and warming[0].is_alive() and warming[0].daemon)
        release.set()
        warming[0].join(60)

    monkeypatch.setattr(warmup, "warm", held_warm_up)
    monkeypatch.setattr(cli, "main", streamlit_main)
    start.main(["run", "app.py"])
    assert started_while_warming == [True]
    assert "a network, the residual/plain twins and the lecture's five networks on the sample a sample" in capsys.readouterr().err


def test_the_warm_up_computes_what_a_first_visit_then_only_reads(cat_image):
    """The warm-up's keys are the first visit's: after it, opening Home, Activations, Gradient flow,
    Compare (the lecture's five networks) and the Lecture's ResNet tab builds no network and
    analyses nothing (every model, sample and analysis key the visit uses is already there)."""
    from explorer.cache import clear_memos
    from explorer.ui import cache, warmup
    from harness import apptest

    cache.results().clear()
    clear_memos()
    assert warmup.warm() == ("efficientnet_lite0", "Cat")
    kinds = ("model", "sample", "analysis", "first_layer", "input_views", "picture:kernels:png", "twins", "lesions")
    warmed = {key for key in cache.results().keys() if key[0] in kinds}
    assert {key[0] for key in warmed} == set(kinds)
    with apptest.navigation_pinned():
        first = apptest.start("efficientnet_lite0")
        assert not first.exception
        for page in ("pages/activations.py", "pages/gradient_flow.py", "pages/compare.py"):
            first.switch_page(page).run()
            assert not first.exception
        first.session_state["_lecture_section"] = "resnet"  # the Lecture's ResNet tab, as its click sets it
        first.switch_page("pages/lecture.py").run()
        assert not first.exception
    assert {key for key in cache.results().keys() if key[0] in kinds} == warmed


def test_streamlits_server_is_imported_before_the_warm_up_starts_importing_the_app():
    """Two threads importing into one import cycle can hand one a half-initialised module: the
    warm-up's thread once met 'partially initialized module pandas' in Streamlit's own start, and
    the replica died. So in a fresh interpreter, Streamlit, its server and pandas are all imported
    when the thread starts (Streamlit's start is stubbed out: nothing is served)."""
    probe = f"""
import sys, threading
from streamlit.web import cli
cli.main = lambda: None
start = threading.Thread.start
def started(self):
    if self.name == "explorer-warm-up":
        print(sorted(name for name in ("streamlit.web.bootstrap", "pandas", "plotly.graph_objects",
                     "streamlit.web.server.starlette.starlette_server", "torch") if name in sys.modules))
        return
    start(self)
threading.Thread.start = started
sys.path.insert(0, {str(ROOT)!r})
from deploy import start as deployed
deployed.main(["run", "app.py"])
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["pandas", "plotly.graph_objects", "streamlit.web.bootstrap",
                                       "streamlit.web.server.starlette.starlette_server"])
