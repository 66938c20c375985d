"""Lecture: the classic-CNN lecture's claims, each measured live, with a link to where it shows."""
from pathlib import Path

import streamlit as st

from explorer import claims, compare, gradflow, inference, zoo
from explorer.i18n import t
from explorer.ui import cache, sidebar, widgets

selection = sidebar.current()
st.title(t("lecture.title"))
st.caption(t("lecture.intro"))


def card(claim: claims.Claim, page: str, network: str, **view: str) -> None:
    """The claim's card and a link to the page and view where a student can see it."""
    widgets.claim_cards([claim])
    params = {"net": network} | ({"img": selection.sample} if selection.sample else {}) | view
    st.page_link(page, label=t("lecture.see_it", page=t(f"app.page.{Path(page).stem}"), name=zoo.get(network).name),
                 icon=":material/arrow_forward:",
                 query_params=params)


def subject(asked: inference.LoadedModel, used: inference.LoadedModel) -> claims.Subject:
    return claims.Subject.of(asked.spec, used.spec, used.status.pretrained)


image = selection.image
with st.spinner(t("lecture.measuring")):
    architecture = {claim.__name__: claim() for claim in claims.ARCHITECTURE_CLAIMS}
    slips = {claim.__name__: claim() for claim in claims.NOTES_CLAIMS}
    alexnet = cache.loaded_model("alexnet2012")  # the only network with LRN: no trained stand-in
    alexnet_record = cache.analysis(alexnet, image).record
    lrn = claims.lrn_effect(alexnet_record.outputs["relu1"], alexnet_record.outputs["norm1"], subject(alexnet, alexnet))
    asked, used = cache.trained_or_stand_in(selection.spec.key)
    zeros = cache.rectifier_zeros(used, image)
    sparsity = claims.relu_sparsity(zeros.shares, subject(asked, used))
    resnet, probed = cache.trained_or_stand_in("resnet50")
    probe = cache.shift_probe(probed, image)
    shifts = claims.translation_invariance(probe.shifts, subject(resnet, probed))
    twins = cache.twins(gradflow.FlowConfig(pair="34", bn="eval"), image, 4, None)
    batch_statistics = cache.twins(gradflow.FlowConfig(pair="34", bn="train"), image, 4, None)
    identity = claims.resnet_identity_gradient(twins.first_conv_ratio, batch_statistics.first_conv_ratio)
    efficient = compare.closing_claims(["squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0"])

sections = {
    "alexnet": [(architecture["alexnet_weight_layers"], "pages/costs.py", "alexnet2012", {}),
                (architecture["alexnet_overlapping_pooling"], "pages/costs.py", "alexnet2012", {"tap": "pool1"}),
                (lrn, "pages/activations.py", "alexnet2012", {"tap": "norm1"}),
                (architecture["alexnet_pool5"], "pages/activations.py", "alexnet2012", {"tap": "pool5"})],
    "zfnet": [(architecture["zfnet_changes"], "pages/compare.py", "zfnet", {})],
    "vgg": [(architecture["vgg_small_kernels"], "pages/costs.py", "vgg16", {"tap": "conv1_2"}),
            (architecture["vgg_stack_differs"], "pages/costs.py", "vgg16", {"tap": "conv1_2"}),
            (architecture["vgg_channel_doubling"], "pages/activations.py", "vgg16", {"tap": "pool5"}),
            (architecture["vgg_fc6_share"], "pages/costs.py", "vgg16", {})],
    "inception": [(architecture["googlenet_vs_alexnet"], "pages/costs.py", "googlenet_paper", {}),
                  (architecture["googlenet_average_pooling"], "pages/costs.py", "googlenet", {}),
                  (architecture["googlenet_auxiliary_heads"], "pages/costs.py", "googlenet", {}),
                  (architecture["inception_reduction_saving"], "pages/inception.py", "googlenet_paper",
                   {"module": "inception_3a"}),
                  (shifts, "pages/activations.py", probe.key, {}),
                  (sparsity, "pages/activations.py", zeros.key, {})],
    "resnet": [(identity, "pages/gradient_flow.py", "resnet34", {}),
               (architecture["resnet_bottleneck"], "pages/costs.py", "resnet50", {})],
    "efficient": [(claim, "pages/compare.py", "squeezenet1_1", {}) for claim in efficient],
    "notes": [(slips["notes_pooling_branch"], "pages/inception.py", "googlenet_paper", {"module": "inception_3a"}),
              (slips["notes_norm_layer"], "pages/activations.py", "alexnet2012", {"tap": "norm1"}),
              (architecture["googlenet_vs_alexnet"], "pages/costs.py", "googlenet_paper", {})],
}
widgets.fell_back(zeros.run, probe.run, twins.run, batch_statistics.run)
titles = [t(f"zoo.family.{name}") if name in zoo.FAMILIES else t(f"lecture.tab.{name}") for name in sections]
for tab, (section, cards) in zip(st.tabs(titles), sections.items()):
    with tab:
        for claim, page, network, view in cards:
            card(claim, page, network, **view)
        if section == "efficient":
            st.page_link("pages/efficient.py", label=t("lecture.efficient_designs"), icon=":material/bolt:")
