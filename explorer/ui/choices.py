"""The session's choices behind the sidebar's widgets (network, image, language, lecture tools):
kept apart from the widgets' own state, which a rerun under load or a page switch can drop."""
from __future__ import annotations

from typing import Callable, Sequence

import streamlit as st

from explorer import i18n, samples, weights, zoo

_KEPT = "_kept"  # widget key -> the value the session chose: the truth behind the sidebar's widgets

DEFAULTS = {"image_source": "Sample", "sample": next(iter(samples.FILES)), "named": []}

SOURCES = ("Sample", "Upload")


def _default(key: str) -> object:
    """A first visit's choice; its network is one with trained weights on this machine."""
    return weights.trained_network() if key == "network" else DEFAULTS.get(key)


def choose(key: str, value: object) -> None:
    """Make a choice for the session (a link, a slide, a button): its widget shows it when drawn."""
    st.session_state.setdefault(_KEPT, {})[key] = value


def chosen(key: str) -> object:
    """The session's choice for a sidebar widget, whether or not the widget was drawn this run."""
    kept = st.session_state.setdefault(_KEPT, {})
    if key not in kept:  # first run: a value set before it (AppTest, restore_view), else the default
        kept[key] = st.session_state[key] if key in st.session_state else _default(key)
    return kept[key]


def keep(key: str) -> None:
    choose(key, st.session_state[key])


def kept_index(key: str, options: Sequence[object]) -> int:
    """Before a sidebar widget: its value and default index from the kept choice.

    A run that is interrupted (a rerun under load) or never draws the widget would otherwise
    leave the widget to its first option, and a browser that mounts it afresh sends that
    first option back as if the person had chosen it; with the kept choice as the default,
    whatever the browser sends is the session's own choice."""
    value = chosen(key)
    if value not in options:
        default = _default(key)
        value = default if default in options else options[0]
        choose(key, value)
    st.session_state[key] = value
    return list(options).index(value)


def add_named(name: str, pick: bool = True) -> str | None:
    """Add a network found by name to this session's list (and choose it, if `pick`); the
    reason, if it cannot be (an unknown name, a network that is not a CNN)."""
    name = name.strip()
    try:
        key = zoo.get(name).key
    except (KeyError, ValueError) as error:
        return str(error.args[0]) if error.args else str(error)
    if key not in zoo.REGISTRY:
        choose("named", list(dict.fromkeys([*(chosen("named") or []), key])))
    if pick:
        choose("network", key)
    return None


def session_networks() -> list[str]:
    """The networks this session can pick: the registered ones in the lecture's order, then
    those it found by name."""
    return [spec.key for specs in zoo.by_family().values() for spec in specs] + list(chosen("named") or [])


def network_name() -> Callable[[str], str]:
    """A select box's format_func naming networks in the language active now (keys relabelled)."""
    return i18n.bound(lambda key: zoo.get(key).name)


def relabelled(key: str) -> str:
    """The key of a select box whose option labels are texts: the browser keeps showing the old
    label after a language switch unless the value is sent again, which `relabel` does."""
    st.session_state.setdefault("_relabelled", set()).add(key)
    return key


def relabel() -> None:
    for key in st.session_state.get("_relabelled", ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
