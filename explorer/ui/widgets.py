"""Page helpers shared by several pages."""
from __future__ import annotations

from contextlib import contextmanager
import re
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import pandas as pd
import pyarrow as pa
import streamlit as st

from explorer import zoo
from explorer.claims import Claim
from explorer.i18n import t
from explorer.ui import cache, choices

if TYPE_CHECKING:
    from explorer.ui.sidebar import Selection


def stepper(label: str, options: Sequence[str], key: str,
            format_func: Callable[[str], str] = str, default: str | None = None) -> str:
    """A selectbox with previous/next buttons, opening on `default` (the first option); its value
    survives reruns under `key`."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]

    def move(delta: int) -> None:
        index = options.index(st.session_state[key]) + delta
        st.session_state[key] = options[max(0, min(len(options) - 1, index))]

    previous, select, following = st.columns([1.3, 10, 1.3], gap="small", vertical_alignment="bottom")  # arrows uncut in a half-width column
    previous.button("◀", key=f"{key}:previous", on_click=move, args=(-1,), help=t("widgets.previous"),
                    width="stretch")
    following.button("▶", key=f"{key}:next", on_click=move, args=(1,), help=t("widgets.next"), width="stretch")
    return select.selectbox(label, options, key=key, format_func=format_func)


def picture(where, encoded: bytes, **options) -> None:
    """Show PNG or JPEG bytes (from `cache.picture`) as they are: told their format, and no wider
    than Streamlit's widest content (1460 px), st.image neither decodes nor re-encodes them."""
    where.image(encoded, output_format="PNG" if encoded.startswith(b"\x89PNG") else "JPEG", **options)


def kernel_picture(key: str, column) -> None:
    first = cache.first_layer(key)
    picture(column, cache.kernels(key), width="stretch",
            caption=t("widgets.kernels", name=zoo.get(key).name, count=first.kernels.shape[0],
                      kernel=first.kernel, stride=first.stride, path=first.path))


def kernels_beside(key: str) -> str:
    """Whose first-layer kernels are shown beside `key`'s at first (AlexNet 11x11/4 vs ZFNet 7x7/2)."""
    return "zfnet" if key != "zfnet" else "alexnet2012"


def first_layer_kernels(selection: Selection) -> None:
    """This network's RGB kernels beside another's (`kernels_beside` at first)."""
    others = [k for k in zoo.REGISTRY if k != selection.spec.key]
    default = kernels_beside(selection.spec.key)
    other = st.selectbox(t("widgets.compare_with"), others, index=others.index(default),
                         key=choices.relabelled("kernels_other"), format_func=choices.network_name())
    left, right = st.columns(2)
    kernel_picture(selection.spec.key, left)
    kernel_picture(other, right)
    st.caption(t("widgets.kernels_caption"))


NO_VALUE = "—"  # a table cell with nothing to show (a top-5 never published, fc6's receptive field)


def table(data: pd.DataFrame | pa.Table, key: str, **options) -> None:
    """A table as every page shows it: no index column, and a dash where a value does not exist
    (Streamlit writes "None" there unless told otherwise). `options` go to st.dataframe; a table
    shared by every session comes as Arrow (`cache.table`)."""
    st.dataframe(data, hide_index=True, key=key, placeholder=NO_VALUE, **options)


VERDICT_COLOURS = {"holds": "green", "roughly": "orange", "differs": "red", "unseen": "gray", "paper": "blue"}


def claim_cards(claims: Sequence[Claim]) -> None:
    """One bordered card per claim: the claim, what we measured, the verdict and why."""
    for claim in claims:
        with st.container(border=True):
            badge = f":{VERDICT_COLOURS[claim.verdict]}-badge[{t(f'widgets.verdict.{claim.verdict}')}]"
            st.markdown(f"{badge} **{claim.topic}** — {claim.statement}")
            st.markdown(t("widgets.measured", value=claim.measured))
            st.caption(claim.why)


@contextmanager
def running(cancel_key: str) -> Iterator[Callable[[float, str], None]]:
    """A progress bar and a Cancel button while long work runs, gone when it finishes; yields
    report(fraction, text). Cancel is a click: Streamlit stops this run at its next report."""
    panel = st.empty()
    with panel.container():
        bar = st.progress(0.0, text=t("widgets.starting"))
        st.button(t("widgets.cancel"), key=cancel_key, help=t("widgets.cancel_help"))
    yield lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=text)
    panel.empty()


def fell_back(*runs) -> None:
    """Say so when a result was computed on the CPU because the accelerator ran out of memory."""
    for run in runs:
        if run is not None and run.fell_back:
            st.warning(str(run.fell_back), icon=":material/memory:")


def network_buttons(keys: Sequence[str]) -> None:
    """Buttons that switch the sidebar's network (for pages meant for some families)."""
    for column, key in zip(st.columns(len(keys)), keys):
        column.button(zoo.get(key).name, key=f"switch:{key}", on_click=choices.choose, args=("network", key),
                      width="stretch")


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """User text (file names, messages quoting them) shown literally in st.markdown/captions."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)
