"""Inception branches: what each branch of a module sees, what it costs, what it contributes."""
import pandas as pd
import streamlit as st

from explorer import activations, figures, inception, zoo
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
spec = selection.spec
st.title(f"Inception branches · {spec.name}")
found = inception.modules(spec.key)
if not found:
    st.info(f"{spec.name} has no Inception modules. Pick GoogLeNet, Inception v3 or Inception v4.")
    widgets.network_buttons(["googlenet", "googlenet_paper", "inception_v3", "inception_v4"])
    st.stop()

by_name = {m.tap.name: m for m in found}
module = by_name[widgets.stepper("Module", list(by_name), key=f"inception_module:{spec.key}")]
with st.spinner(f"Running {spec.name} on the image…"):
    record = selection.analysis().record
shares = {m.tap.name: inception.energy_shares(record.outputs, m) for m in found}

left, right = st.columns([3, 2])
left.plotly_chart(figures.inception_schematic(module), key="schematic")
right.markdown(f"**{module.tap.name}** (`{module.tap.module}`): input {module.in_channels}×{module.in_size[0]}×"
               f"{module.in_size[1]}, output {module.channels}×{module.size[0]}×{module.size[1]}, "
               f"{module.params:,} parameters, {figures.human_count(module.macs)} MACs.")
if all(b.size == module.in_size for b in module.branches):
    right.caption(f"Every branch keeps the input's {module.in_size[0]}×{module.in_size[1]} size — 1×1, 3×3 and "
                  "5×5 convolutions padded 0, 1 and 2, pooling with stride 1 and padding 1 — so the outputs "
                  "can be stacked along the channels.")
elif all(b.size == module.size for b in module.branches):
    right.caption(f"A reduction module: every branch halves the map to {module.size[0]}×{module.size[1]} "
                  "with stride 2, so the outputs still stack.")
if not module.covered:
    right.caption("One branch (the max-pool) is a function in torchvision's code, not a module, so it has no "
                  "tap: the shares below are of the branches that can be seen.")
table = pd.DataFrame([{"branch": b.label, "layers": " → ".join(b.steps), "output": f"{b.channels}×{b.size[0]}×{b.size[1]}",
                       "channel share": b.channels / module.channels, "energy share": shares[module.tap.name][b.label],
                       "params": b.params, "MACs": b.macs} for b in module.branches])
st.dataframe(table, hide_index=True, key="branch_table", column_config={
    "channel share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    "energy share": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
    "params": st.column_config.NumberColumn(format="localized"),
    "MACs": st.column_config.NumberColumn(format="localized")})
st.caption("Energy share: the branch's sum of squared activations over the module's, for your image.")

st.subheader("What each branch sees")
k = st.slider("Channels per branch (top K by mean activation)", 1, 32, 8, key="branch_k")
for column, branch in zip(st.columns(len(module.branches)), module.branches):
    maps = record.outputs[branch.tap.name]
    column.image(figures.png_bytes(figures.channel_grid(maps, activations.top_channels(maps, k), columns=2)),
                 caption=f"{branch.label}: top {min(k, maps.shape[0])} of {maps.shape[0]}", width="stretch")

st.plotly_chart(figures.branch_energy_figure([(name, shares[name]) for name in by_name]), key="energy")

naive = {key: inception.naive_vs_reduced(key) for key in ("googlenet_paper", "googlenet")} \
    if spec.key in ("googlenet", "googlenet_paper") else {}
if naive:
    st.subheader("Why the 1×1 reductions: naive module vs as built")
    rows = []
    for key, costs_of in naive.items():
        for row in costs_of:
            rows.append({"build": zoo.get(key).name, "module": row.module,
                         "kernels": f"{row.kernels[0]}×{row.kernels[0]}, {row.kernels[1]}×{row.kernels[1]}",
                         "MACs as built": row.reduced_macs, "MACs naive": row.naive_macs,
                         "naive / built": row.naive_macs / row.reduced_macs,
                         "params as built": row.reduced_params, "params naive": row.naive_params})
    frame = pd.DataFrame(rows)
    st.dataframe(frame[frame["module"] == module.tap.name], hide_index=True, key="naive_module",
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in ("MACs as built", "MACs naive", "params as built", "params naive")}
                 | {"naive / built": st.column_config.NumberColumn(format="%.2f×")})
    totals = frame.groupby("build", sort=False)[["MACs as built", "MACs naive"]].sum()
    st.markdown(" · ".join(f"**{build}**, all nine modules: {figures.human_count(r['MACs as built'])} MACs as built vs "
                           f"{figures.human_count(r['MACs naive'])} naive ({r['MACs naive'] / r['MACs as built']:.1f}×)"
                           for build, r in totals.iterrows()))
    st.caption("The naive module (the paper's Fig. 2a) applies the 1×1, 3×3 and 5×5 convolutions, with the same "
               "output widths, straight to the module's input, and its pool branch has no projection (so its "
               "output would also carry all input channels). The paper's build uses 5×5 kernels; torchvision's "
               "uses 3×3 in that branch (a known discrepancy, torchvision issue #906) — both are shown.")

st.subheader("Branch ablation")
branch_label = st.radio("Zero the output of", [b.label for b in module.branches], horizontal=True,
                        key=f"ablate:{spec.key}:{module.tap.name}")
with st.spinner("Running the network twice…"):
    result = cache.ablation(selection.loaded, selection.image, module.tap.name, branch_label)
before, after = st.columns(2)
before.plotly_chart(figures.top_k_bar(result.before, "Top-5, all branches"), key="ablation_before")
after.plotly_chart(figures.top_k_bar(result.after, f"Top-5 with {branch_label} zeroed"), key="ablation_after")
if result.next_tap:
    st.markdown(f"Zeroing **{branch_label}** changes the next module ({result.next_tap}) by "
                f"**{result.relative_change:.1%}** (relative L2 norm of the difference).")
if not selection.loaded.status.pretrained:
    st.caption("With random weights this shows the mechanics only: which classes move says nothing about what "
               "a trained branch has learnt.")
