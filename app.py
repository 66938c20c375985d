"""CNN Explorer: pick a classic CNN, give it an image, and see inside it."""
import streamlit as st

from explorer.ui import sidebar, slides

st.set_page_config(page_title="CNN Explorer", page_icon=":material/neurology:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/activations.py", title="Activations", icon=":material/grid_view:"),
    st.Page("pages/costs.py", title="Parameters & FLOPs", icon=":material/functions:"),
    st.Page("pages/inception.py", title="Inception branches", icon=":material/call_split:"),
    st.Page("pages/gradient_flow.py", title="Gradient flow", icon=":material/trending_down:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/attribution.py", title="Attribution", icon=":material/center_focus_strong:"),
    st.Page("pages/lecture.py", title="Lecture", icon=":material/school:"),
]

navigation = st.navigation(PAGES)
sidebar.follow_deep_link()
selection = sidebar.render()
if selection is None:
    st.stop()
slides.presenter_style()
sidebar.random_weights_banner(selection)
navigation.run()
sidebar.backend_box(selection)
