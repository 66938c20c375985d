"""Each lecture claim is measured, and its verdict is what we expect for the default networks."""
import dataclasses

import pytest

from explorer import claims, zoo
from explorer.cache import clear_memos

EXPECTED = {"alexnet_weight_layers": "holds", "alexnet_pool5": "holds", "vgg_small_kernels": "holds",
            "vgg_channel_doubling": "holds", "vgg_fc6_share": "holds", "googlenet_vs_alexnet": "roughly",
            "alexnet_overlapping_pooling": "holds", "zfnet_changes": "roughly", "googlenet_average_pooling": "holds",
            "googlenet_auxiliary_heads": "holds", "inception_reduction_saving": "holds", "resnet_bottleneck": "holds",
            "vgg_stack_differs": "holds", "notes_pooling_branch": "differs", "notes_norm_layer": "differs",
            "lrn_inhibition": "roughly", "notes_relu_first": "paper", "notes_dropout_first": "paper",
            "alexnet_dropout_effect": "paper", "alexnet_overlap_effect": "paper", "alexnet_ensemble": "paper",
            "parameters_overfit": "paper", "googlenet_auxiliary_purpose": "paper", "best_generalisers": "paper",
            "notes_zfnet_widths": "differs"}


@pytest.mark.parametrize("name", EXPECTED)
def test_verdicts(name):
    assert getattr(claims, name)().verdict == EXPECTED[name]


def test_every_claim_about_an_architecture_has_its_expected_verdict_here():
    """The costs page's claims and the Lecture's cards counted on the build are all in EXPECTED."""
    from explorer import lecture

    on_the_build = {build.claim.__name__ for _, build in lecture.CARDS if isinstance(build, lecture.OnTheBuild)}
    assert len(on_the_build) == 25
    assert on_the_build | {claim.__name__ for claim in claims.COSTS_CLAIMS} <= set(EXPECTED)


def test_a_claim_follows_the_registry(monkeypatch):
    """Change VGG16's registry entry (fc6 twice as wide) and the fc6 claim measures the change."""
    monkeypatch.setitem(zoo.REGISTRY, "vgg16", dataclasses.replace(zoo.get("vgg16"),
                                                                   build=lambda: _vgg16_with_fc6(8192)))
    clear_memos()
    try:
        claim = claims.vgg_fc6_share()
        assert claim.verdict == "differs" and "205,529,088" in claim.measured
    finally:
        monkeypatch.undo()
        clear_memos()
    assert claims.vgg_fc6_share().verdict == "holds"


def _vgg16_with_fc6(units: int):
    from torch import nn
    from torchvision.models import vgg16

    model = vgg16(weights=None)
    model.classifier[0] = nn.Linear(512 * 7 * 7, units)
    model.classifier[3] = nn.Linear(units, 4096)
    return model


# ---------------------------------------------------------------- claims measured on an image

TRAINED, RANDOM = claims.Subject("AlexNet", trained=True), claims.Subject("AlexNet", trained=False)
STAND_IN = claims.Subject("EfficientNet-Lite0", trained=True, instead_of="VGG16")


def _shifts(pooled: float, flattened: float):
    from explorer.invariance import Shift

    return [Shift(0, 1.0, 1.0)] + [Shift(k, pooled, flattened) for k in (4, 8)]


def _study(*kept: int):
    from explorer.backend import Run
    from explorer.lesion import Lesion, Study

    return Study("efficientnet_lite0", tuple(Lesion(f"blocks.{i}", k, 5, 0.9) for i, k in enumerate(kept)), Run("cpu", 0.1))


# (claim, its measurement, the subject, the verdict that must follow)
MEASURED = [
    # a zero share cannot tell trained from random weights (both about half): never decided by it
    ("sparse", lambda s: claims.relu_sparsity([0.4, 0.6], s), TRAINED, "unseen"),
    ("dense", lambda s: claims.relu_sparsity([0.01, 0.05], s), TRAINED, "unseen"),
    ("sparse on random weights", lambda s: claims.relu_sparsity([0.5, 0.5], s), RANDOM, "unseen"),
    ("no ReLU to count after", lambda s: claims.relu_sparsity([], s), TRAINED, "unseen"),
    ("pooling steadier, trained and not", lambda s: claims.translation_invariance(
        _shifts(0.97, 0.88), _shifts(0.996, 0.883), s), STAND_IN, "holds"),
    ("pooling steadier only once trained", lambda s: claims.translation_invariance(
        _shifts(0.97, 0.88), _shifts(0.8, 0.9), s), STAND_IN, "roughly"),
    ("pooling not steadier", lambda s: claims.translation_invariance(_shifts(0.8, 0.9), _shifts(0.8, 0.9), s),
     STAND_IN, "differs"),
    # a trained residual network keeping its top-1 class with any one block deleted
    ("blocks deleted, class kept", lambda s: claims.residual_lesions(_study(5, 4, 4, 5), s), STAND_IN, "holds"),
    ("blocks deleted, class often lost", lambda s: claims.residual_lesions(_study(3, 3, 2, 4), s), STAND_IN, "roughly"),
    ("blocks deleted, class lost", lambda s: claims.residual_lesions(_study(1, 0, 2, 1), s), STAND_IN, "differs"),
    ("blocks deleted from random weights", lambda s: claims.residual_lesions(_study(5, 5, 5, 5), s), RANDOM, "unseen"),
]


