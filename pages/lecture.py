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


def deeper_vgg() -> None:
    """VGG16 beside VGG19, block by block: the three extra 3×3 layers and what they cost."""
    stack = lecture.deeper_stack()
    names = [zoo.get(key).name for key in (stack.shallow, stack.deep)]

    def rows() -> pd.DataFrame:
        stage_names = [t("lecture.deeper.block", block=a.name, size=a.size[0], channels=a.channels) if a.size
                       else t("lecture.deeper.classifier") for a, _b in stack.stages]
        totals = {"layers": stack.layers, "params": stack.params, "macs": stack.macs}
        return pd.DataFrame([{t("lecture.deeper.stage"): stage} | {
            t(f"lecture.deeper.{column}", name=name): getattr(stage_cost, column)
            for column in ("layers", "params", "macs") for name, stage_cost in zip(names, pair)}
            for stage, pair in zip(stage_names, stack.stages)] + [{t("lecture.deeper.stage"): t("lecture.deeper.total")} | {
            t(f"lecture.deeper.{column}", name=name): value
            for column in ("layers", "params", "macs") for name, value in zip(names, totals[column])}])

    st.subheader(t("lecture.deeper.title", shallow=names[0], deep=names[1]))
    widgets.table(cache.table("deeper_vgg", None, None, build=rows), key="deeper_vgg",
                  column_config={t(f"lecture.deeper.{c}", name=name): st.column_config.NumberColumn(format="localized")
                                 for c in ("params", "macs") for name in names})
    added_params, added_macs = stack.added
    grown = t("common.list_separator").join(t("lecture.deeper.grown", block=stage.name, size=stage.size[0], added=added)
                                            for stage, added in stack.grown)
    st.caption(t("lecture.deeper.caption", shallow=names[0], deep=names[1], grown=grown,
                 params=added_params, macs=added_macs,
                 params_share=added_params / stack.params[0], macs_share=added_macs / stack.macs[0],
                 shallow_top1=zoo.get(stack.shallow).top1, deep_top1=zoo.get(stack.deep).top1))


def lesion_table() -> None:
    """The residual-lesion card's study, block by block: which blocks the trained network needs."""
    study = cache.lesions(lecture.trained_or_stand_in("resnet50", cache)[1])
    st.subheader(t("lecture.lesions.title", name=zoo.get(study.key).name))
    widgets.table(cache.table("lesions", cache.loaded_model(study.key), None, build=lambda: pd.DataFrame(
                      [{t("lecture.lesions.block"): found.block,
                        t("lecture.lesions.kept"): t("lecture.lesions.of", kept=found.top1_kept, images=found.images),
                        t("lecture.lesions.similarity"): found.similarity} for found in study.lesions])),
                  key="lesions", column_config={t("lecture.lesions.similarity"): st.column_config.NumberColumn(format="%.3f")})
    st.caption(t("lecture.lesions.caption"))


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
            if name == "vgg":
                deeper_vgg()
            if name == "resnet":
                lesion_table()
            if name == "efficient":
                st.page_link(navigation.page("efficient"), label=t("lecture.efficient_designs"), icon=":material/bolt:")
permalinks.share(section=section)
