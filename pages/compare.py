"""Compare: architectures side by side."""
import pandas as pd
import streamlit as st

from explorer import backend, claims, compare, figures, i18n, inference, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
st.title(t("compare.title"))


def apply_preset() -> None:
    if st.session_state["compare_preset"] != compare.CUSTOM:
        st.session_state["compare_networks"] = compare.PRESETS[st.session_state["compare_preset"]]


def keep_the_first_chosen() -> None:
    """A choice past the most is taken back with a note: Streamlit's own limit leaves its list open
    over the table, saying so."""
    chosen = st.session_state["compare_networks"]
    if len(chosen) > compare.MOST_NETWORKS:
        st.session_state["compare_networks"] = chosen[:compare.MOST_NETWORKS]
        st.toast(t("compare.at_most", most=compare.MOST_NETWORKS), icon=":material/info:")


if "compare_networks" not in st.session_state:
    st.session_state["compare_networks"] = compare.PRESETS["lecture"]
linked_preset = st.session_state.get("_incoming_view", {}).pop("preset", None)
if linked_preset in compare.PRESETS:  # a link naming a preset shows its networks (its nets=, if any, win)
    st.session_state["compare_networks"] = compare.PRESETS[linked_preset]
networks = permalinks.linked_networks("nets", "compare_networks", most=compare.MOST_NETWORKS)
st.session_state["compare_preset"] = compare.preset_of(st.session_state["compare_networks"])  # names what is shown
left, right = st.columns([1, 3])
preset = left.selectbox(t("compare.preset"), [*compare.PRESETS, compare.CUSTOM], key=choices.relabelled("compare_preset"),
                        on_change=apply_preset, format_func=i18n.names("compare.presets"))
keys = right.multiselect(t("compare.networks", most=compare.MOST_NETWORKS), networks,
                         key=choices.relabelled("compare_networks"), on_change=keep_the_first_chosen,
                         format_func=choices.network_name(), help=t("compare.networks_help"))
permalinks.share(preset=preset if preset != compare.CUSTOM else None, nets=",".join(keys) or None)
if len(keys) < 2:
    st.info(t("compare.pick_two"))
    st.stop()

cache.analyses_ahead(keys, selection.image)  # their builds overlap the tables' counts below
like_with_like = st.toggle(t("compare.like_with_like"), value=True, key="like_with_like",
                           help=t("compare.like_with_like_help"))
rows = [compare.row(key, like_with_like) for key in keys]
left_out = [(r.name, zoo.get(r.key).protocol) for r in rows if r.top1 is None and zoo.get(r.key).top1 is not None]
if left_out:  # each network with the reason its number is not like with like: 10 crops, or a newer recipe
    st.caption(t("compare.left_out", names=t("common.list_separator").join(
        f"{name} ({t(f'zoo.protocol.{protocol}')})" for name, protocol in left_out)))
device = selection.loaded.device
device_name = backend.device_name(device)
latencies = cache.measured_latencies(keys, str(device))
timed = tuple((key, tuple(latency.seconds for latency in latencies[key])) for key in keys if key in latencies)
table_key = (tuple(keys), tuple(r.weights for r in rows), like_with_like, timed, device_name)  # what the tables show


def comparison() -> pd.DataFrame:
    table = pd.DataFrame([r.as_dict(latencies.get(r.key, ())) for r in rows])
    if not timed:  # the latency columns come with the first measurement
        table = table.drop(columns=[*(f"latency{batch}" for batch in compare.LATENCY_BATCHES), "images_per_s"])
    return table.rename(columns=lambda c: t(f"column.{c}", device=device_name))


formats = ({t(f"column.{c}"): st.column_config.NumberColumn(format="localized") for c in ("params", "macs")}
           | {t(f"column.{c}"): st.column_config.NumberColumn(format="%.1f") for c in ("file_mb", "peak_mb")}
           | {t(f"column.{c}"): st.column_config.NumberColumn(format="%.2f") for c in ("top1", "top5")}
           | {t(f"column.{c}", device=device_name): st.column_config.NumberColumn(format="%.1f")
              for c in ("latency1", "latency16", "images_per_s")})
# a table each for size, accuracy and speed, a network per row: all fourteen columns side by side
# do not fit a 1366 px screen
parts = {"size": ("params", "macs", "depth", "input", "file_mb", "peak_mb"),
         "accuracy": ("top1", "top5", "protocol", "weights"), "speed": ("latency1", "latency16", "images_per_s")}


def shown(part: str) -> pd.DataFrame:
    table = comparison().assign(**{t("column.weights"): [t("compare.weights_trained") if r.weights != "random" else
                                                         t("compare.weights_random") for r in rows]})  # the CSV names the file
    return table[[t(f"column.{c}", device=device_name) for c in ("network", *parts[part])]]


for part in parts:
    if part != "speed" or timed:
        widgets.table(cache.table(f"compare_{part}", None, None, *table_key, build=lambda: shown(part)),
                      key=f"compare_{part}", column_config=formats)
st.download_button(t("compare.download"), cache.csv("compare", None, None, *table_key, build=comparison),
                   "comparison.csv", "text/csv", key="compare_csv")
