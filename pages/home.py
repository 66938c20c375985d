"""Home: the model card, the input as the network sees it, and the top-5 predictions."""
import streamlit as st

from explorer import costs, figures, images, inference, notation, weights
from explorer.i18n import t
from explorer.ui import banners, cache, navigation, sidebar, widgets
from explorer.views import View

selection = sidebar.current(__file__)
spec = selection.spec
summary = costs.summary(spec.key)

PAPER_INPUT = ("alexnet", "zfnet", "vgg")  # families whose papers preprocessed otherwise: "home.paper_input.<family>"
FIRST_STEPS = (  # (text, view): three views a newcomer can open in one click
    ("home.start.first", View("activations", weights.trained_network())),
    ("home.start.second", View("costs", "vgg16")),
    ("home.start.third", View("gradient_flow", "resnet34")),
)
with st.container(border=True):
    st.markdown(f"**{t('home.start.heading')}** — {t('home.start.what')}")
    for text, view in FIRST_STEPS:  # one per line: in columns a page link is cut to one line
        navigation.link(view, t(text), sample=selection.sample)
    st.caption(t("home.start.glossary"))

st.title(spec.name)
st.caption(f"“{spec.paper.title}” — {spec.paper.authors}, {spec.paper.year}" if spec.paper
           else t("home.found_by_name", name=spec.key))
if spec.notes:
    st.info(str(spec.notes), icon=":material/info:")

columns = st.columns([1.1, 1.5, 1, 1, 1])
columns[0].metric(t("home.input"), "×".join(map(str, spec.input_size)))
columns[1].metric(t("home.parameters"), f"{summary.params:,}", help=t("home.parameters_help"))
columns[2].metric("MACs", notation.human_count(summary.macs),
                  help=t("home.macs_help", macs=summary.macs, flops=notation.human_count(2 * summary.macs),
                         not_counted=t("costs.not_counted")))
yours = selection.loaded.status.yours  # ImageNet's published numbers are not about a person's own weights
columns[3].metric(t("home.top1"), f"{spec.top1:.2f} %" if spec.top1 is not None and not yours else "—")
columns[4].metric(t("home.top5"), f"{spec.top5:.2f} %" if spec.top5 is not None and not yours else "—")
if yours:
    st.caption(t("home.your_accuracy", file=selection.loaded.status.uploaded_file,
                 classes=len(selection.loaded.class_names)))
elif spec.top1 is None:  # nothing measured, so no protocol to name
    st.caption(t("home.no_accuracy", source=spec.metrics_source, weights=banners.weights_label(selection.loaded.status)))
else:
    st.caption(t("home.accuracy_source", source=spec.metrics_source, protocol=t(f"zoo.protocol.{spec.protocol}"),
                 weights=banners.weights_label(selection.loaded.status)))
if spec.original_recipe and not yours:
    st.caption(t("home.original_recipe", top1=spec.original_recipe[0], top5=spec.original_recipe[1]))

st.subheader(t("home.input_heading"))
pre = spec.preprocess
cropped, mean, mean_subtracted = cache.input_views(selection.image, pre)
st.caption(t("home.input_caption", label=selection.image_label, width=selection.image.original_size[0],
             height=selection.image.original_size[1], format=selection.image.format, resize=pre.resize,
             interpolation=t(f"home.interpolation.{pre.interpolation}"), crop=pre.crop))
left, middle, right = st.columns(3)
widgets.picture(left, cropped, caption=t("home.cropped"), width="stretch")
widgets.picture(middle, mean, caption=t("home.mean", mean=", ".join(f"{m * 255:.0f}" for m in pre.mean)),
                width="stretch")
widgets.picture(right, mean_subtracted, caption=t("home.mean_subtracted"), width="stretch")
st.caption(t("home.mean_caption", std=", ".join(f"{s:.3f}" for s in pre.std)))
if spec.family in PAPER_INPUT:
    st.caption(t(f"home.paper_input.{spec.family}"))

if spec.family in ("alexnet", "zfnet"):
    with st.expander(t("home.training.heading")):
        crops, different = images.alexnet_crops(selection.image.image, 8)
        st.image(list(crops), width=110)
        dropouts = costs.dropouts(spec.key)
        st.markdown(t("home.training.body", different=different, dropouts=len(dropouts),
                      p=", ".join(f"{p:g}" for _, p in dropouts), paths=", ".join(f"`{path}`" for path, _ in dropouts)))

st.subheader(t("home.prediction"))
with st.spinner(t("home.running")):
    analysis = selection.analysis()
st.plotly_chart(cache.figure("top5", selection.loaded, selection.image, build=lambda: figures.top_k_bar(
    inference.top_k(analysis.record.logits, classes=selection.loaded.class_names))), key="top5")
if not selection.loaded.status.pretrained:
    st.caption(t("home.random_classes"))
