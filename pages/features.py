"""Feature visualisation: what each channel looks for, beside what it found in your image."""
import streamlit as st

from explorer import activations, featurevis, figures, i18n, notation, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
spec = selection.spec
st.title(t("features.title", name=spec.name))
st.caption(t("features.intro"))
if not selection.loaded.status.pretrained:
    st.info(t("features.random", name=spec.name), icon=":material/shuffle:")

record = selection.analysis().record
spatial = [tap.name for tap in zoo.taps(spec.key) if activations.is_spatial(record.outputs[tap.name])]
classes = selection.loaded.class_names

left, right = st.columns([3, 2])
with right:
    permalinks.linked("objective", "fv_objective", featurevis.OBJECTIVES)
    objective = st.radio(t("features.maximise"), featurevis.OBJECTIVES, key=choices.relabelled("fv_objective"),
                         format_func=i18n.names("features.objective"), help=t("features.objective_help"))
with left:
    tap_key = f"fv_tap:{spec.key}"
    permalinks.linked("tap", tap_key, spatial)
    opening = featurevis.opening_tap(spec.key, spatial)
    tap = widgets.stepper(t("features.tap"), spatial, key=tap_key, default=opening) if objective != "class" else ""
    if tap == opening:
        st.caption(t("features.opening", tap=opening, first=spatial[0]))
    maps = record.outputs[tap] if tap else None
    if objective == "layer":
        channels = [0]  # one picture: the whole layer, dreamt into your image
    elif objective == "class":
        options = list(range(len(classes)))
        picked_key = f"fv_classes:{spec.key}"
        permalinks.linked_list("ch", picked_key, options, most=featurevis.MOST_CHANNELS)
        st.session_state.setdefault(picked_key, [int(record.logits.argmax())])
        channels = st.multiselect(t("features.classes"), options, key=picked_key,
                                  max_selections=featurevis.MOST_CHANNELS,
                                  format_func=classes.__getitem__)
    else:
        picked_key = f"fv_channels:{spec.key}:{tap}"
        permalinks.linked_list("ch", picked_key, list(range(maps.shape[0])), most=featurevis.MOST_CHANNELS)
        st.session_state.setdefault(picked_key, activations.top_channels(maps, featurevis.DEFAULT_CHANNELS))
        channels = st.multiselect(t("features.channels", total=maps.shape[0]), list(range(maps.shape[0])),
                                  key=picked_key, max_selections=featurevis.MOST_CHANNELS,
                                  help=t("features.channels_help"))

steps_column, size_column, tricks_column = st.columns(3)
permalinks.linked("steps", "fv_steps", featurevis.STEP_CHOICES)
permalinks.linked("size", "fv_size", featurevis.SIZE_CHOICES)
steps = steps_column.select_slider(t("features.steps"), featurevis.STEP_CHOICES, value=featurevis.Settings.steps,
                                   key="fv_steps")
size = size_column.select_slider(t("features.size"), featurevis.SIZE_CHOICES, value=featurevis.Settings.size,
                                 key="fv_size")
regularise = tricks_column.toggle(t("features.regularise"), value=True, key="fv_regularise",
                                  help=t("features.regularise_help"))
permalinks.share(objective=objective, tap=tap or None, steps=steps, size=size,
              ch=",".join(map(str, channels)) if objective != "layer" else None)
if not channels:
    st.info(t("features.pick_one"))
    st.stop()

settings = featurevis.Settings(objective, steps, size, regularise=regularise)
done = all(cache.is_cached("featurevis", selection.loaded, selection.image if objective == "layer" else None,
                           tap, channel, settings) for channel in channels)
if not done:
    if (refusal := featurevis.refusal(spec.key, len(channels), settings)) is not None:
        st.warning(str(refusal), icon=":material/timer_off:")
        st.stop()
    estimate = cache.featurevis_estimate(selection.loaded, tap, len(channels), settings)
    ask = st.empty()  # the estimate and the button go once the run starts
    with ask.container():
        st.caption(t("features.cost", count=len(channels), size=size, steps=steps, seconds=estimate.seconds(steps)))
        if not st.button(t("features.run"), key="fv_run", type="primary"):
            st.stop()
    ask.empty()
    with widgets.running("fv_cancel") as report:
        results = cache.feature_visualisations(selection.loaded, selection.image, tap, channels, settings, lambda step, total: report(
            step / total, t("features.step", step=step, steps=total)))
else:
    results = cache.feature_visualisations(selection.loaded, selection.image, tap, channels, settings)
widgets.fell_back(results[0].run)

natural = cache.natural_means(selection.loaded, tap) if objective in ("channel", "unit") else None
picture = cache.network_input(selection.image, spec.preprocess)
start = selection.image if objective == "layer" else None
for row in range(0, len(results), 2):
    for column, result in zip(st.columns(2, border=True), results[row:row + 2]):
        name = classes[result.channel] if objective == "class" else \
            t("features.layer_name", tap=tap) if objective == "layer" else t("features.channel_name", tap=tap,
                                                                              channel=result.channel)
        column.markdown(f"**{name}**")
        looks, found = column.columns(2)
        optimised = cache.picture("featurevis", selection.loaded, start, tap, result.channel, settings,
                                  draw=lambda: result.image)
        widgets.picture(looks, optimised, width="stretch", caption=t("features.looks_for"))
        if maps is not None and objective != "layer":
            channel_map = maps[result.channel]
            widgets.picture(found, cache.picture("overlay", selection.loaded, selection.image, tap, result.channel, 0.6,
                                                 False, photo=True, draw=lambda: figures.overlay(picture, channel_map, 0.6)),
                            width="stretch", caption=t("features.found_in_image"))
        measured = t("features.measured", start=notation.readable(result.activation_start),
                     end=notation.readable(result.activation_end))
        if natural is not None:
            mean = float(natural[result.channel])
            measured += " " + t("features.natural", natural=notation.readable(mean)) + (
                " " + t("features.times", ratio=notation.readable(result.activation_end / mean)) if mean > 0 else "")
        column.caption(measured)
        column.download_button(t("features.download"), optimised,
                               file_name=f"{spec.key}-{tap.replace('/', '_') or 'class'}-{result.channel}.png",
                               mime="image/png", key=f"fv_png_{result.channel}")
st.plotly_chart(figures.optimisation_curves({t("features.curve_name", channel=classes[r.channel]
                                               if objective == "class" else r.channel): r.curve for r in results},
                                            t("features.curve_title"), t("features.curve_axis")), key="fv_curves")
st.caption(t("features.recipe"))
