"""Attribution: why the network said what it said (captum)."""
import streamlit as st

from explorer import attribution, costs, figures, i18n, inference, notation, zoo
from explorer.i18n import t
from explorer.ui import cache, choices, permalinks, sidebar, widgets

selection = sidebar.current(__file__)
st.title(t("attribution.title", name=selection.spec.name))
st.caption(t("attribution.intro"))
if not selection.loaded.status.pretrained:
    st.warning(t("attribution.random"), icon=":material/shuffle:")

PANELS = {"left": "method", "right": "method2"}  # panel -> its URL parameter
classes = selection.loaded.class_names
predicted = inference.top_k(selection.analysis().record.logits, 1, classes)[0]
permalinks.linked("class", "attr_target", range(len(classes)))
predicted_option = t("attribution.predicted", label=predicted.label)
# every option's text made now: Streamlit formats all 1,001 options on every run
target_index = st.selectbox(t("attribution.target"), [None, *range(len(classes))], key=choices.relabelled("attr_target"),
                            format_func=lambda i: predicted_option if i is None else classes[i])
target = predicted.index if target_index is None else target_index
permalinks.share(**{"class": target_index})
mode = st.radio(t("attribution.side_by_side"), ["methods", "networks"], horizontal=True, key=choices.relabelled("attr_mode"),
                format_func=i18n.names("attribution.mode"))
opacity = st.slider(t("attribution.opacity"), 0.0, 1.0, 0.6, 0.05, key="attr_opacity")


def settings_for(panel: str, key: str, default: str) -> attribution.Settings:
    method_key = f"{panel}_method"
    if method_key not in st.session_state:
        st.session_state[method_key] = default
    permalinks.linked(PANELS[panel], method_key, attribution.METHODS)
    method = st.selectbox(t("attribution.method_label"), attribution.METHODS, key=choices.relabelled(method_key),
                          format_func=i18n.names("attribution.method"))
    permalinks.share(**{PANELS[panel]: method})
    chosen: dict[str, object] = {}
    with st.expander(t("attribution.settings")):
        for control in attribution.TABLE[method].controls:
            chosen[control.field] = control_widget(control, panel, key, chosen)
    return attribution.Settings(method, **chosen)


def control_widget(control: attribution.Control, panel: str, key: str, chosen: dict[str, object]) -> object:
    """The widget of one of a method's settings (attribution.Control), its value."""
    label = t(f"attribution.{control.text or control.field}")
    if control.kind == "tap":
        spatial = [tap.name for tap in costs.spatial_taps(key, parts=True)]
        return st.selectbox(label, spatial, index=spatial.index(attribution.default_tap(key)),
                            key=f"{panel}_tap:{key}")
    if control.kind == "choice":
        return st.radio(label, control.options, horizontal=True, key=choices.relabelled(f"{panel}_{control.field}"),
                        format_func=i18n.names(f"attribution.{control.field}s"))
    start = control.default(chosen) if control.default else getattr(attribution.Settings(""), control.field)
    kind = type(control.step)  # an int slider returns ints, a float one floats
    return st.slider(label, kind(control.low), kind(control.high), kind(start), control.step,
                     key=f"{panel}_{control.field}")


def panel(column, name: str, default_method: str, network: str) -> None:
    with column:
        loaded = cache.loaded_model(network)
        settings = settings_for(name, network, default_method)
        method_name = t(f"attribution.method.{settings.method}")
        done = cache.is_cached("attribution", loaded, selection.image, settings, target)
        if settings.method in attribution.SLOW_METHODS and not done:
            evaluations = attribution.expected_evaluations(settings, loaded.spec.preprocess.crop)
            with st.spinner(t("attribution.timing")):
                pace = cache.attribution_probe(loaded, settings.method)  # this machine, this network
            ask = st.empty()  # the estimate and the button go once the run starts
            with ask.container():
                st.caption(t("attribution.cost", method=method_name, evaluations=evaluations,
                             seconds=attribution.estimated_seconds(settings, loaded.spec.preprocess.crop, pace)))
                if not st.button(t("attribution.run"), key=f"{name}_run"):
                    return
            ask.empty()
            with widgets.running(f"{name}_cancel") as report:
                result = cache.attribution(loaded, selection.image, settings, target, lambda done, total: report(
                    done / total, t("attribution.pass", done=done, total=total)))
        else:
            with st.spinner(t("attribution.attributing")):
                result = cache.attribution(loaded, selection.image, settings, target)
        picture = cache.network_input(selection.image, loaded.spec.preprocess)
        overlay = lambda photo: cache.picture("attribution", loaded, selection.image, settings, target, opacity,
                                              photo=photo, draw=lambda: figures.overlay(picture, result.heat, opacity))
        widgets.picture(st, overlay(True), width="stretch",
                        caption=t("attribution.caption", name=zoo.get(network).name, method=method_name,
                                  target=classes[result.target], seconds=result.seconds, passes=result.evaluations))
        widgets.picture(st, cache.picture("colour_strip", None, None, draw=figures.colour_strip), width="stretch",
                        caption=t("attribution.scale", low=notation.readable(float(result.heat.min())),
                                  high=notation.readable(float(result.heat.max()))))
        widgets.fell_back(result.run)
        st.download_button(t("attribution.download"), overlay(False),
                           file_name=f"{network}-{settings.method}.png", mime="image/png", key=f"{name}_png")


left, right = st.columns(2)
if mode == "methods":
    panel(left, "left", "gradcam", selection.spec.key)
    panel(right, "right", "saliency", selection.spec.key)
else:
    other = right.selectbox(t("attribution.second_network"), [k for k in zoo.REGISTRY if k != selection.spec.key],
                            key=choices.relabelled("attr_other"), format_func=choices.network_name())
    panel(left, "left", "gradcam", selection.spec.key)
    panel(right, "right", "gradcam", other)
