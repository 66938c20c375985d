"""The pages, as one table, and links into them. Adding a page is its file, its row here and its
texts ("app.page.<name>"): app.py, the benchmarks and the tests read this table."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import streamlit as st

from explorer import i18n
from explorer.i18n import t
from explorer.views import View


@dataclass(frozen=True)
class Page:
    name: str  # the file stem, the URL path (Home's is "") and the title text "app.page.<name>"
    icon: str

    @property
    def file(self) -> str:
        return f"pages/{self.name}.py"

    @property
    def url_path(self) -> str:
        """Where Streamlit serves it: the default page at the root."""
        return "" if self.name == "home" else self.name


PAGES = (  # in the order of the navigation; the first is the default
    Page("home", ":material/home:"),
    Page("activations", ":material/grid_view:"),
    Page("costs", ":material/functions:"),
    Page("graph", ":material/account_tree:"),
    Page("inception", ":material/call_split:"),
    Page("gradient_flow", ":material/trending_down:"),
    Page("compare", ":material/compare_arrows:"),
    Page("efficient", ":material/bolt:"),
    Page("features", ":material/visibility:"),
    Page("attribution", ":material/center_focus_strong:"),
    Page("lecture", ":material/school:"),
)
FILES = {page.name: page.file for page in PAGES}
_INDEX = {page.name: index for index, page in enumerate(PAGES)}


_BUILT: dict[str, list[st.Page]] = {}  # language -> the pages, titled in it


def navigation() -> st.Page:
    """The page this run shows. The st.Page objects are built once per language: building one
    resolves its file through the file system (a realpath), which was about a tenth of a warm
    session's server CPU. Each run gets its own shallow copies, because st.navigation marks the one
    it returns as callable once, and Page.run clears the mark: shared, two sessions could race on it."""
    return st.navigation([copy.copy(page) for page in _built()])


def _built() -> list[st.Page]:
    code = i18n.language()
    if code not in _BUILT:
        _BUILT[code] = [st.Page(page.file, title=t(f"app.page.{page.name}"), icon=page.icon, default=index == 0)
                        for index, page in enumerate(PAGES)]
    return _BUILT[code]


def page(name: str) -> st.Page:
    """The page `name` as this run's navigation built it, for links and switches: Streamlit finds a
    page given by its file through the file system again (a realpath per link; the Lecture draws a
    dozen)."""
    return _built()[_INDEX[name]]


def link(view: View, label: str, icon: str = ":material/arrow_forward:", sample: str | None = None) -> None:
    """A link that opens `view`, keeping the reader's sample photo."""
    st.page_link(page(view.page), label=label, icon=icon, query_params=view.query(sample))


def switch(view: View, sample: str | None = None) -> None:
    st.switch_page(page(view.page), query_params=view.query(sample))
