"""CNN Explorer: pick a classic CNN, give it an image, and see inside it."""
import streamlit as st

from explorer.ui import banners, collector, navigation, permalinks, sidebar, slides

st.set_page_config(page_title="CNN Explorer", page_icon=":material/neurology:", layout="wide")
permalinks.restore_view()  # before any text: it sets the language

page = navigation.navigation()
permalinks.follow_deep_link()
selection = sidebar.render(page.url_path)
if selection is None:
    st.stop()
slides.presenter_style()
banners.moved_notice()
banners.random_weights_banner(selection)
page.run()
slides.scroll_to_subject()
banners.backend_box(selection)
collector.settle(page.url_path)  # this page is warm now: see explorer/ui/collector.py
