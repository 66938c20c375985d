"""Slides: an ordered list of saved views a lecturer steps through, and presenter mode."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from explorer import samples, weights
from explorer.i18n import t
from explorer.ui import cache, navigation
from explorer.views import View

# What a slide's point rests on, and so what it may be shown with:
#   "architecture": counts and shapes, the same once trained — the lecture's own network, trained or not;
#   "mechanism":    what a layer does to any input (LRN has no weights);
#   "initialisation": what a network does before training (gradients at the start of training);
#   "trained":      what trained networks do — the lecture's network where its weights are here,
#                   else the trained network this machine has.
RESTS_ON = ("architecture", "mechanism", "initialisation", "trained")


@dataclass(frozen=True)
class Slide:
    name: str  # its title is the text "slides.<name>"
    page: str  # a page's name (explorer/ui/navigation.py)
    network: str  # the lecture's network for it
    rests_on: str  # one of RESTS_ON
    sample: str = "Cat"
    extra: tuple[tuple[str, str], ...] = ()  # page parameters of the view (see permalinks.linked)
    subject: str = ""  # the key of the element the slide is about, scrolled to; "": the page's top

    @property
    def shown(self) -> str:
        """The network the slide opens with."""
        return weights.trained_network(self.network) if self.rests_on == "trained" else self.network

    @property
    def view(self) -> View:
        return View(self.page, self.shown, dict(self.extra))


SLIDES = (
    Slide("alexnet_input", "home", "alexnet2012", "architecture"),
    Slide("alexnet_layers", "activations", "alexnet2012", "mechanism", extra=(("tap", "norm1"),)),
    Slide("zfnet", "compare", "zfnet", "architecture", extra=(("nets", "alexnet2012,zfnet"),)),
    Slide("vgg_costs", "costs", "vgg16", "architecture", extra=(("tap", "conv5_3"),),
          subject="layer_costs"),
    Slide("googlenet", "inception", "googlenet_paper", "architecture", extra=(("module", "inception_3a"),)),
    Slide("resnet", "gradient_flow", "resnet34", "initialisation", subject="flow_blocks"),
    Slide("claims", "lecture", "resnet50", "trained"),
)

# Prose larger for the back row; tables and charts keep their size, which their layout is made for
# (scaled with the page, their labels were cut and covered each other at 1366×768).
PRESENTER_CSS = """<style>
[data-testid="stMain"] [data-testid="stMarkdownContainer"] :is(p, li),
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 21px; }
[data-testid="stMain"] [data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p { font-size: 16px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-top: 1.5rem; }
header[data-testid="stHeader"] { display: none; }
[data-testid="stMetricValue"] { font-size: 2.2rem; }
</style>"""


def controls(on_start: Callable[[], None]) -> None:
    """Sidebar: presenter mode and the slide stepper (a click, or ←/→, opens the slide's page and
    view). Presenter mode is kept outside the toggle's own state, which a page switch can drop;
    `on_start` runs when the deck is opened (to warm every slide's computation)."""
    st.session_state["presenter"] = presenting()  # a redrawn toggle shows the kept choice
    st.toggle(t("slides.presenter"), key="presenter", help=t("slides.presenter_help"), on_change=_keep_presenter)
    index = st.session_state.get("slide", -1)
    previous, following = st.columns(2)
    go_back = previous.button("◀", key="slide_previous", disabled=index <= 0, help=t("slides.previous"),
                              shortcut="left", width="stretch")
    go_on = following.button("▶", key="slide_next", disabled=index >= len(SLIDES) - 1, help=t("slides.next"),
                             shortcut="right", width="stretch")
    st.caption(t("slides.position", number=index + 1, total=len(SLIDES), title=t(f"slides.{SLIDES[index].name}"))
                  if index >= 0 else t("slides.count", total=len(SLIDES)))
    if go_back or go_on:
        if index < 0:
            on_start()
        st.session_state["slide"] = index + (1 if go_on else -1)
        slide = SLIDES[st.session_state["slide"]]
        query = slide.view.query(slide.sample) | url_params()
        st.session_state["_pending_view"] = query  # applied before the widgets of the next run
        st.session_state["_scroll_to"] = slide.subject
        st.switch_page(navigation.page(slide.page), query_params=query)


def url_params() -> dict[str, str]:
    """What the URL says of the deck, so a reload (or the link on another screen) keeps presenter
    mode and the slide: present=1, slide=<number from 1>."""
    index = st.session_state.get("slide", -1)
    return ({"present": "1"} if presenting() else {}) | ({"slide": str(index + 1)} if index >= 0 else {})


def restore(params: dict[str, str]) -> None:
    """The deck as a URL of `url_params` left it; anything else in the URL changes nothing."""
    if params.get("present") == "1":
        st.session_state["_presenter"] = True
    number = params.get("slide", "")
    if number.isdigit() and 1 <= int(number) <= len(SLIDES):
        st.session_state["slide"] = int(number) - 1


def on_screen(page: str, network: str) -> Slide | None:
    """The slide being shown, if the page (a file stem, "" for Home) and network on screen are
    still the ones it opened (a lecturer may have wandered off since)."""
    index = st.session_state.get("slide", -1)
    if index < 0:
        return None
    slide = SLIDES[index]
    return slide if page in {slide.page, "" if slide.page == "home" else slide.page} and network == slide.shown \
        else None


def presenting() -> bool:
    return bool(st.session_state.get("_presenter"))


def _keep_presenter() -> None:
    st.session_state["_presenter"] = st.session_state["presenter"]


# Waits for the element (charts are drawn after the script ends), then scrolls it to the top, and
# once more when pictures above it have loaded and moved it.
_SCROLL_JS = """<script>
(() => {{
  const until = Date.now() + 30000;
  const find = () => {{
    const element = document.querySelector('.st-key-{key}');
    if (element) {{
      element.scrollIntoView({{block: 'start'}});
      setTimeout(() => element.scrollIntoView({{block: 'start'}}), 1500);
    }} else if (Date.now() < until) setTimeout(find, 200);
  }};
  find();
}})();
</script>"""


def scroll_to_subject() -> None:
    """After the page, on the run a slide opened: bring what the slide is about into view (at
    1366×768 a slide's subject can be below the fold). Later reruns leave the scrolling to the
    lecturer."""
    key = st.session_state.pop("_scroll_to", "")
    if key:
        st.html(_SCROLL_JS.format(key=key), unsafe_allow_javascript=True)


def presenter_style() -> None:
    if presenting():
        st.html(PRESENTER_CSS)


def warm_deck() -> None:
    """Compute every slide's network and analysis in the background when a deck is opened, so each
    slide opens at once (the results are shared by every session)."""
    def warm() -> None:
        for slide in SLIDES:
            path = samples.path(slide.sample)
            try:
                cache.analysis(cache.loaded_model(slide.shown), cache.sample(path))
            except Exception:  # the slide itself computes again and shows what went wrong
                logging.getLogger(__name__).warning("warming slide %s failed", slide.name, exc_info=True)

    thread = threading.Thread(target=warm, daemon=True, name=cache.BACKGROUND_THREADS[1])
    add_script_run_ctx(thread)  # Streamlit's caches expect a session's context
    thread.start()
