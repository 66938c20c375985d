"""The only streamlit code outside app.py and pages/: sidebar, cached loaders, page helpers."""
