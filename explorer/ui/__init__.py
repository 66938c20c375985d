"""The only streamlit code outside app.py and pages/: sidebar, cached loaders, page helpers.

app.py imports this package before serving any page, so the libraries the pages use are
imported here, once: thirty sessions of a fresh server importing pandas at the same moment
from their page threads got half-initialised modules ("partially initialized module 'pandas'").
While one thread imports this package, the others wait for it whole.
"""
import pandas  # noqa: F401  (for the pages: see above)
import plotly.express  # noqa: F401
import plotly.graph_objects  # noqa: F401
