"""Compare: architectures side by side."""
import pandas as pd
import streamlit as st

from explorer import backend, compare, costs, figures, inference, zoo
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
st.title("Compare architectures")


def apply_preset() -> None:
    st.session_state["compare_networks"] = compare.PRESETS[st.session_state["compare_preset"]]


if "compare_networks" not in st.session_state:
    st.session_state["compare_networks"] = compare.PRESETS["The lecture's five"]
left, right = st.columns([1, 3])
left.selectbox("Preset", list(compare.PRESETS), key="compare_preset", on_change=apply_preset)
keys = right.multiselect("Networks (2 to 8)", list(zoo.REGISTRY), key="compare_networks", max_selections=8,
                         format_func=lambda k: zoo.get(k).name)
if len(keys) < 2:
    st.info("Pick at least two networks.")
    st.stop()

rows = [compare.row(key) for key in keys]
device = selection.loaded.device
latency_key = f"compare_latency:{device}"
latencies = st.session_state.setdefault(latency_key, {})
table = pd.DataFrame([r.as_dict() | {f"ms, batch 1 ({backend.device_name(device)})":
                                     latencies[r.key][0] * 1000 if r.key in latencies else None,
                                     "ms, batch 16": latencies[r.key][1] * 1000 if r.key in latencies else None}
                      for r in rows])
st.dataframe(table, hide_index=True, key="compare_table", column_config={
    "params": st.column_config.NumberColumn(format="localized"),
    "MACs": st.column_config.NumberColumn(format="localized"),
    "file MB (fp32)": st.column_config.NumberColumn(format="%.1f"),
    "peak activations MB": st.column_config.NumberColumn(format="%.1f")})
st.download_button("Download table (CSV)", table.to_csv(index=False), "comparison.csv", "text/csv",
                   key="compare_csv")
st.caption("Peak activations: the most activation memory alive at once in an inference pass of one image "
           "(float32, weights excluded). Accuracy: published ImageNet-1K values (see each model card).")
if st.button(f"Measure latency on {backend.device_name(device)} (batch 1 and 16, median of 3)", key="measure"):
    progress = st.progress(0.0)
    for index, key in enumerate(keys):
        progress.progress(index / len(keys), text=f"{zoo.get(key).name}…")
        loaded = cache.loaded_model(key)
        latencies[key] = (compare.latency(loaded, 1), compare.latency(loaded, 16))
    progress.progress(1.0, text="done")
    st.rerun()

left, right = st.columns(2)
left.plotly_chart(figures.accuracy_bubbles(rows), key="bubbles")
right.plotly_chart(figures.accuracy_per_parameter(rows), key="per_param")
if latencies:
    st.plotly_chart(figures.latency_vs_macs(rows, {k: v[0] for k, v in latencies.items()},
                                            backend.device_name(device)), key="latency")
    st.caption("Canziani et al. (2016) found that operations predict inference time well; on a CPU, "
               "memory traffic (depthwise layers, large activations) bends the line.")

st.subheader("The same image through every network")
progress = st.progress(0.0, text="Running the networks…")
analyses = {}
for index, key in enumerate(keys):
    progress.progress(index / len(keys), text=f"Running {zoo.get(key).name}…")
    analyses[key] = cache.analysis(cache.loaded_model(key), selection.image)
progress.empty()
for column, key in zip(st.columns(len(keys)), keys):
    column.plotly_chart(figures.top_k_bar(inference.top_k(analyses[key].record.logits), zoo.get(key).name),
                        key=f"top5:{key}")
st.caption("Mean |activation| over channels at comparable depths: the first convolution, then the last layer "
           "whose units are 4, 8, 16 and 32 input pixels apart.")
for column, key in zip(st.columns(len(keys)), keys):
    column.markdown(f"**{zoo.get(key).name}**")
    for stage, tap in compare.stage_taps(key).items():
        column.image(figures.energy_map(analyses[key].record.outputs[tap]), caption=f"{stage}: {tap}",
                     width="stretch")

if {"alexnet2012", "zfnet"} <= set(keys) or {"alexnet", "zfnet"} <= set(keys):
    st.subheader("AlexNet vs ZFNet")
    alex = "alexnet2012" if "alexnet2012" in keys else "alexnet"
    summaries = {k: costs.summary(k) for k in (alex, "zfnet", "zfnet_wide")}
    shape = lambda k, t: "×".join(map(str, summaries[k].tap(t).shape))
    st.markdown(
        f"ZFNet's three changes, measured: **conv1 11×11/4 → 7×7/2** ({shape(alex, 'conv1')} → "
        f"{shape('zfnet', 'conv1')}: finer detail survives the first layer); **stride 2 in conv1 and conv2**, "
        f"shrinking the maps gradually (pool2 {shape(alex, 'pool2')} vs {shape('zfnet', 'pool2')}); "
        f"**wider conv3–conv5** in the paper's Table 3 variant (conv3 {shape('zfnet_wide', 'conv3')}, "
        f"conv4 {shape('zfnet_wide', 'conv4')}, conv5 {shape('zfnet_wide', 'conv5')}).")
    kernels_left, kernels_right = st.columns(2)
    widgets.kernel_picture(alex, kernels_left)
    widgets.kernel_picture("zfnet", kernels_right)
    for tap in ("conv1", "conv2"):
        for column, key in zip(st.columns(2), (alex, "zfnet")):
            column.image(figures.energy_map(analyses[key].record.outputs[tap], 160),
                         caption=f"{zoo.get(key).name} {tap}: {shape(key, tap)}", width="stretch")

claims = compare.closing_claims(keys)
if claims:
    st.subheader("The lecture's closing claims, measured")
    widgets.claim_cards(claims)
