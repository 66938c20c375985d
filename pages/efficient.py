"""Efficient designs: what SqueezeNet, MobileNet and ShuffleNet change to save, measured."""
import pandas as pd
import streamlit as st

from explorer import activations, costs, efficient, figures, notation, zoo
from explorer.i18n import t
from explorer.ui import banners, cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
st.title(t("efficient.title"))
st.caption(t("efficient.intro"))
fire_tab, separable_tab, shuffle_tab = st.tabs([t("efficient.fire_tab"), t("efficient.separable_tab"),
                                                t("efficient.shuffle_tab")])

with fire_tab:
    key = "squeezenet1_1"
    fires = efficient.fire_modules(key)
    squeeze_params, alexnet_params = costs.summary(key).params, costs.summary("alexnet").params
    st.markdown(t("efficient.fire_what", params=squeeze_params, alexnet=alexnet_params,
                  ratio=alexnet_params / squeeze_params))
    tap_names = zoo.tap_names(key)
    widgets.table(cache.table("fire_table", None, None, key, build=lambda: pd.DataFrame(
        [{"module": tap_names.get(f.module, f.module), "in": f.in_channels, "squeeze": f.squeeze,
          "expand": f"{f.expand1x1} + {f.expand3x3}", "params": f.params, "plain_params": f.plain_params,
          "saving": f.plain_params / f.params} for f in fires]).rename(columns=lambda c: t(f"efficient.column.{c}"))),
                  key="fire_table",
                  column_config={t("efficient.column.saving"): st.column_config.NumberColumn(format="%.1f×")}
                  | {t(f"efficient.column.{c}"): st.column_config.NumberColumn(format="localized")
                     for c in ("params", "plain_params")})
    st.plotly_chart(cache.figure("fire_chart", None, None, key, build=lambda: figures.saving_bars(
        [tap_names.get(f.module, f.module) for f in fires], [f.params for f in fires], [f.plain_params for f in fires],
        t("efficient.fire_chart"), t("efficient.fire_name"), t("efficient.plain_3x3"))), key="fire_chart")
    fire_names = [tap_names[f.module] for f in fires if f.module in tap_names]
    permalinks.linked("fire", "fire_module", fire_names)
    chosen = st.selectbox(t("efficient.fire_pick"), fire_names, key="fire_module")
    loaded = cache.loaded_model(key)
    output = cache.analysis(loaded, selection.image).record.outputs[chosen]
    strongest = activations.top_channels(output, 16)
    widgets.picture(st, cache.grid_png(loaded, selection.image, chosen, strongest, True, photo=True), width="stretch",
                    caption=t("efficient.fire_live", tap=chosen, name=zoo.get(key).name,
                              weights=banners.weights_label(loaded.status), channels=output.shape[0]))

with separable_tab:
    separable_keys = ["mobilenet_v2", "efficientnet_lite0"]
    permalinks.linked("separable", "separable_network", separable_keys)
    key = st.radio(t("efficient.separable_network"), separable_keys, horizontal=True,
                   key=choices.relabelled("separable_network"), format_func=choices.network_name())
    layers = efficient.separable_convolutions(key)
    spent = sum(l.depthwise_macs + l.pointwise_macs for l in layers)
    standard = sum(l.standard_macs for l in layers)
    st.markdown(t("efficient.separable_what", name=zoo.get(key).name, layers=len(layers),
                  spent=notation.human_count(spent), standard=notation.human_count(standard), share=spent / standard))
    widgets.table(cache.table("separable_table", None, None, key, build=lambda: pd.DataFrame(
        [{"depthwise": l.depthwise, "kernel": f"{l.kernel}×{l.kernel}/{l.stride}",
          "channels": f"{l.channels} → {l.out_channels}", "depthwise_macs": l.depthwise_macs,
          "pointwise_macs": l.pointwise_macs, "standard_macs": l.standard_macs, "share": l.share,
          "formula": 1 / l.out_channels + 1 / l.kernel ** 2} for l in layers]).rename(
            columns=lambda c: t(f"efficient.column.{c}"))),
                  key="separable_table",
                  column_config={t(f"efficient.column.{c}"): st.column_config.NumberColumn(format="localized")
                                 for c in ("depthwise_macs", "pointwise_macs", "standard_macs")}
                  | {t(f"efficient.column.{c}"): st.column_config.NumberColumn(format="percent")
                     for c in ("share", "formula")})
    st.plotly_chart(cache.figure("separable_chart", None, None, key, build=lambda: figures.saving_bars(
        [str(i + 1) for i in range(len(layers))], [l.depthwise_macs + l.pointwise_macs for l in layers],
        [l.standard_macs for l in layers], t("efficient.separable_chart"), t("efficient.separable_name"),
        t("efficient.standard"))), key="separable_chart")
    st.caption(t("efficient.separable_caption"))

with shuffle_tab:
    channels = 36  # at least as many channels per group as groups: one shuffle then reaches every group
    permalinks.linked("groups", "shuffle_groups", [1, 2, 3, 4, 6])
    groups = st.select_slider(t("efficient.groups"), [1, 2, 3, 4, 6], value=3, key="shuffle_groups")
    permalinks.share(fire=chosen, separable=key, groups=groups)
    st.markdown(t("efficient.shuffle_what", channels=channels, groups=groups,
                  grouped=efficient.grouped_params(channels, groups), full=efficient.grouped_params(channels, 1)))
    left, right = st.columns(2)
    for column, shuffle, title in ((left, False, "efficient.without_shuffle"), (right, True, "efficient.with_shuffle")):
        column.plotly_chart(cache.figure("reach", None, None, channels, groups, shuffle, build=lambda: (
            figures.reach_heatmap(efficient.group_reach(channels, groups, shuffle=shuffle), t(title)))),
            key="reach_shuffled" if shuffle else "reach_plain")
    st.caption(t("efficient.shuffle_order", groups=groups,
                 order=", ".join(map(str, efficient.shuffle_order(channels, groups)))))
    st.caption(t("efficient.shuffle_v2"))
