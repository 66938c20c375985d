"""Network graph: the chosen network's blocks (or every module) as dot lays them out, with their live numbers."""
import streamlit as st

from explorer import figures, graph, graph_layout, i18n
from explorer.i18n import t
from explorer.ui import cache, choices, navigation, permalinks, sidebar
from explorer.views import View

selection = sidebar.current(__file__)
spec = selection.spec
st.title(t("graph.title", name=spec.name))
st.caption(t("graph.intro"))

named = graph.blocks(spec.key)
level_column, colour_column, find_column = st.columns([2, 3, 3])
permalinks.linked("level", "graph_level", list(graph.LEVELS))
level = level_column.radio(t("graph.level"), graph.LEVELS, horizontal=True, key=choices.relabelled("graph_level"),
                           format_func=i18n.names("graph.levels"))
permalinks.linked("by", "graph_by", list(figures.GRAPH_COLOUR_BY))
by = colour_column.radio(t("graph.colour_by"), figures.GRAPH_COLOUR_BY, horizontal=True,
                         key=choices.relabelled("graph_by"), format_func=i18n.names("figures.graph_colour"))
opened: list[str] = []
if level == "blocks" and named:
    permalinks.linked_list("open", "graph_opened", list(named), most=len(named))
    opened = st.multiselect(t("graph.opened"), list(named), key="graph_opened", format_func=named.get,
                            help=t("graph.opened_help"), placeholder=t("graph.opened_none"))
found = graph.at_level(spec.key, level, frozenset(opened))
by_id = {box.id: box for box in found.boxes}
permalinks.linked("find", "graph_find", list(by_id))
found_box = find_column.selectbox(t("graph.find"), list(by_id), index=None, key="graph_find",
                                  placeholder=t("graph.find_hint"), format_func=lambda box_id: by_id[box_id].label,
                                  on_change=lambda: st.session_state.update(graph_selected=st.session_state["graph_find"]))
permalinks.share(level=level, by=by, open=",".join(opened) or None, find=found_box)
try:
    placed = cache.graph_placement(found)
except graph_layout.LayoutMissing as error:
    st.error(str(error), icon=":material/account_tree:")
    st.stop()
details_panel = st.container(border=True)  # above the graph: a click far down a tall graph shows here, in view
drawn = cache.figure("network_graph", selection.loaded, None, level, tuple(opened), by, found_box,
                     build=lambda: figures.network_graph_figure(found, placed, by, focus=found_box))
event = st.plotly_chart(drawn, key=f"network_graph_{level}", on_select="rerun", selection_mode="points",
                        config={"scrollZoom": True, "toImageButtonOptions": {"format": "svg", "filename": f"{spec.key}-graph"}})
st.caption(t("graph.how_to"))  # below the graph, which a student then meets on the first screen
fills = figures.graph_fills(found, by)
for column, fmt, mime in zip(st.columns(2), ("svg", "png"), ("image/svg+xml", "image/png")):
    # drawn by dot when clicked (on another thread, hence bound to this language): a second of dot per
    # format on a large graph, at every change of colour or language otherwise
    column.download_button(t(f"graph.download_{fmt}"), i18n.bound(lambda fmt=fmt: cache.export_graph(found, fmt, fills, by)),
                           f"{spec.key}-{level}.{fmt}", mime, key=f"graph_download_{fmt}", on_click="ignore")

# the box whose details show: the last one clicked or found (a click stays in the chart's
# selection over reruns, so only a new one counts), kept while its block is opened or closed
clicked = [point["customdata"][0] for point in (event.selection.points if event else []) if point.get("customdata")]
if clicked and clicked[0] != st.session_state.get("_graph_click"):
    st.session_state["graph_selected"] = clicked[0]
st.session_state["_graph_click"] = clicked[0] if clicked else None
selected = st.session_state.get("graph_selected")
shown = by_id.get(selected)
if shown is None and selected in opened:  # a block opened a moment ago: its box as it was, to close it again
    shown = next(box for box in graph.at_level(spec.key, level, frozenset(opened) - {selected}).boxes
                 if box.id == selected)
with details_panel:
    if shown is None:  # the graph as a whole, until a box is picked
        merges = {kind: sum(box.kind == kind for box in found.boxes) for kind in ("add", "concat", "multiply")}
        calls = sum(node.module is not None for node in graph.network_graph(spec.key).nodes)
        st.markdown(t("graph.summary", boxes=len(found.boxes), edges=len(found.edges), blocks=len(named), calls=calls)
                    + (t("graph.merges_shown", **merges) if any(merges.values()) else ""))
        st.caption(t("graph.details_hint"))
    else:
        st.markdown(f"**{shown.label}** · {shown.kind}")
        details = graph.layer_details(spec.key, shown)
        st.markdown(" · ".join(f"{t(f'graph.detail.{name}')}: {value}" for name, value in details.items()))
        if shown.expandable:
            if shown.id in opened:
                st.button(t("graph.close_block", name=named[shown.id]), key="graph_close",
                          on_click=lambda: st.session_state.update(graph_opened=[b for b in opened if b != shown.id]))
            else:
                st.button(t("graph.open_block", name=named[shown.id]), key="graph_open",
                          on_click=lambda: st.session_state.update(graph_opened=[*opened, shown.id]))
        if shown.module and st.button(t("graph.open_activations"), key="graph_to_activations", type="primary"):
            navigation.switch(View("activations", spec.key, graph.activations_view(spec.key, shown.module)),
                              sample=selection.sample)
