"""Slides: an ordered list of saved views a lecturer steps through, and presenter mode."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Slide:
    page: str
    network: str
    sample: str
    title: str


SLIDES = (
    Slide("pages/home.py", "alexnet2012", "Cat", "AlexNet: the input and the mean it subtracts"),
    Slide("pages/activations.py", "alexnet2012", "Cat", "AlexNet: what each layer sees"),
    Slide("pages/compare.py", "zfnet", "Cat", "AlexNet vs ZFNet, and the lecture's five"),
    Slide("pages/costs.py", "vgg16", "Cat", "VGG16: weights in fc6, compute in the convolutions"),
    Slide("pages/inception.py", "googlenet_paper", "Cat", "GoogLeNet: why the 1×1 reductions"),
    Slide("pages/gradient_flow.py", "resnet34", "Cat", "ResNet: gradients through the shortcut"),
    Slide("pages/lecture.py", "resnet50", "Cat", "Every claim, measured"),
)

PRESENTER_CSS = """<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 21px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-top: 1.5rem; }
header[data-testid="stHeader"] { display: none; }
[data-testid="stMetricValue"] { font-size: 1.7rem; }
</style>"""


def controls() -> None:
    """Sidebar: presenter mode and the slide stepper (a click opens the slide's page and view)."""
    st.toggle("Presenter mode", key="presenter", help="Larger text, no header: for projecting.")
    index = st.session_state.get("slide", -1)
    previous, label, following = st.columns([1, 3, 1], vertical_alignment="center")
    go_back = previous.button("◀", key="slide_previous", disabled=index <= 0, help="Previous slide")
    go_on = following.button("▶", key="slide_next", disabled=index >= len(SLIDES) - 1, help="Next slide")
    label.caption(f"Slide {index + 1} of {len(SLIDES)}: {SLIDES[index].title}" if index >= 0
                  else f"{len(SLIDES)} slides")
    if go_back or go_on:
        st.session_state["slide"] = index + (1 if go_on else -1)
        slide = SLIDES[st.session_state["slide"]]
        view = {"net": slide.network, "img": slide.sample}
        st.session_state["_pending_view"] = view  # applied before the widgets of the next run
        st.switch_page(slide.page, query_params=view)


def presenter_style() -> None:
    if st.session_state.get("presenter"):
        st.html(PRESENTER_CSS)
