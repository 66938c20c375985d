"""Lecture: the classic-CNN lecture's claims, each measured live, with a link to where it shows."""
from pathlib import Path

import streamlit as st

from explorer import lecture, zoo
from explorer.i18n import t
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
st.title(t("lecture.title"))
st.caption(t("lecture.intro"))


def card(found: lecture.Card) -> None:
    """The claim's card and a link to the page and view where a student can see it."""
    widgets.claim_cards([found.claim])
    params = {"net": found.network} | ({"img": selection.sample} if selection.sample else {}) | found.view
    st.page_link(found.page, label=t("lecture.see_it", page=t(f"app.page.{Path(found.page).stem}"),
                                     name=zoo.get(found.network).name),
                 icon=":material/arrow_forward:", query_params=params)


titles = {name: t(f"zoo.family.{name}") if name in zoo.FAMILIES else t(f"lecture.tab.{name}")
          for name in lecture.SECTIONS}
by_title = {title: name for name, title in titles.items()}
sidebar.linked("section", "_lecture_section", lecture.SECTIONS)
section = st.session_state.setdefault("_lecture_section", lecture.SECTIONS[0])
st.session_state["lecture_tab"] = titles[section]  # kept by name, so a language switch keeps the tab


def open_tab() -> None:
    st.session_state["_lecture_section"] = by_title[st.session_state["lecture_tab"]]


# only the open tab is measured: each tab a person opens costs its own cards, once per image
for tab, name in zip(st.tabs(list(titles.values()), key="lecture_tab", on_change=open_tab), lecture.SECTIONS):
    if tab.open:
        with tab:
            with st.spinner(t("lecture.measuring")):
                cards = cache.lecture_cards(name, selection.image, selection.spec.key)
            widgets.fell_back(*(run for found in cards for run in found.runs))
            for found in cards:
                card(found)
            if name == "efficient":
                st.page_link("pages/efficient.py", label=t("lecture.efficient_designs"), icon=":material/bolt:")
sidebar.share(section=section)
