"""Helpers for driving app.py with Streamlit's AppTest."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@contextmanager
def navigation_pinned() -> Iterator[None]:
    """Streamlit's PagesManager treats a pages/ folder beside the entry script as a legacy
    multipage app whenever its class flag is unset, and AppTest unsets it before every
    run; a rerun then executes the page file without app.py. app.py always uses
    st.navigation, so pin the flag to False as the running server does after its first run.
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init
    try:
        yield
    finally:
        PagesManager.__init__ = original


def start(network: str = "alexnet", page: str | None = None, timeout: float = 300) -> AppTest:
    """app.py run once with the network chosen, then switched to `page` if given."""
    app = AppTest.from_file(APP, default_timeout=timeout)
    app.session_state["network"] = network
    app.run()
    if page:
        app.switch_page(page).run()
    return app


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.exception]


def upload(app: AppTest, data: bytes, name: str, mime: str = "image/jpeg") -> AppTest:
    app.radio(key="image_source").set_value("Upload").run()
    app.file_uploader(key="upload").set_value((name, data, mime))
    return app.run()


def texts(app: AppTest) -> str:
    """Everything a person reads on the page, for assertions on wording."""
    parts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info",
                                  "warning", "error", "success") for e in getattr(app, kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))  # markdown escapes as read


def drawn(app: AppTest) -> str:
    """Everything the last run drew apart from the widgets (whose protos carry their own state
    changes; a keyed chart has a widget's id too, and counts) and emptied placeholders (a
    progress bar shown only while a network was built): two runs that show the same page give
    the same text."""
    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    return "\n".join(f"{node.type}:{node.proto}" for node in walk(app._tree)
                     if not isinstance(node, Block) and getattr(node, "proto", None) is not None
                     and node.type != "empty"
                     and (node.type == "plotly_chart" or not str(getattr(node.proto, "id", "")).startswith("$$ID")))


def open_link(page: str, **params: str) -> AppTest:
    """A fresh session opening app.py's `page` with a URL carrying `params` (a permalink)."""
    app = AppTest.from_file(APP, default_timeout=300)
    app.query_params.update(params)
    app.switch_page(page)
    return app.run()


def param(app: AppTest, name: str) -> str | None:
    """The value of `name` in the session's URL now."""
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value
