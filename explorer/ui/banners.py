"""What the pages say around their content: the weights in use, an untrained network, the replica
a session moved from, the device."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from explorer import backend, weights, zoo
from explorer.i18n import t
from explorer.ui import choices, slides
from explorer.ui.widgets import escape_markdown

if TYPE_CHECKING:
    from explorer.ui.sidebar import Selection

def weights_label(status: weights.WeightsStatus) -> str:
    """How a page names the weights in use."""
    if status.yours:
        return t("sidebar.weights_yours", file=escape_markdown(status.uploaded_file))
    return t("sidebar.weights_pretrained", source=status.source) if status.pretrained else t("sidebar.weights_random")


def random_weights_banner(selection: Selection) -> None:
    """One sentence for students; why, and the fix for teachers, behind a toggle."""
    status, spec = selection.loaded.status, selection.spec
    why = weights.why_random(spec, status)
    if why is None:
        return
    if slides.presenting():  # one line: on a projector the slide's subject comes first
        slide = slides.on_screen(st.session_state["_page"], spec.key)
        text = f"slides.random.{slide.rests_on}" if slide else "sidebar.random_one_line"
        st.caption(f":material/warning: {t(text, name=spec.name)}")
        return
    trained = weights.trained_network(spec.key)
    short = t("sidebar.random_short", name=spec.name)
    if trained != spec.key:
        short += " " + t("sidebar.trained_elsewhere", name=zoo.get(trained).name)
    st.warning(short, icon=":material/warning:")
    with st.expander(t("sidebar.random_details")):
        st.markdown(t("sidebar.random_banner", why=why))
        if trained != spec.key:
            st.button(t("sidebar.try_trained", name=zoo.get(trained).name), key="try_trained", on_click=choices.choose,
                      args=("network", trained))


def moved_notice() -> None:
    """Behind the load balancer (deploy/): when the replica that held this browser's session has
    stopped, the balancer sends it to another one, which starts a new session from the page's URL;
    say so once, so a student knows why widgets not in the link are back to their defaults."""
    here = os.environ.get("EXPLORER_REPLICA_NAME")
    if not here or st.session_state.get("_moved_told"):  # reading the headers builds them anew
        return
    before = st.context.headers.get("X-Explorer-Was")
    if before and before != here:
        st.session_state["_moved_told"] = True
        st.info(t("sidebar.moved"), icon=":material/swap_horiz:")


def backend_box(selection: Selection) -> None:
    """Device, and the forward time of the last analysis, if this page ran one."""
    with st.sidebar:
        st.caption(t("sidebar.backend", device=backend.device_name(selection.loaded.device)))
        run = selection.shown_analysis()
        if run is not None:
            st.caption(t("sidebar.last_analysis", ms=run.seconds * 1000, device=run.device))
            if run.fell_back:
                st.warning(str(run.fell_back))
