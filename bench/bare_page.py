"""The reference page for `bench/warm.py`: plain Streamlit, no app logic, drawing the elements a page
of the app draws — `?elements=markdown:12,imgs:3,plotly_chart:2` draws twelve markdown blocks, three
224×224 images and two small plotly charts (each kind by its most ordinary call), so the server CPU a
warm session of the app costs can be set against Streamlit's own cost for the same elements.

Run by `streamlit run bench/bare_page.py`; it imports nothing of the app."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

PICTURE = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)


def _chart() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b", "c", "d", "e"], y=[3, 1, 4, 1, 5]), layout={"height": 240})


DRAW = {  # element kind (ForwardMsg's oneof name) -> one element of that kind
    "heading": lambda i: st.subheader(f"Heading {i}"),
    "markdown": lambda i: st.markdown(f"Some **text** number {i}, as a caption or a paragraph."),
    "imgs": lambda i: st.image(PICTURE, caption=f"picture {i}"),
    "plotly_chart": lambda i: st.plotly_chart(_chart(), key=f"chart{i}"),
    "metric": lambda i: st.metric(f"Metric {i}", f"{i * 1.5:.1f} M"),
    "arrow_data_frame": lambda i: st.dataframe(pd.DataFrame({"a": range(5), "b": list("vwxyz")}), key=f"df{i}"),
    "button": lambda i: st.button(f"Button {i}", key=f"button{i}"),
    "download_button": lambda i: st.download_button(f"Download {i}", b"abc", f"f{i}.txt", key=f"download{i}"),
    "selectbox": lambda i: st.selectbox(f"Choice {i}", [f"option {n}" for n in range(10)], key=f"select{i}"),
    "slider": lambda i: st.slider(f"Slider {i}", 0, 10, 3, key=f"slider{i}"),
    "checkbox": lambda i: st.toggle(f"Toggle {i}", key=f"toggle{i}"),
    "radio": lambda i: st.radio(f"Radio {i}", ["a", "b", "c"], key=f"radio{i}", horizontal=True),
    "button_group": lambda i: st.segmented_control(f"Segments {i}", ["a", "b", "c"], key=f"segments{i}"),
    "number_input": lambda i: st.number_input(f"Number {i}", 0, 10, 1, key=f"number{i}"),
    "text_input": lambda i: st.text_input(f"Text {i}", key=f"text{i}"),
    "file_uploader": lambda i: st.file_uploader(f"Upload {i}", key=f"upload{i}"),
    "page_link": lambda i: st.markdown(f"[A link {i}](#link)"),
    "alert": lambda i: st.info(f"A notice {i}"),
    "progress": lambda i: st.progress(0.5),
    "empty": lambda i: st.empty(),
}

requested = st.query_params.get("elements", "")
for item in filter(None, requested.split(",")):
    kind, _, count = item.partition(":")
    draw = DRAW.get(kind, DRAW["markdown"])
    for index in range(int(count or 1)):
        draw(index)
