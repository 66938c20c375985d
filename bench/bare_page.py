"""The reference page for `bench/warm.py`: plain Streamlit, no app logic, drawing the elements and
layout blocks a page of the app draws — `?elements=markdown:12,imgs:3,block:column:4` draws twelve
markdown blocks, three 224×224 images and four columns (each kind by its most ordinary call), so
the server CPU a warm session of the app costs can be set against Streamlit's own cost for the same
page. Kinds are the names in Streamlit's messages (`harness.streamlit_client` counts them so).

Run by `streamlit run bench/bare_page.py`; it imports nothing of the app."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

PICTURE = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)


def _chart() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b", "c", "d", "e"], y=[3, 1, 4, 1, 5]), layout={"height": 240})


DRAW = {  # element kind (Element's oneof name) -> one element of that kind
    "heading": lambda i: st.subheader(f"Heading {i}"),
    "markdown": lambda i: st.markdown(f"Some **text** number {i}, as a caption or a paragraph."),
    "imgs": lambda i: st.image(PICTURE, caption=f"picture {i}"),
    "plotly_chart": lambda i: st.plotly_chart(_chart(), key=f"chart{i}"),
    "metric": lambda i: st.metric(f"Metric {i}", f"{i * 1.5:.1f} M"),
    "dataframe": lambda i: st.dataframe(pd.DataFrame({"a": range(5), "b": list("vwxyz")}), key=f"df{i}"),
    "button": lambda i: st.button(f"Button {i}", key=f"button{i}"),
    "download_button": lambda i: st.download_button(f"Download {i}", b"abc", f"f{i}.txt", key=f"download{i}"),
    "selectbox": lambda i: st.selectbox(f"Choice {i}", [f"option {n}" for n in range(10)], key=f"select{i}"),
    "multiselect": lambda i: st.multiselect(f"Choices {i}", [f"option {n}" for n in range(10)], key=f"multi{i}"),
    "slider": lambda i: st.slider(f"Slider {i}", 0, 10, 3, key=f"slider{i}"),
    "checkbox": lambda i: st.toggle(f"Toggle {i}", key=f"toggle{i}"),
    "radio": lambda i: st.radio(f"Radio {i}", ["a", "b", "c"], key=f"radio{i}", horizontal=True),
    "button_group": lambda i: st.segmented_control(f"Segments {i}", ["a", "b", "c"], key=f"segments{i}"),
    "number_input": lambda i: st.number_input(f"Number {i}", 0, 10, 1, key=f"number{i}"),
    "text_input": lambda i: st.text_input(f"Text {i}", key=f"text{i}"),
    "file_uploader": lambda i: st.file_uploader(f"Upload {i}", key=f"upload{i}"),
    "page_link": lambda i: st.page_link(f"https://example.org/{i}", label=f"A link {i}"),
    "alert": lambda i: st.info(f"A notice {i}"),
    "progress": lambda i: st.progress(0.5),
    "empty": lambda i: st.empty(),
    "block:expandable": lambda i: st.expander(f"Expander {i}"),
    "block:popover": lambda i: st.popover(f"Popover {i}"),
    "block:flex_container": lambda i: st.container(border=True),
}


def _layout(counts: dict[str, int]) -> dict[str, int]:
    """Columns and tabs, which come as a row or a tab bar holding them: all columns in one row (its
    own flex container, taken from the count) and all tabs under one bar; what is left to draw."""
    left = dict(counts)
    columns = left.pop("block:column", 0)
    if columns:
        st.columns(columns)
        left["block:flex_container"] = left.get("block:flex_container", 0) - 1
    tabs, bars = left.pop("block:tab", 0), left.pop("block:tab_container", 0)
    for bar in range(bars):
        share = tabs // bars + (bar < tabs % bars)
        st.tabs([f"Tab {bar}.{n}" for n in range(share)])
    return left


requested = {kind: int(count or 1) for kind, _, count in
             (item.rpartition(":") for item in filter(None, st.query_params.get("elements", "").split(",")))}
for kind, count in _layout(requested).items():
    draw = DRAW[kind]  # a kind not drawn here fails the session, so the benchmark says so
    for index in range(count):
        draw(index)
