"""Parameters & FLOPs: where each network spends its weights and its compute."""
import pandas as pd
import streamlit as st

from explorer import claims, costs, figures, i18n, notation, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
spec = selection.spec
summary = costs.summary(spec.key)
shares = costs.shares(spec.key)
tap_names = zoo.tap_names(spec.key)

st.title(t("costs.title", name=spec.name))
columns = st.columns([1.5, 1, 1, 0.9, 1.2])
columns[0].metric(t("costs.parameters"), f"{summary.params:,}")
columns[1].metric("MACs", notation.human_count(summary.macs), help=t("costs.macs_help", macs=summary.macs))
columns[2].metric("FLOPs", notation.human_count(2 * summary.macs), help=t("costs.flops_help"))
columns[3].metric(t("costs.depth"), summary.depth, help=t("costs.depth_help"))
columns[4].metric(t("costs.fc_share"), f"{shares.fc_params / summary.params:.1%}", help=t("costs.fc_share_help"))
st.caption(t("costs.counting", not_counted=t("costs.not_counted")))

st.subheader(t("costs.every_layer"))
def tap_frame() -> pd.DataFrame:
    return pd.DataFrame(costs.tap_table(spec.key)).rename(columns=lambda c: t(f"column.{c}"))


widgets.table(cache.table("cost_table", None, None, spec.key, build=tap_frame), height=360, key="cost_table",
              column_config={t("column.activation_kib"): st.column_config.NumberColumn(format="%.1f")}
              | {t(f"column.{c}"): st.column_config.NumberColumn(format="localized") for c in ("params", "macs", "flops")})
st.download_button(t("costs.download"), cache.csv("cost_table", None, None, spec.key, build=tap_frame),
                   file_name=f"{spec.key}-costs.csv", mime="text/csv", key="cost_csv")
st.caption(t("costs.table_caption"))

st.subheader(t("costs.where"))
layers = costs.weight_layers(spec.key)
loaded = selection.loaded
st.plotly_chart(cache.figure("layer_costs", loaded, None, build=lambda: figures.layer_costs_figure(layers, tap_names)),
                key="layer_costs")
st.plotly_chart(cache.figure("shares", loaded, None, build=lambda: figures.shares_figure(shares)), key="shares")
pointwise = costs.pointwise_linears(spec.key)
if pointwise:
    st.caption(t("costs.pointwise", count=len(pointwise)))
left, right = st.columns(2)
with left:
    by = st.radio(t("costs.size_by"), ["params", "macs"], horizontal=True, key=choices.relabelled("treemap_by"),
                  format_func=i18n.names("figures.by"))
    st.plotly_chart(cache.figure("treemap", loaded, None, by, build=lambda: figures.module_treemap(
        costs.module_tree(spec.key), by, spec.name, tap_names)), key="treemap")
    st.caption(t("costs.treemap_top", shares=" · ".join(f"{name} {share:.1%}"
                                                         for name, share in costs.top_level_shares(spec.key, by))))
right.plotly_chart(cache.figure("cumulative", loaded, None, build=lambda: figures.cumulative_share_figure(
    layers, tap_names)), key="cumulative")

st.subheader(t("costs.receptive_field"))
spatial = [tap for tap in summary.taps if tap.rf is not None]
rf_key = f"rf_tap:{spec.key}"
permalinks.linked("tap", rf_key, [tap.name for tap in spatial])
chosen = summary.tap(widgets.stepper(t("costs.tap"), [tap.name for tap in spatial], key=rf_key))
permalinks.share(tap=chosen.name)
picture = cache.network_input(selection.image, spec.preprocess)
left, right = st.columns([1, 1])
widgets.picture(left, cache.picture("receptive_field", loaded, selection.image, chosen.name, photo=True, draw=lambda: (
    figures.receptive_field_box(picture, chosen.rf, chosen.jump, chosen.start, chosen.shape[1]))),
    caption=t("costs.rf_caption_large" if chosen.rf > spec.preprocess.crop else "costs.rf_caption",
              tap=chosen.name, rf=chosen.rf), width="stretch")
right.markdown(t("costs.rf_summary", tap=chosen.name, shape="×".join(map(str, chosen.shape)), rf=chosen.rf,
                 jump=chosen.jump))
right.caption(t("costs.rf_method"))
pair = costs.stacked_3x3(spec.key)
if pair:
    right.markdown(t("costs.stacked", first=tap_names.get(pair.first, pair.first),
                     second=tap_names.get(pair.second, pair.second), channels=pair.channels,
                     stacked_rf=pair.stacked_rf, stacked_params=pair.stacked_params, single_rf=pair.single_rf,
                     single_params=pair.single_params, share=pair.stacked_params / pair.single_params))

options = costs.fc6_what_if(spec.key)
if options:
    st.subheader(t("costs.what_if"))
    widgets.table(cache.table("what_if", None, None, spec.key, build=lambda: pd.DataFrame(
        [{t("costs.head"): t(f"costs.head_option.{o.kind}", **o.sizes), t("costs.fc6_params"): o.fc6_params,
          t("costs.network_params"): o.network_params} for o in options])),
                  key="what_if",
                  column_config={t(c): st.column_config.NumberColumn(format="localized")
                                 for c in ("costs.fc6_params", "costs.network_params")})
    st.caption(t("costs.what_if_caption", name=spec.name, channels=options[0].sizes["channels"],
                 fc6=notation.human_count(options[0].fc6_params)))

st.subheader(t("claims.heading"))
widgets.claim_cards([claim() for claim in claims.COSTS_CLAIMS])
