"""The only streamlit code outside app.py and pages/: sidebar, cached loaders, page helpers.

app.py imports this package before serving any page, so every module the app and its pages
use is imported here, once. Streamlit runs each session's script in its own thread, and
sessions arriving at once on a fresh server imported the same modules at the same moment:
Python's per-module import locks then hand a thread a half-initialised module inside an
import cycle ("partially initialized module 'pandas'"; torchvision's transforms and models:
"cannot import name 'InterpolationMode'", under twenty sessions). While one thread imports
this package, the others wait for it whole.
"""
import importlib
import pkgutil

import pandas  # noqa: F401  (for the pages: see above)
import plotly.express  # noqa: F401
import plotly.graph_objects  # noqa: F401

import explorer


def _import_every_module() -> None:
    for module in pkgutil.walk_packages(explorer.__path__, prefix="explorer."):
        if not module.name.endswith("__main__"):  # running it is the command line
            importlib.import_module(module.name)


_import_every_module()
