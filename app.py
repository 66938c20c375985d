"""CNN Explorer: pick a classic CNN, give it an image, and see inside it."""
from pathlib import Path

import streamlit as st

from explorer.i18n import t
from explorer.ui import collector, sidebar, slides

st.set_page_config(page_title="CNN Explorer", page_icon=":material/neurology:", layout="wide")
sidebar.restore_view()  # before any text: it sets the language

PAGES = [  # (file, icon); titles are texts "app.page.<file stem>"
    ("pages/home.py", ":material/home:"),
    ("pages/activations.py", ":material/grid_view:"),
    ("pages/costs.py", ":material/functions:"),
    ("pages/graph.py", ":material/account_tree:"),
    ("pages/inception.py", ":material/call_split:"),
    ("pages/gradient_flow.py", ":material/trending_down:"),
    ("pages/compare.py", ":material/compare_arrows:"),
    ("pages/efficient.py", ":material/bolt:"),
    ("pages/features.py", ":material/visibility:"),
    ("pages/attribution.py", ":material/center_focus_strong:"),
    ("pages/lecture.py", ":material/school:"),
]

navigation = st.navigation([st.Page(path, title=t(f"app.page.{Path(path).stem}"), icon=icon, default=index == 0)
                            for index, (path, icon) in enumerate(PAGES)])
sidebar.follow_deep_link()
selection = sidebar.render(navigation.url_path)
if selection is None:
    st.stop()
slides.presenter_style()
sidebar.moved_notice()
sidebar.random_weights_banner(selection)
navigation.run()
slides.scroll_to_subject()
sidebar.backend_box(selection)
collector.settle(navigation.url_path)  # this page is warm now: see explorer/ui/collector.py
