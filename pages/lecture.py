"""Lecture: the classic-CNN lecture's claims, each measured live, with a link to where it shows."""
import pandas as pd
import streamlit as st

from explorer import lecture, zoo
from explorer.i18n import t
from explorer.ui import cache, navigation, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
st.title(t("lecture.title"))
st.caption(t("lecture.intro"))
with st.expander(t("lecture.timeline_title")):
    widgets.table(cache.table("lecture_timeline", None, None, build=lambda: pd.DataFrame(
                      [{t("lecture.column.year"): m.year, t("lecture.column.network"): zoo.get(m.network).name,
                        t("lecture.column.top5"): m.top5_error,
                        t("lecture.column.reported"): t(f"lecture.timeline.{m.key}")} for m in lecture.TIMELINE])),
                  key="timeline",
                  column_config={t("lecture.column.top5"): st.column_config.NumberColumn(format="%.2f %%")})
    st.caption(t("lecture.timeline_caption"))


def card(found: lecture.Card) -> None:
    """The claim's card and a link to the page and view where a student can see it."""
    widgets.claim_cards([found.claim])
    navigation.link(found.view, t("lecture.see_it", page=t(f"app.page.{found.view.page}"),
                                  name=zoo.get(found.view.network).name), sample=selection.sample)


titles = {name: t(f"zoo.family.{name}") if name in zoo.FAMILIES else t(f"lecture.tab.{name}")
          for name in lecture.SECTIONS}
by_title = {title: name for name, title in titles.items()}
permalinks.linked("section", "_lecture_section", lecture.SECTIONS)
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
                st.page_link(navigation.page("efficient"), label=t("lecture.efficient_designs"), icon=":material/bolt:")
permalinks.share(section=section)
