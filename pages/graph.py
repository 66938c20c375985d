"""Network graph: every module and merge of the chosen network, as boxes and the edges the data takes."""
import streamlit as st

from explorer import figures, graph, i18n, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, navigation, permalinks, sidebar
from explorer.views import View

selection = sidebar.current(__file__)
spec = selection.spec
st.title(t("graph.title", name=spec.name))
st.caption(t("graph.intro"))

found = graph.network_graph(spec.key)
merges = {kind: sum(node.kind == kind for node in found.nodes) for kind in ("add", "concat", "multiply")}
st.markdown(t("graph.summary", modules=sum(node.module is not None for node in found.nodes), edges=len(found.edges),
              depth=max(node.depth for node in found.nodes), add=merges["add"], concat=merges["concat"],
              multiply=merges["multiply"]))
permalinks.linked("by", "graph_by", ["macs", "params"])
by = st.radio(t("graph.colour_by"), ["macs", "params"], horizontal=True, key=choices.relabelled("graph_by"),
              format_func=i18n.names("figures.graph_colour"))
permalinks.share(by=by)
drawn = cache.figure("network_graph", selection.loaded, None, by, build=lambda: figures.network_graph_figure(
    found, graph.lanes(found), by, zoo.tap_names(spec.key)))
event = st.plotly_chart(drawn, key="network_graph", on_select="rerun", selection_mode="points",
                        config={"scrollZoom": True})
st.caption(t("graph.how_to"))

clicked = [point["customdata"][0] for point in (event.selection.points if event else []) if point.get("customdata")]
if clicked and clicked[0]:
    navigation.switch(View("activations", spec.key, graph.activations_view(spec.key, clicked[0])),
                      sample=selection.sample)
