"""Home: the model card, the input as the network sees it, and the top-5 predictions."""
import streamlit as st

from explorer import costs, figures, images, inference
from explorer.ui import sidebar

selection = sidebar.current()
spec = selection.spec
summary = costs.summary(spec.key)

st.title(spec.name)
st.caption(f"“{spec.paper.title}” — {spec.paper.authors}, {spec.paper.year}")
if spec.notes:
    st.info(spec.notes, icon=":material/info:")

columns = st.columns([1.1, 1.5, 1, 1, 1])
columns[0].metric("Input", "×".join(map(str, spec.input_size)))
columns[1].metric("Parameters", f"{summary.params:,}", help="Every weight and bias, counted on the network as built.")
columns[2].metric("MACs", figures.human_count(summary.macs),
                  help=f"Multiply-accumulates of conv and linear layers ({summary.macs:,}); "
                       f"FLOPs = 2 × MACs = {figures.human_count(2 * summary.macs)}. "
                       f"Not counted: {costs.NOT_COUNTED}.")
columns[3].metric("Top-1 (published)", f"{spec.top1:.2f} %" if spec.top1 is not None else "—")
columns[4].metric("Top-5 (published)", f"{spec.top5:.2f} %" if spec.top5 is not None else "—")
st.caption(f"Accuracy source: {spec.metrics_source}. Weights here: {selection.loaded.status.label}.")

st.subheader("The input as the network sees it")
pre = spec.preprocess
views = images.input_views(selection.image.image, pre)
st.caption(f"{selection.image_label} — {selection.image.original_size[0]}×{selection.image.original_size[1]} "
           f"{selection.image.format}, shorter side resized to {pre.resize} ({pre.interpolation}), "
           f"centre crop {pre.crop}×{pre.crop}.")
left, middle, right = st.columns(3)
left.image(views.cropped, caption="Cropped input", width="stretch")
middle.image(views.mean, caption="Mean the network subtracts (ImageNet RGB mean "
             f"{', '.join(f'{m * 255:.0f}' for m in pre.mean)})", width="stretch")
right.image(views.mean_subtracted, caption="Mean-subtracted input (grey = 0)", width="stretch")
st.caption("Subtracting the mean keeps only how each pixel differs from the average colour: the "
           "absolute brightness carries no class information, the relative values do. The "
           f"network then divides by the per-channel std ({', '.join(f'{s:.3f}' for s in pre.std)}).")

st.subheader("Prediction")
with st.spinner("Running the network…"):
    analysis = selection.analysis()
predictions = inference.top_k(analysis.record.logits)
st.plotly_chart(figures.top_k_bar(predictions), key="top5")
if not selection.loaded.status.pretrained:
    st.caption("With random weights these classes are arbitrary: the chart shows the mechanics, "
               "not a recognition.")
