"""Lecture: the classic-CNN lecture's claims, each measured live, with a link to where it shows."""
import streamlit as st

from explorer import claims, compare, gradflow
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
st.title("The lecture's claims, measured")
st.caption("Every card computes its value now, on the registered networks and your image, with the same functions "
           "the other pages use. Verdicts: holds, roughly (right in spirit, off in the number), differs.")


def card(claim: claims.Claim, page: str, network: str) -> None:
    widgets.claim_cards([claim])
    st.page_link(page, label=f"See it: {network}", icon=":material/arrow_forward:",
                 query_params={"net": network, "img": selection.image_label.removeprefix("sample: ")}
                 if selection.image_label.startswith("sample: ") else {"net": network})


image, loaded = selection.image, selection.loaded
with st.spinner("Measuring…"):
    architecture = {claim.__name__: claim() for claim in claims.ARCHITECTURE_CLAIMS}
    alexnet_record = cache.analysis(cache.loaded_model("alexnet2012"), image).record
    lrn = claims.lrn_effect(alexnet_record.outputs["relu1"], alexnet_record.outputs["norm1"])
    sparsity = claims.relu_sparsity(cache.tap_stats(loaded, image))
    shifts = claims.translation_invariance(cache.shift_probe(cache.loaded_model("resnet50"), image))
    twins = cache.twins(gradflow.FlowConfig(pair="34", bn="eval"), image, 4, None)
    identity = claims.resnet_identity_gradient(twins.first_conv_ratio)
    efficient = compare.closing_claims(["squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0"])

sections = {
    "AlexNet": [(architecture["alexnet_weight_layers"], "pages/costs.py", "alexnet2012"),
                (architecture["alexnet_overlapping_pooling"], "pages/costs.py", "alexnet2012"),
                (lrn, "pages/activations.py", "alexnet2012"),
                (architecture["alexnet_pool5"], "pages/activations.py", "alexnet2012")],
    "ZFNet": [(architecture["zfnet_changes"], "pages/compare.py", "zfnet")],
    "VGG": [(architecture["vgg_small_kernels"], "pages/costs.py", "vgg16"),
            (architecture["vgg_channel_doubling"], "pages/activations.py", "vgg16"),
            (architecture["vgg_fc6_share"], "pages/costs.py", "vgg16")],
    "GoogLeNet": [(architecture["googlenet_vs_alexnet"], "pages/costs.py", "googlenet_paper"),
                  (architecture["googlenet_average_pooling"], "pages/costs.py", "googlenet"),
                  (architecture["googlenet_auxiliary_heads"], "pages/costs.py", "googlenet"),
                  (architecture["inception_reduction_saving"], "pages/inception.py", "googlenet_paper"),
                  (shifts, "pages/activations.py", "resnet50"),
                  (sparsity, "pages/activations.py", selection.spec.key)],
    "ResNet": [(identity, "pages/gradient_flow.py", "resnet34"),
               (architecture["resnet_bottleneck"], "pages/costs.py", "resnet50")],
    "Efficient nets": [(claim, "pages/compare.py", "squeezenet1_1") for claim in efficient],
}
for tab, (title, cards) in zip(st.tabs(list(sections)), sections.items()):
    with tab:
        for claim, page, network in cards:
            card(claim, page, network)