@pytest.mark.parametrize("case", [row[0] for row in MEASURED])
def test_a_measured_claims_verdict_follows_from_its_measurement(case):
    _, measure, subject, verdict = next(row for row in MEASURED if row[0] == case)
    claim = measure(subject)
    assert claim.verdict == verdict
    assert claim.measured.startswith(subject.name)  # the card names what it measured
    if subject.instead_of:
        assert f"{subject.instead_of}'s weights are not on this machine" in claim.measured
    if not subject.trained:
        assert "random weights" in claim.why


@pytest.mark.parametrize("eval_ratio, train_ratio, verdict", [(5000.0, 1.5, "holds"), (5000.0, 0.13, "differs"),
                                                               (2.0, 0.13, "differs")])
def test_the_shortcut_claim_weighs_both_batchnorm_modes(eval_ratio, train_ratio, verdict):
    claim = claims.resnet_identity_gradient(eval_ratio, train_ratio)
    assert claim.verdict == verdict and f"{train_ratio:.2f}×" in claim.measured


def _lrn_by_hand(responses: list[float], k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75) -> list[float]:
    """The paper's formula, b_i = a_i / (k + α·Σ_{j=i-2..i+2} a_j²)^β, written out (the reference)."""
    return [a / (k + alpha * sum(responses[j] ** 2 for j in range(max(0, i - 2), min(len(responses), i + 3)))) ** beta
            for i, a in enumerate(responses)]


def test_shift_steadiness_is_decided_by_the_architecture_on_random_weights_too():
    """Pooling is architecture: with random weights alone (no trained network here) the probe still
    decides, and the card shows the untrained numbers beside the trained ones."""
    claim = claims.translation_invariance(_shifts(0.996, 0.883), _shifts(0.996, 0.883), RANDOM)
    assert claim.verdict == "holds" and "random weights: pooled 0.996 vs flattened 0.883" in claim.measured
    assert "comes from the architecture" in claim.why and "below 1" in claim.why


def test_lrn_damps_the_neighbours_of_a_strong_response_without_making_it_stronger():
    """Weight-free, so decided on any network: 100 among 10s keeps its 10× over its neighbours,
    which fall to 0.74 of an equal response far away; a lone response stops growing at 200
    (d/da a·(k + αa²)^-β = 0 at a² = k / (α(2β - 1)) = 40,000)."""
    by_hand = _lrn_by_hand([10.0] * 8 + [100.0] + [10.0] * 7)
    claim = claims.lrn_inhibition()
    assert claim.verdict == "roughly"
    assert f"10.00 → {by_hand[8] / by_hand[7]:.2f}" in claim.measured and "10.00 → 10.00" in claim.measured
    assert f"1.00 → {by_hand[7] / by_hand[0]:.2f}" in claim.measured and "1.00 → 0.74" in claim.measured
    assert f"strong / far 10.00 → {by_hand[8] / by_hand[0]:.2f}" in claim.measured
    assert "only up to 200," in claim.measured
    assert "k = 2, α = 10⁻⁴, β = 0.75" in claim.why


@pytest.mark.parametrize("lrn_s, forward_s, verdict", [(0.02, 0.06, "holds"), (0.002, 0.06, "roughly"),
                                                        (0.0001, 0.06, "differs")])
def test_the_lrn_cost_verdict_follows_its_share_of_the_measured_time(lrn_s, forward_s, verdict):
    claim = claims.lrn_cost(lrn_s, forward_s, "cpu")
    assert claim.verdict == verdict and f"{lrn_s * 1000:.1f} of {forward_s * 1000:.1f} ms" in claim.measured


