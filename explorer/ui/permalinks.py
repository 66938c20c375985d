"""Permalinks: the URL as a link to what is shown, and links opened into the session's choices
and the pages' widgets (a slide's view, a permalink, a deep link to a fresh server)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import streamlit as st

from explorer import i18n, samples, zoo
from explorer.ui import choices, slides

ROOT = Path(__file__).resolve().parents[2]

def detour(page: str) -> None:
    """Run app.py first, then the page file `page` with this URL's parameters (see sidebar.current)."""
    st.session_state["_deep_link"] = (str(Path(page).resolve().relative_to(ROOT)),
                                      {k: st.query_params[k] for k in st.query_params})
    st.switch_page(str(ROOT / "app.py"))


def follow_deep_link() -> None:
    """In app.py: finish the `detour`, with the link's query parameters."""
    link = st.session_state.pop("_deep_link", None)
    if link:
        st.session_state["_pending_view"] = link[1]
        st.switch_page(link[0], query_params=link[1])


def restore_view() -> None:
    """Before anything is drawn: take the view a slide asked for, or the URL's when it says
    something we did not write (a permalink opened, a link followed), and set the language.
    Network, sample and language are applied here; page parameters wait for `linked`."""
    params = st.session_state.pop("_pending_view", None)
    if params is None:
        params = {k: st.query_params[k] for k in st.query_params}
        if params in st.session_state.get("_urls_written", ()):
            params = {}
    st.session_state["_incoming_view"] = params
    slides.restore(params)
    if params.get("slide"):
        choices.choose("lecture_tools", True)  # a reloaded deck shows its controls
    if params.get("net"):
        choices.add_named(params["net"])  # a registered network, or one found by name; an unknown name changes nothing
    if params.get("img") in samples.FILES:
        choices.choose("sample", params["img"])
        choices.choose("image_source", "Sample")
    if params.get("lang") in i18n.LANGUAGES:
        choices.choose("lang", params["lang"])
    if choices.chosen("lang") not in i18n.LANGUAGES:  # a first visit: the browser's language
        choices.choose("lang", "zh" if (st.context.locale or "").lower().startswith("zh") else i18n.DEFAULT)
    i18n.set_language(choices.chosen("lang"))


def linked(param: str, state_key: str, options: Sequence[object]) -> None:
    """Before a page's widget: a link naming `param` chooses the widget's value, if it is one of
    `options` (compared as text, as URLs carry them). A link applies once: a fragment's rerun,
    which does not read the URL again, must not set the widget back."""
    wanted = st.session_state.get("_incoming_view", {}).pop(param, None)
    match = next((option for option in options if str(option) == wanted), None)
    if wanted is not None and match is not None:
        st.session_state[state_key] = match


def linked_list(param: str, state_key: str, options: Sequence[object], most: int) -> None:
    """Before a multiselect: a link naming `param` ("a,b,c") chooses those of its values that are
    `options`, at most `most` of them (once, as `linked`)."""
    wanted = st.session_state.get("_incoming_view", {}).pop(param, None)
    if wanted is not None:
        by_text = {str(option): option for option in options}
        chosen = [by_text[value] for value in dict.fromkeys(wanted.split(",")) if value in by_text][:most]
        if chosen:
            st.session_state[state_key] = chosen


def linked_networks(param: str, state_key: str, most: int) -> list[str]:
    """Before a multiselect of networks: `linked_list` over this session's networks, where the
    link may name networks found by name (they join the session's list). The options."""
    wanted = st.session_state.get("_incoming_view", {}).get(param) or ""
    for name in wanted.split(","):
        if name and name not in zoo.REGISTRY:
            choices.add_named(name, pick=False)  # an unknown name adds nothing; linked_list then drops it
    options = choices.session_networks()
    linked_list(param, state_key, options, most)
    return options


def share(**params: object) -> None:
    """After a page's widgets: the URL carries their values, so a copied link reopens this view
    (None takes a parameter out, as when the view no longer has it)."""
    page = st.session_state["_page"]
    shared = st.session_state.setdefault("_shared", {}).setdefault(page, {})
    for name, value in params.items():
        if value is None:
            shared.pop(name, None)
        else:
            shared[name] = str(value)
    write_url(page)


def write_url(page: str) -> None:
    """Keep the URL a permalink of what is shown (uploads cannot travel in a URL)."""
    wanted = {"net": choices.chosen("network")}
    if choices.chosen("image_source") == "Sample":
        wanted["img"] = choices.chosen("sample")
    if choices.chosen("lang") != i18n.DEFAULT:
        wanted["lang"] = choices.chosen("lang")
    wanted |= slides.url_params() | st.session_state.get("_shared", {}).get(page, {})
    if {k: st.query_params[k] for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)
    # Every URL this session wrote, not only the last: under load the browser can ask for a
    # rerun before it has applied the newest one, and an older URL of ours is no new link (taking
    # it for one turned a fresh "Upload" choice back into the sample).
    written = st.session_state.setdefault("_urls_written", [])
    if wanted not in written:
        written[:] = written[-31:] + [wanted]
