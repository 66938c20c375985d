"""Each lecture claim is measured, and its verdict is what we expect for the default networks."""
import dataclasses

import pytest

from explorer import claims, zoo
from explorer.cache import clear_memos

EXPECTED = {"alexnet_weight_layers": "holds", "alexnet_pool5": "holds", "vgg_small_kernels": "holds",
            "vgg_channel_doubling": "holds", "vgg_fc6_share": "holds", "googlenet_vs_alexnet": "roughly",
            "alexnet_overlapping_pooling": "holds", "zfnet_changes": "holds", "googlenet_average_pooling": "holds",
            "googlenet_auxiliary_heads": "holds", "inception_reduction_saving": "holds", "resnet_bottleneck": "holds",
            "vgg_stack_differs": "holds", "notes_pooling_branch": "differs", "notes_norm_layer": "differs"}


@pytest.mark.parametrize("name", EXPECTED)
def test_verdicts(name):
    assert getattr(claims, name)().verdict == EXPECTED[name]


def test_every_claim_about_an_architecture_has_its_expected_verdict_here():
    """The costs page's claims and the Lecture's cards counted on the build are all in EXPECTED."""
    from explorer import lecture

    on_the_build = {build.claim.__name__ for _, build in lecture.CARDS if isinstance(build, lecture.OnTheBuild)}
    assert len(on_the_build) == 15
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


def _lrn_input(scale: float):
    """relu1-like maps (96×27×27, seeded) and what AlexNet's LRN makes of them."""
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(0)
    relu1 = torch.relu(torch.randn(96, 27, 27, generator=generator) * scale)
    return relu1, nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(relu1[None])[0]


def _shifts(pooled: float, flattened: float):
    from explorer.invariance import Shift

    return [Shift(0, 1.0, 1.0)] + [Shift(k, pooled, flattened) for k in (4, 8)]


# (claim, its measurement, the subject, the verdict that must follow)
MEASURED = [
    ("lrn large responses", lambda s: claims.lrn_effect(*_lrn_input(40.0), s), TRAINED, "holds"),
    ("lrn small responses", lambda s: claims.lrn_effect(*_lrn_input(1.0), s), TRAINED, "differs"),
    ("lrn random weights", lambda s: claims.lrn_effect(*_lrn_input(40.0), s), RANDOM, "unseen"),
    ("sparse", lambda s: claims.relu_sparsity([0.4, 0.6], s), TRAINED, "holds"),
    ("somewhat sparse", lambda s: claims.relu_sparsity([0.1, 0.2], s), TRAINED, "roughly"),
    ("dense", lambda s: claims.relu_sparsity([0.01, 0.05], s), TRAINED, "differs"),
    ("sparse on random weights", lambda s: claims.relu_sparsity([0.5, 0.5], s), RANDOM, "unseen"),
    ("no ReLU to count after", lambda s: claims.relu_sparsity([], s), TRAINED, "unseen"),
    ("pooling steadier", lambda s: claims.translation_invariance(_shifts(0.97, 0.88), s), STAND_IN, "holds"),
    ("pooling not steadier", lambda s: claims.translation_invariance(_shifts(0.8, 0.9), s), STAND_IN, "differs"),
    ("shifts on random weights", lambda s: claims.translation_invariance(_shifts(0.97, 0.88), s), RANDOM, "unseen"),
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


@pytest.mark.parametrize("eval_ratio, train_ratio, verdict", [(5000.0, 1.5, "holds"), (5000.0, 0.13, "roughly"),
                                                               (2.0, 0.13, "differs")])
def test_the_shortcut_claim_weighs_both_batchnorm_modes(eval_ratio, train_ratio, verdict):
    claim = claims.resnet_identity_gradient(eval_ratio, train_ratio)
    assert claim.verdict == verdict and f"{train_ratio:.2f}×" in claim.measured


def test_lrn_inhibits_only_beside_strong_neighbours():
    """With AlexNet's constants, responses of ~40 are divided measurably more beside strong
    channels; responses of ~1 are all divided by 2^0.75 = 1.682 alike (random weights' case)."""
    strong = claims.lrn_effect(*_lrn_input(40.0), TRAINED)
    weak = claims.lrn_effect(*_lrn_input(1.0), TRAINED)
    assert "by 1.682 and the 1 % beside the strongest neighbouring channels by 1.682" in weak.measured
    assert "(1.000×)" in weak.measured and "(1.000×)" not in strong.measured


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
