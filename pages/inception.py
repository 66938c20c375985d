"""Inception branches: what each branch of a module sees, what it costs, what it contributes."""
import pandas as pd
import streamlit as st

from explorer import activations, figures, inception, notation, zoo
from explorer.i18n import t
from explorer.ui import cache, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
spec = selection.spec
st.title(t("inception.title", name=spec.name))
found = inception.modules(spec.key)
if not found:
    st.info(t("inception.none", name=spec.name))
    widgets.network_buttons(["googlenet", "googlenet_paper", "inception_v3", "inception_v4"])
    st.stop()

by_name = {m.tap.name: m for m in found}
module_key = f"inception_module:{spec.key}"
permalinks.linked("module", module_key, list(by_name))
module = by_name[widgets.stepper(t("inception.module"), list(by_name), key=module_key)]
permalinks.share(module=module.tap.name)
with st.spinner(t("inception.running", name=spec.name)):
    record = selection.analysis().record
loaded, image = selection.loaded, selection.image  # what every figure and table below is shared by

left, right = st.columns([3, 2])
left.plotly_chart(cache.figure("inception_schematic", loaded, None, module.tap.name,
                               build=lambda: figures.inception_schematic(module)), key="schematic")
right.markdown(t("inception.summary", module=module.tap.name, path=module.tap.module,
                 input=f"{module.in_channels}×{module.in_size[0]}×{module.in_size[1]}",
                 output=f"{module.channels}×{module.size[0]}×{module.size[1]}", params=module.params,
                 macs=notation.human_count(module.macs)))
if all(b.size == module.in_size for b in module.branches):
    right.caption(t("inception.same_size", height=module.in_size[0], width=module.in_size[1]))
elif all(b.size == module.size for b in module.branches):
    right.caption(t("inception.reduction", height=module.size[0], width=module.size[1]))
if not module.covered:
    right.caption(t("inception.uncovered"))
widgets.table(cache.table("inception_branches", loaded, image, module.tap.name, build=lambda: pd.DataFrame(
                  inception.branch_rows(module, inception.energy_shares(record.outputs, module))).rename(
                  columns=lambda c: t(f"inception.column.{c}"))), key="branch_table",
              column_config={t(f"inception.column.{c}"): st.column_config.ProgressColumn(  # small: the table fits 1366 px
                                 format="percent", min_value=0, max_value=1, width="small")
                             for c in ("channel_share", "energy_share")}
              | {t(f"inception.column.{c}"): st.column_config.NumberColumn(format="localized") for c in ("params", "macs")})
st.caption(t("inception.energy_caption"))



@st.fragment  # moving the slider redraws these maps only
def branch_maps(module: inception.Module, outputs) -> None:
    k = st.slider(t("inception.per_branch"), 1, 32, 8, key="branch_k")
    for column, branch in zip(st.columns(len(module.branches)), module.branches):
        maps = outputs[branch.tap.name]
        grid = lambda maps=maps: figures.channel_grid(maps, activations.top_channels(maps, k), columns=2)
        widgets.picture(column, cache.picture("inception_branch", loaded, image, branch.tap.name, k, draw=grid),
                        caption=t("inception.branch_caption", branch=branch.label, shown=min(k, maps.shape[0]),
                                  total=maps.shape[0]), width="stretch")


st.subheader(t("inception.sees"))
branch_maps(module, record.outputs)
st.plotly_chart(cache.figure("inception_energy", loaded, image, build=lambda: figures.branch_energy_figure(
    [(m.tap.name, inception.energy_shares(record.outputs, m)) for m in found])), key="energy")

naive = inception.reduction_rows(spec.key)
if naive:
    st.subheader(t("inception.why_reductions"))
    counts = ("built_macs", "naive_macs", "built_params", "naive_params")
    widgets.table(cache.table("inception_naive", None, None, spec.key, module.tap.name, build=lambda: pd.DataFrame(
                      [row | {"build": zoo.get(row["build"]).name} for row in naive if row["module"] == module.tap.name]
                  ).rename(columns=lambda c: t(f"inception.column.{c}"))), key="naive_module",
                  column_config={t(f"inception.column.{c}"): st.column_config.NumberColumn(format="localized")
                                 for c in counts}
                  | {t("inception.column.ratio"): st.column_config.NumberColumn(format="%.2f×")})
    st.markdown(" · ".join(t("inception.totals", build=zoo.get(build).name, built=notation.human_count(built),
                             naive=notation.human_count(naive_macs), ratio=naive_macs / built)
                           for build, (built, naive_macs) in inception.reduction_totals(naive).items()))
    st.caption(t("inception.naive_caption"))

st.subheader(t("inception.ablation"))
branch_label = st.radio(t("inception.zero"), [b.label for b in module.branches], horizontal=True,
                        key=f"ablate:{spec.key}:{module.tap.name}")
ready = cache.is_cached("ablation", selection.loaded, selection.image, module.tap.name, branch_label)
# one more forward pass: asked for, with its cost measured on this machine (the analysis's pass)
asked = ready or st.button(t("inception.run_ablation", branch=branch_label,
                             seconds=selection.analysis().run.seconds), key="run_ablation")
if asked:
    with st.spinner(t("inception.running_twice")):
        result = cache.ablation(selection.loaded, selection.image, module.tap.name, branch_label)
    widgets.fell_back(result.run)
    before, after = st.columns(2)
    ablated = (module.tap.name, branch_label)
    before.plotly_chart(cache.figure("ablation_before", loaded, image, *ablated,
                                     build=lambda: figures.top_k_bar(result.before, t("inception.before"))),
                        key="ablation_before")
    after.plotly_chart(cache.figure("ablation_after", loaded, image, *ablated, build=lambda: figures.top_k_bar(
                           result.after, t("inception.after", branch=branch_label))), key="ablation_after")
    if result.next_tap:
        st.markdown(t("inception.change", branch=branch_label, next=result.next_tap, change=result.relative_change))
if not selection.loaded.status.pretrained:
    st.caption(t("inception.random"))