st.caption(t("compare.table_caption"))
unmeasured = [key for key in keys if key not in latencies]
estimate_slot = st.empty()  # filled at the end of the run, once the probes timed in the background are in
if st.button(t("compare.measure", device=device_name), key="measure"):
    chosen = unmeasured or keys  # all measured already: measure them again
    with widgets.running("measure_cancel") as report:  # a cancel keeps the networks measured so far
        report(0.0, t("compare.measuring", name=zoo.get(chosen[0]).name))
        for done, (key, measured) in enumerate(compare.latencies(chosen, cache.loaded_model), start=1):
            cache.keep_latencies(key, str(device), measured)
            report(done / len(chosen), t("compare.measuring", name=zoo.get(chosen[min(done, len(chosen) - 1)]).name)
                   if done < len(chosen) else t("compare.done"))
    st.rerun()

left, right = st.columns(2)
left.plotly_chart(cache.figure("bubbles", None, None, tuple(keys), like_with_like, build=lambda: (
    figures.accuracy_bubbles(rows))), key="bubbles")
right.plotly_chart(cache.figure("per_param", None, None, tuple(keys), like_with_like, build=lambda: (
    figures.accuracy_per_parameter(rows))), key="per_param")
if latencies:
    st.plotly_chart(figures.latency_vs_macs(rows, {k: v[0].seconds for k, v in latencies.items()}, device_name),
                    key="latency")
    widgets.fell_back(*(run.run for k in keys if k in latencies for run in latencies[k]))
    st.caption(t("compare.latency_caption"))

st.subheader(t("compare.same_image"))
progress = st.progress(0.0, text=t("compare.running_all"))
analyses = {}
for index, key in enumerate(keys):
    progress.progress(index / len(keys), text=t("compare.running", name=zoo.get(key).name))
    analyses[key] = cache.analysis(cache.loaded_model(key), selection.image)
progress.empty()
untrained = [key for key in keys if not cache.loaded_model(key).status.pretrained]
weights_labels = tuple(cache.loaded_model(key).status.label for key in keys)
headings = {key: t("compare.untrained", name=zoo.get(key).name) if key in untrained else zoo.get(key).name
            for key in keys}


def top5(group: list[str]) -> pd.DataFrame:
    return pd.DataFrame({t("compare.rank"): range(1, 6)} | {
        headings[key]: [f"{p.label} · {p.prob:.1%}" for p in inference.top_k(analyses[key].record.logits)]
        for key in group})


for part, group in enumerate(compare.balanced_groups(keys, compare.MOST_SIDE_BY_SIDE)):  # each fits 1366 px
    widgets.table(cache.table("compare_top5", None, selection.image, tuple(keys), weights_labels, part,
                              build=lambda: top5(group)), key=f"compare_top5_{part}")
if untrained:
    st.caption(t("compare.untrained_caption"))
st.caption(t("compare.stages_caption"))
for column, key in zip(st.columns(len(keys)), keys):
    column.markdown(f"**{zoo.get(key).name}**")
    for stage, tap in compare.stage_taps(key).items():
        output = analyses[key].record.outputs[tap]
        widgets.picture(column, cache.picture("energy", cache.loaded_model(key), selection.image, tap, draw=lambda: (
            figures.energy_map(output))), width="stretch",
            caption=f"{t('compare.first_conv') if stage == 'first_conv' else stage}: {tap}")

alexnet = compare.alexnet_beside_zfnet(keys)
if alexnet:
    st.subheader(t("compare.alexnet_zfnet"))
    st.markdown(t("compare.zfnet_changes", **compare.zfnet_changes(alexnet)))
    kernels_left, kernels_right = st.columns(2)
    widgets.kernel_picture(alexnet, kernels_left)
    widgets.kernel_picture("zfnet", kernels_right)
    for tap in ("conv1", "conv2"):
        for column, key in zip(st.columns(2), (alexnet, "zfnet")):
            output = analyses[key].record.outputs[tap]
            widgets.picture(column, cache.picture("energy_160", cache.loaded_model(key), selection.image, tap, draw=lambda: (
                figures.energy_map(output, 160))),
                caption=f"{zoo.get(key).name} {tap}: {compare.tap_shape(key, tap)}", width="stretch")

closing = claims.closing(keys)
if closing:
    st.subheader(t("compare.closing"))
    widgets.claim_cards(closing)



@st.fragment(run_every=1.0)
def rerun_once_estimated(models: list) -> None:
    """Draws nothing: looks each second whether the background probes are done, then reruns the
    page to show the estimate (and, with no probes left, no longer looks)."""
    if cache.latency_probes_soon(models) is not None:
        st.rerun()


if unmeasured:
    unmeasured_models = [cache.loaded_model(key) for key in unmeasured]
    probes = cache.latency_probes_soon(unmeasured_models)
    if probes is None:
        estimate_slot.caption(t("compare.estimating"))
        rerun_once_estimated(unmeasured_models)
    else:
        estimate_slot.caption(t("compare.measure_estimate", seconds=compare.estimated_latency_seconds(probes),
                                count=len(unmeasured)))
