"""Server time of every page's first view and of every warm interaction, for the lecture's networks.

app.py is driven by Streamlit's AppTest, which runs the script in this process as a server would:
a first view starts from the caches of a freshly started server whose start-up warm-up is done
(everything else empty: models, results, memoized counts); so does the first open of what a page computes only when a person
asks for it (each Lecture tab, each attribution method that runs at once, each Gradient flow
setting), held to the same target; an interaction is one widget change on the page just shown. Each
figure is also given as a ratio to a bare forward pass of the same network measured in the same run,
so the targets (5 s first view, 10 s for the Inception page of Inception-v3/v4, 1 s per interaction,
on 2 CPU cores) travel to other machines as ratios of that machine's own forward pass.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from bench.common import Result, seconds
from explorer import attribution, backend, compare, images, inception, lecture, weights, zoo
from explorer.cache import clear_memos
from explorer.ui import cache, navigation, warmup
from harness import apptest

SAMPLE = "assets/samples/cat.jpg"
LECTURE = tuple(compare.PRESETS["lecture"])
FIRST_VISIT = "efficientnet_lite0"  # what a first visit opens on a machine without downloaded weights
PAGES = tuple(navigation.FILES.values())
FIRST_VIEW_S, INTERACTION_S = 5.0, 1.0
SLOW_FIRST_VIEWS = {("inception_v3", "pages/inception.py"): 10.0, ("inception_v4", "pages/inception.py"): 10.0}
# a bare forward of the sample on the 2-core machine the targets were set on (median seconds, measured
# by `bare_forward` there): the ratio targets are the seconds targets in units of these
REFERENCE_FORWARD_S = {"alexnet": 0.015, "zfnet": 0.029, "vgg16": 0.19, "googlenet": 0.026, "resnet50": 0.165,
                       "inception_v3": 0.22, "inception_v4": 0.37, "efficientnet_lite0": 0.021}

Action = Callable[[AppTest, str], object]


def _pick_other(widget) -> object:
    """A value of a select box other than its current one."""
    return next(option for option in widget.options if option != widget.value)


def _channel(app: AppTest, _key: str) -> object:
    box = next(box for box in app.selectbox if str(box.key).startswith("channel:"))
    return box.select_index(1).run()


# the widgets a lecturer moves on each page that redraw without new numbers (keys as the pages set them);
# besides these, every page is timed rerunning (as presenter mode or the glossary make it) and in the
# other language
INTERACTIONS: dict[str, dict[str, Action]] = {
    "pages/activations.py": {
        "layer step": lambda app, key: app.button(key=f"tap:{key}:next").click().run(),
        "K": lambda app, _key: app.slider(key="grid_k").set_value(8).run(),
        "channel": _channel,
        "overlay opacity": lambda app, _key: app.slider(key="overlay_opacity").set_value(0.3).run()},
    "pages/costs.py": {
        "receptive-field step": lambda app, key: app.button(key=f"rf_tap:{key}:next").click().run(),
        "treemap by": lambda app, _key: app.radio(key="treemap_by").set_value("macs").run()},
    "pages/inception.py": {
        "module step": lambda app, key: app.button(key=f"inception_module:{key}:next").click().run(),
        "maps per branch": lambda app, _key: app.slider(key="branch_k").set_value(4).run()},
    "pages/gradient_flow.py": {"training steps": lambda app, _key: app.slider(key="train_steps").set_value(100).run()},
    "pages/compare.py": {"like with like": lambda app, _key: app.toggle(key="like_with_like").set_value(False).run()},
    "pages/attribution.py": {"opacity": lambda app, _key: app.slider(key="attr_opacity").set_value(0.3).run()},
    "pages/efficient.py": {"shuffle groups": lambda app, _key: app.select_slider(key="shuffle_groups").set_value(4).run()},
    "pages/graph.py": {"colour by": lambda app, _key: app.radio(key="graph_by").set_value("params").run(),
                       "find a layer": lambda app, _key: app.selectbox(key="graph_find").select_index(0).run()},
    "pages/features.py": {"steps": lambda app, _key: app.select_slider(key="fv_steps").set_value(64).run(),
                          "image size": lambda app, _key: app.select_slider(key="fv_size").set_value(96).run()},
}


def _lecture_tab(section: str) -> Action:
    def open_tab(app: AppTest, _key: str) -> AppTest:
        app.session_state["_lecture_section"] = section  # what a click on the tab sets (its on_change)
        return app.run()
    return open_tab


def _left_method(method: str) -> Action:
    return lambda app, _key: app.selectbox(key="left_method").set_value(method).run()


def _radio(key: str, value: str) -> Action:
    return lambda app, _key: app.radio(key=key).set_value(value).run()


# what a page computes only when asked, each opened once after the first view and held to its target
FIRST_OPENS: dict[str, dict[str, Action]] = {
    "pages/lecture.py": {f"tab {section}": _lecture_tab(section) for section in lecture.SECTIONS[1:]},
    "pages/attribution.py": {f"method {method}": _left_method(method) for method in attribution.METHODS
                             if method not in attribution.SLOW_METHODS and method != "gradcam"},
    "pages/graph.py": {"every module": _radio("graph_level", "modules")},  # a new layout: dot places hundreds of boxes
    "pages/gradient_flow.py": {"batch statistics": _radio("flow_bn", "train"),
                               "zero-initialised last BN": _radio("flow_init", "zero"),
                               "no BatchNorm": _radio("flow_bn", "none"),
                               "the 18-layer pair": lambda app, _key: app.selectbox(key="flow_pair").set_value("18").run()},
}
# interactions that set what a button will run and so draw nothing until it is pressed
SETS_ONLY = {("pages/gradient_flow.py", "training steps")}
EVERY_PAGE: dict[str, Action] = {
    "rerun": lambda app, _key: app.run(),
    "language": lambda app, _key: app.segmented_control(key="lang").set_value("zh").run()}


@dataclass(frozen=True)
class Visit:
    """One page visited on a fresh server: its first view and each interaction, in seconds."""
    key: str
    page: str
    first_views: dict[str, float]  # "first view", then each of the page's FIRST_OPENS
    interactions: dict[str, float]
    changed: dict[str, bool]  # each FIRST_OPENS and interaction: did the page draw something else?


_WARMED: dict = {}  # what the warm-up put in the results store, computed once per process


def fresh_server() -> None:
    """Every cache a page fills as a restarted server has them once its start-up warm-up is done
    (deploy/start.py): emptied, then holding the warm-up's results (explorer/ui/warmup.py; computed
    once, then put back)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    store = cache.results()
    store.clear()
    clear_memos()
    if not _WARMED:
        warmup.warm()
        _WARMED.update((key, store.get_or_compute(key, lambda: None)) for key in store.keys())
    for key, value in _WARMED.items():
        store.put(key, value)


