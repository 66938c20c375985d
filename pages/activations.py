"""Activations: every layer's feature maps for the chosen image."""
import streamlit as st

from explorer import activations, figures, images, inference, zoo
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
spec = selection.spec
taps = zoo.taps(spec.key)
by_name = {tap.name: tap for tap in taps}

st.title(f"Activations · {spec.name}")
st.caption("Each tap is a layer as the paper names it; its output for your image is captured in one "
           "forward pass. Changing the layer, channel or colours never reruns the network.")
with st.spinner(f"Running {spec.name} on the image…"):
    record = selection.analysis().record

tap = by_name[widgets.stepper("Layer", [t.name for t in taps], key=f"tap:{spec.key}",
                              format_func=lambda n: ("    ↳ " if by_name[n].parent else "") + n)]
output = record.outputs[tap.name]
st.caption(f"**{tap.name}** · kind `{tap.kind}` · module `{tap.module}`"
           f"{' (its input)' if tap.io == 'input' else ''} · output "
           f"{' × '.join(map(str, output.shape))}")

if activations.is_spatial(output) and output.shape[1] * output.shape[2] > 1:
    channels_total = output.shape[0]
    left, middle, right, far = st.columns(4)
    show = left.radio("Channels", ["Top K", "All"], horizontal=True, key="grid_show")
    k = middle.slider("K", 1, channels_total, min(32, channels_total), key="grid_k", disabled=show == "All")
    metric = right.selectbox("Rank by", list(activations.RANKINGS), key="grid_rank",
                             format_func=activations.RANKINGS.get, disabled=show == "All")
    shared = far.radio("Colour scale", ["shared", "per channel"], horizontal=True, key="grid_scale") == "shared"
    chosen = activations.top_channels(output, None if show == "All" else k, metric)
    grid_png = figures.png_bytes(figures.channel_grid(output, chosen, shared_scale=shared))
    st.image(grid_png, caption=f"{len(chosen)} of {channels_total} channels"
             + ("" if show == "All" else f", best first by {activations.RANKINGS[metric]}")
             + f"; {'one colour scale for all' if shared else 'each channel stretched to its own range'}"
             " (viridis: dark = low, yellow = high).")
    st.download_button("Download grid (PNG)", grid_png, file_name=f"{spec.key}-{tap.name.replace('/', '_')}.png",
                       mime="image/png", key="grid_download")

    st.subheader("One channel")
    channel = st.selectbox("Channel", chosen, key=f"channel:{spec.key}:{tap.name}")
    heat_col, overlay_col = st.columns(2)
    heat_col.plotly_chart(figures.channel_heatmap(output[channel], f"{tap.name}, channel {channel}"),
                          key="channel_heatmap")
    opacity = overlay_col.slider("Overlay opacity", 0.0, 1.0, 0.55, 0.05, key="overlay_opacity")
    picture = images.input_views(selection.image.image, spec.preprocess).cropped
    overlay_col.image(figures.overlay(picture, output[channel], opacity), width="stretch",
                      caption="The map upsampled onto the input: bright where this channel's kernel "
                              "found its feature (alignment ignores padding offsets).")
else:
    vector = output.flatten()
    st.plotly_chart(figures.vector_strip(vector, f"{tap.name}: {vector.numel()} values"), key="vector")
    if tap.kind == "output" and vector.numel() == len(zoo.imagenet_classes()):
        st.plotly_chart(figures.top_k_bar(inference.top_k(vector), f"Top classes at {tap.name}"),
                        key="vector_top5")

st.subheader("Across the whole network")
stats = cache.tap_stats(selection.loaded, selection.image)
st.plotly_chart(figures.tap_stats_figure(stats), key="tap_stats")
st.caption("Watch the spatial size shrink at each pooling or stride while the channel count grows, and "
           "how many values a ReLU sets to exactly zero (sparse maps are why a 1×1 compression loses "
           "little).")

st.subheader("First-layer kernels")
widgets.first_layer_kernels(selection)
