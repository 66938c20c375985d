"""Attribution: why the network said what it said (captum)."""
import streamlit as st

from explorer import attribution, costs, figures, images, inference, zoo
from explorer.ui import cache, sidebar

selection = sidebar.current()
st.title(f"Attribution · {selection.spec.name}")
st.caption("Which input pixels the chosen class's score depends on, by six methods from captum. Grad-CAM weighs a "
           "layer's maps by their gradients; Saliency is |∂score/∂pixel|; Integrated Gradients integrates the "
           "gradient from a baseline to the image (its attributions add up to the score difference); SmoothGrad "
           "averages saliency over noisy copies; Occlusion greys out windows and measures the drop.")
if not selection.loaded.status.pretrained:
    st.warning("These attributions explain a **random** network: they show how each method works, not what a "
               "trained network looks at.", icon=":material/shuffle:")

SLOW = {"integrated_gradients", "smoothgrad", "occlusion"}
classes = zoo.imagenet_classes()
predicted = inference.top_k(selection.analysis().record.logits, 1)[0]
target_name = st.selectbox("Explain the score of", [f"the predicted class ({predicted.label})"] + list(classes),
                           key="attr_target")
target = predicted.index if target_name.startswith("the predicted") else classes.index(target_name)
mode = st.radio("Side by side", ["two methods", "two networks"], horizontal=True, key="attr_mode")
opacity = st.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="attr_opacity")


def settings_for(panel: str, key: str, default: str) -> attribution.Settings:
    method = st.selectbox("Method", list(attribution.METHODS), index=list(attribution.METHODS).index(default),
                          key=f"{panel}_method", format_func=attribution.METHODS.get)
    with st.expander("Settings"):
        if method in ("gradcam", "guided_gradcam"):
            spatial = [t.name for t in costs.summary(key).taps if t.rf is not None and t.shape[1] > 1]
            tap = st.selectbox("Layer", spatial, index=spatial.index(attribution.default_tap(key)),
                               key=f"{panel}_tap:{key}")
            return attribution.Settings(method, tap=tap)
        if method == "integrated_gradients":
            return attribution.Settings(method, steps=st.slider("Steps", 8, 256, 32, 8, key=f"{panel}_steps"),
                                        baseline=st.radio("Baseline", list(attribution.BASELINES), horizontal=True,
                                                          key=f"{panel}_baseline", format_func=attribution.BASELINES.get))
        if method == "smoothgrad":
            return attribution.Settings(method, samples=st.slider("Noisy samples", 4, 64, 16, 4, key=f"{panel}_samples"),
                                        noise=st.slider("Noise (share of the input range)", 0.05, 0.5, 0.15, 0.05,
                                                        key=f"{panel}_noise"))
        if method == "occlusion":
            window = st.slider("Window (pixels)", 8, 112, 56, 8, key=f"{panel}_window")
            return attribution.Settings(method, window=window,
                                        stride=st.slider("Stride", 4, 112, max(4, window // 2), 4, key=f"{panel}_stride"))
    return attribution.Settings(method)


def panel(column, name: str, default_method: str, network: str) -> None:
    with column:
        loaded = cache.loaded_model(network)
        settings = settings_for(name, network, default_method)
        done = cache.attribution_key(loaded, selection.image, settings, target) in cache.attributions()
        if settings.method in SLOW and not done:
            evaluations = attribution.expected_evaluations(settings, loaded.spec.preprocess.crop)
            st.caption(f"{attribution.METHODS[settings.method]} needs about {evaluations} batched passes.")
            if not st.button("Run", key=f"{name}_run"):
                return
            bar = st.progress(0.0, text="Starting…")
            st.button("Cancel", key=f"{name}_cancel", help="Stops the run; nothing is kept.")
            report = lambda done, total: bar.progress(done / total, text=f"pass {done} of {total}")
        else:
            report = None
        with st.spinner("Attributing…"):
            result = cache.attribution(loaded, selection.image, settings, target, report)
        picture = images.input_views(selection.image.image, loaded.spec.preprocess).cropped
        overlay = figures.overlay(picture, result.heat, opacity)
        st.image(overlay, width="stretch",
                 caption=f"{zoo.get(network).name} · {attribution.METHODS[settings.method]} · class "
                         f"{classes[result.target]!r} · {result.seconds:.2f} s, {result.evaluations} pass{'es' if result.evaluations != 1 else ''}")
        st.download_button("Download (PNG)", figures.png_bytes(overlay),
                           file_name=f"{network}-{settings.method}.png", mime="image/png", key=f"{name}_png")


left, right = st.columns(2)
if mode == "two methods":
    panel(left, "left", "gradcam", selection.spec.key)
    panel(right, "right", "saliency", selection.spec.key)
else:
    other = right.selectbox("Second network", [k for k in zoo.REGISTRY if k != selection.spec.key],
                            key="attr_other", format_func=lambda k: zoo.get(k).name)
    panel(left, "left", "gradcam", selection.spec.key)
    panel(right, "right", "gradcam", other)
