"""Activations: every layer's feature maps for the chosen image."""
import streamlit as st

from explorer import activations, figures, i18n, inference, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, navigation, permalinks, sidebar, widgets
from explorer.views import View

selection = sidebar.current(__file__)
spec = selection.spec

st.title(t("activations.title", name=spec.name))
st.caption(t("activations.intro"))
def layer_key(leaves: bool) -> str:
    return f"tap:{spec.key}{':leaves' if leaves else ''}"


def tap_list(leaves: bool):
    return zoo.leaf_taps(spec.key) if leaves else zoo.taps(spec.key)


def keep_the_place() -> None:
    """The switch opens the other view at the layer the student was looking at, not its first."""
    leaves = st.session_state["every_leaf"]
    shown = st.session_state.get(layer_key(not leaves))
    if shown is not None:
        st.session_state[layer_key(leaves)] = activations.matching_tap(shown, tap_list(not leaves), tap_list(leaves))


permalinks.linked("leaves", "every_leaf", [True])
leaves = st.toggle(t("activations.every_leaf"), key="every_leaf", help=t("activations.every_leaf_help"),
                   on_change=keep_the_place)
taps = tap_list(leaves)
by_name = {tap.name: tap for tap in taps}
with st.spinner(t("activations.running", name=spec.name)):
    record = selection.analysis(leaves).record

tap_key = layer_key(leaves)
permalinks.linked("tap", tap_key, list(by_name))
tap = by_name[widgets.stepper(t("activations.layer"), list(by_name), key=tap_key,
                              format_func=lambda n: ("    ↳ " if by_name[n].parent else "") + n)]
output = record.outputs[tap.name]
st.caption(t("activations.tap_caption" if tap.io == "output" else "activations.tap_input_caption", tap=tap.name,
             kind=tap.kind, module=tap.module, shape=" × ".join(map(str, output.shape))))


@st.fragment  # picking a channel or moving the opacity redraws this section only
def one_channel(output, tap_name: str, chosen: list[int], view: dict) -> None:
    st.subheader(t("activations.one_channel"))
    channel_key = f"channel:{spec.key}:{tap_name}"
    permalinks.linked("ch", channel_key, chosen)
    channel = st.selectbox(t("activations.channel"), chosen, key=channel_key)
    permalinks.share(tap=tap_name, ch=channel, **view)
    heat_col, overlay_col = st.columns(2)
    heat_col.plotly_chart(cache.figure("channel_heatmap", selection.loaded, selection.image, tap_name, channel, leaves,
                                       build=lambda: figures.channel_heatmap(output[channel], t(
                                           "activations.channel_title", tap=tap_name, channel=channel))),
                          key="channel_heatmap")
    opacity = overlay_col.slider(t("activations.opacity"), 0.0, 1.0, 0.55, 0.05, key="overlay_opacity")
    picture = cache.network_input(selection.image, spec.preprocess)
    widgets.picture(overlay_col, cache.picture("overlay", selection.loaded, selection.image, tap_name, channel, opacity,
                                               leaves, photo=True,
                                               draw=lambda: figures.overlay(picture, output[channel], opacity)),
                    width="stretch", caption=t("activations.overlay_caption"))
    navigation.link(View("features", spec.key, {"tap": tap_name, "ch": str(channel)}),
                    t("activations.looks_for", channel=channel), icon=":material/visibility:", sample=selection.sample)


if activations.is_spatial(output) and output.shape[1] * output.shape[2] > 1:
    channels_total = output.shape[0]
    left, middle, right, far = st.columns(4)
    permalinks.linked("show", "grid_show", ["top", "all"])
    permalinks.linked("k", "grid_k", range(1, channels_total + 1))
    permalinks.linked("rank", "grid_rank", activations.RANKINGS)
    permalinks.linked("scale", "grid_scale", ["shared", "own"])
    show = left.radio(t("activations.channels"), ["top", "all"], horizontal=True, key=choices.relabelled("grid_show"),
                      format_func=i18n.names("activations.show"))
    k = middle.slider("K", 1, channels_total, min(32, channels_total), key="grid_k", disabled=show == "all")
    metric = right.selectbox(t("activations.rank_by"), activations.RANKINGS, key=choices.relabelled("grid_rank"),
                             format_func=i18n.names("activations.ranking"), disabled=show == "all")
    scale = far.radio(t("activations.colour_scale"), ["shared", "own"], horizontal=True,
                      key=choices.relabelled("grid_scale"), format_func=i18n.names("activations.scale"))
    shared = scale == "shared"
    chosen = activations.top_channels(output, None if show == "all" else k, metric)
    grid_png = cache.grid_png(selection.loaded, selection.image, tap.name, chosen, shared, leaves)
    shown = cache.grid_png(selection.loaded, selection.image, tap.name, chosen, shared, leaves, photo=True)
    widgets.picture(st, shown, caption=t(
        "activations.grid_caption" if show == "all" else "activations.grid_top_caption", shown=len(chosen),
        total=channels_total, ranking=t(f"activations.ranking.{metric}"),
        scale=t(f"activations.scale_caption.{'shared' if shared else 'own'}")))
    st.download_button(t("activations.download_grid"), grid_png,
                       file_name=f"{spec.key}-{tap.name.replace('/', '_')}.png", mime="image/png",
                       key="grid_download")

    one_channel(output, tap.name, chosen, dict(show=show, k=k, rank=metric, scale=scale, leaves=True if leaves else None))
else:
    permalinks.share(tap=tap.name, ch=None, show=None, k=None, rank=None, scale=None, leaves=True if leaves else None)
    vector = output.flatten()
    shown = (selection.loaded, selection.image, tap.name, leaves)
    st.plotly_chart(cache.figure("vector", *shown, build=lambda: figures.vector_strip(
                        vector, t("activations.vector_title", tap=tap.name, count=vector.numel()))), key="vector")
    classes = selection.loaded.class_names
    if tap.kind == "output" and vector.numel() == len(classes):
        st.plotly_chart(cache.figure("vector_top5", *shown, build=lambda: figures.top_k_bar(
                            inference.top_k(vector, classes=classes), t("activations.top_classes", tap=tap.name))),
                        key="vector_top5")

st.subheader(t("activations.whole_network"))
stats = cache.tap_stats(selection.loaded, selection.image)
st.plotly_chart(cache.figure("tap_stats", selection.loaded, selection.image,
                             build=lambda: figures.tap_stats_figure(stats)), key="tap_stats")
st.caption(t("activations.whole_caption"))

st.subheader(t("activations.kernels"))
widgets.first_layer_kernels(selection)
