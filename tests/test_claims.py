"""Each lecture claim is measured, and its verdict is what we expect for the default networks."""
import dataclasses

import pytest

from explorer import claims, costs, zoo

EXPECTED = {"alexnet_weight_layers": "holds", "alexnet_pool5": "holds", "vgg_small_kernels": "holds",
            "vgg_channel_doubling": "holds", "vgg_fc6_share": "holds", "googlenet_vs_alexnet": "roughly",
            "alexnet_overlapping_pooling": "holds", "zfnet_changes": "holds", "googlenet_average_pooling": "holds",
            "googlenet_auxiliary_heads": "holds", "inception_reduction_saving": "holds", "resnet_bottleneck": "holds"}


@pytest.mark.parametrize("claim", claims.COSTS_CLAIMS + claims.ARCHITECTURE_CLAIMS, ids=lambda f: f.__name__)
def test_verdicts(claim):
    assert claim().verdict == EXPECTED[claim.__name__]


def test_a_claim_follows_the_registry(monkeypatch):
    """Change VGG16's registry entry (fc6 twice as wide) and the fc6 claim measures the change."""
    monkeypatch.setitem(zoo.REGISTRY, "vgg16", dataclasses.replace(zoo.get("vgg16"),
                                                                   build=lambda: _vgg16_with_fc6(8192)))
    costs.clear_caches()
    try:
        claim = claims.vgg_fc6_share()
        assert claim.verdict == "differs" and "205,529,088" in claim.measured
    finally:
        monkeypatch.undo()
        costs.clear_caches()
    assert claims.vgg_fc6_share().verdict == "holds"


def _vgg16_with_fc6(units: int):
    from torch import nn
    from torchvision.models import vgg16

    model = vgg16(weights=None)
    model.classifier[0] = nn.Linear(512 * 7 * 7, units)
    model.classifier[3] = nn.Linear(units, 4096)
    return model