def _checked(app: AppTest, what: str) -> AppTest:
    if app.exception:
        raise RuntimeError(f"{what}: {app.exception[0].value}")
    return app


def visit(key: str, page: str) -> Visit:
    """Open `page` with network `key` on a fresh server, then move each of its widgets once."""
    fresh_server()
    start = time.perf_counter()
    app = apptest.start(key, None if page == "pages/home.py" else page, timeout=600)
    first_views = {"first view": time.perf_counter() - start}
    _checked(app, f"{key} {page}")
    changed: dict[str, bool] = {}
    first_views |= _timed(app, key, page, FIRST_OPENS.get(page, {}), changed)
    without_widgets = page == "pages/inception.py" and not inception.modules(key)  # the page says so and stops
    interactions = _timed(app, key, page, EVERY_PAGE | ({} if without_widgets else INTERACTIONS.get(page, {})),
                          changed)
    cache.wait_for_background()  # what the page left running is not the next visit's
    return Visit(key, page, first_views, interactions, changed)


def _timed(app: AppTest, key: str, page: str, actions: dict[str, Action], changed: dict[str, bool]
           ) -> dict[str, float]:
    """Seconds of each action, in turn, on the app as the previous one left it; `changed` notes
    whether each drew something other than what was there before it."""
    times = {}
    for name, action in actions.items():
        before = apptest.drawn(app)
        start = time.perf_counter()
        action(app, key)
        times[name] = time.perf_counter() - start
        _checked(app, f"{key} {page} {name}")
        changed[name] = apptest.drawn(app) != before
    return times


def bare_forward(key: str, device: torch.device) -> float:
    """Median seconds of one forward pass of the sample through a private copy of the network."""
    spec = zoo.get(key)
    model = weights.load(spec)[0].to(device).eval()
    x = images.preprocess(images.load(open(SAMPLE, "rb").read()).image, spec.preprocess).to(device)

    def forward():
        with torch.no_grad():
            model(x).cpu()
    return seconds(forward)


def _results(key: str, visits: list[Visit], forward: float) -> list[Result]:
    views = [(visit.page, name, s) for visit in visits for name, s in visit.first_views.items()]
    view_page, view_name, worst_view = max(views, key=lambda view: view[2] / SLOW_FIRST_VIEWS.get((key, view[0]),
                                                                                               FIRST_VIEW_S))
    view_target = SLOW_FIRST_VIEWS.get((key, view_page), FIRST_VIEW_S)
    moves = [(visit.page, name, s) for visit in visits for name, s in visit.interactions.items()]
    page, name, worst_move = max(moves, key=lambda move: move[2])
    reference = REFERENCE_FORWARD_S[key]
    return [Result.at_most(f"first_view_slowest [{key}: {view_page} {view_name}]", worst_view, "s", view_target),
            Result.at_most(f"first_view_slowest/forward [{key}]", worst_view / forward, "ratio",
                           round(view_target / reference)),
            Result.at_most(f"interaction_slowest [{key}: {page} {name}]", worst_move, "s", INTERACTION_S),
            Result.at_most(f"interaction_slowest/forward [{key}]", worst_move / forward, "ratio",
                           round(INTERACTION_S / reference))]


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    results = []
    with apptest.navigation_pinned():
        for key in (*LECTURE, FIRST_VISIT):
            results += _results(key, [visit(key, page) for page in PAGES], bare_forward(key, device))
        for key in ("inception_v3", "inception_v4"):
            results += _results(key, [visit(key, "pages/inception.py")], bare_forward(key, device))
    return results