def test_lrn_takes_a_measured_share_of_alexnet_2012s_forward_pass():
    from torch import nn

    from explorer import inference

    lrn_s, forward_s, run = inference.seconds_in(inference.load("alexnet2012"), nn.LocalResponseNorm)
    assert 0 < lrn_s < forward_s and run.device == "cpu"
    # a clock on a class without modules in the network finds nothing
    assert inference.seconds_in(inference.load("alexnet2012"), nn.BatchNorm2d)[0] == 0


def test_the_notes_firsts_are_left_to_the_papers_with_the_builds_counts():
    relu, dropout = claims.notes_relu_first(), claims.notes_dropout_first()
    assert (relu.verdict, relu.source, dropout.verdict, dropout.source) == ("paper", "paper", "paper", "paper")
    assert "uses 7 ReLUs" in relu.measured and "Nair & Hinton (ICML 2010)" in relu.measured
    assert "2 dropout layers here (p = 0.5, 0.5)" in dropout.measured and "arXiv 1207.0580" in dropout.measured


def test_the_notes_slips_are_measured():
    pooling, norm = claims.notes_pooling_branch(), claims.notes_norm_layer()
    assert pooling.verdict == "differs" and "3×3 max pool, stride 1, padding 1, then a 1×1 convolution to 32" \
        in pooling.measured
    assert norm.verdict == "differs" and "2 normalisation layers, both LocalResponseNorm(size 5, α 0.0001" \
        in norm.measured


def test_the_paper_googlenet_differs_from_the_paper_where_its_note_says():
    """The note names three places where the build follows torchvision; they are these."""
    from torch import nn

    model = zoo.meta_model("googlenet_paper")
    assert (model.maxpool4.kernel_size, model.maxpool4.stride) == (2, 2)
    assert model.dropout.p == 0.2
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())
    assert "2×2/2" in str(zoo.get("googlenet_paper").notes) and "dropout 0.2" in str(zoo.get("googlenet_paper").notes)


def test_two_3x3_kernels_cannot_be_every_5x5_kernel():
    import torch

    composed = claims._full_conv_matrix(torch.arange(9.0, dtype=torch.float64).view(3, 3) - 4) \
        @ torch.tensor([1.0, -2, 0, 3, 1, 0, 0, 2, -1], dtype=torch.float64)
    assert claims.two_3x3_fit(tuple(map(tuple, composed.view(5, 5).tolist()))) < 1e-9  # the fit finds a stack
    claim = claims.vgg_stack_differs()
    assert claim.verdict == "holds" and "leave 31.5% of it unexplained" in claim.measured


def test_what_only_training_decides_is_left_to_the_papers_with_the_builds_own_numbers():
    """Six claims need trained networks or training runs: each says "paper only", shows what the
    build does and the paper's numbers, and is counted, not typed."""
    from explorer import costs

    found = {name: getattr(claims, name)() for name in ("alexnet_dropout_effect", "alexnet_overlap_effect", "alexnet_ensemble",
                                                        "parameters_overfit", "googlenet_auxiliary_purpose",
                                                        "best_generalisers")}
    assert {(c.verdict, c.source) for c in found.values()} == {("paper", "paper")}
    assert "p = 0.5 on the inputs of fc6; fc7 (2 dropout layers" in found["alexnet_dropout_effect"].measured
    assert "3×3 windows with stride 2" in found["alexnet_overlap_effect"].measured
    assert "0.4 %" in found["alexnet_overlap_effect"].measured and "0.3 %" in found["alexnet_overlap_effect"].measured
    assert all(f"{n} %" in found["alexnet_ensemble"].measured for n in ("18.2", "16.4", "15.3"))
    per_image = costs.summary("alexnet2012").params / 1_281_167
    assert f"({per_image:.0f} per image)" in found["parameters_overfit"].measured
    googlenet = costs.summary("googlenet")
    assert (f"inception_4a ({googlenet.tap('inception_4a').shape[0]} channels) and "
            f"inception_4d ({googlenet.tap('inception_4d').shape[0]} channels)") in found["googlenet_auxiliary_purpose"].measured
    ranking = found["best_generalisers"].measured.split(": ")[1]
    assert ranking.startswith("Inception v4 80.0 %; ResNet-152 78.3 %")


def test_the_notes_slips_on_zfnet_and_mean_subtraction_are_measured(cat_image):
    widths = claims.notes_zfnet_widths()
    assert widths.verdict == "differs" and "[512, 1024, 512], which widens conv3; conv4; conv5" in widths.measured
    mean = claims.notes_mean_subtraction(cat_image)
    assert mean.verdict == "differs" and "gives back all 154,587 pixel values (0 changed)" in mean.measured
