"""Comparison rows come from the costs module (one source of truth) and torchvision's metadata."""
import pytest
import torch
from torchvision.models import get_model_weights

from explorer import compare, costs, figures, inference, zoo


@pytest.mark.parametrize("key", compare.PRESETS["lecture"] + ["squeezenet1_1"])
def test_rows_equal_the_costs_module(key):
    row, summary = compare.row(key), costs.summary(key)
    assert (row.params, row.macs, row.depth) == (summary.params, summary.macs, summary.depth)
    assert row.file_mb * 2**20 == costs.file_bytes(key)
    assert row.weights == "random" and row.input_size == zoo.get(key).input_size


def test_file_size_and_peak_activation_memory():
    assert costs.file_bytes("alexnet") == 61_100_840 * 4  # no buffers in AlexNet
    assert costs.file_bytes("resnet18") > 11_689_512 * 4  # BatchNorm statistics are saved too
    conv1 = 64 * 224 * 224 * 4
    assert costs.peak_activation_bytes("vgg16") == 2 * conv1 + 3 * 224 * 224 * 4  # conv1_1 and conv1_2 outputs


def test_bubble_chart_has_one_point_per_network_with_published_accuracy():
    keys = compare.PRESETS["lecture"]
    figure = figures.accuracy_bubbles([compare.row(k) for k in keys])
    published = [k for k in keys if zoo.get(k).weights and zoo.get(k).weights.library == "torchvision"]
    points = dict(zip(figure.data[0].text, figure.data[0].y))
    assert len(points) == len(keys)  # alexnet, zfnet (paper), vgg16, googlenet, resnet50
    for key in published:
        assert points[zoo.get(key).name] == get_model_weights(key).DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"]


def test_stage_taps_are_at_comparable_strides():
    for key in ("vgg16", "resnet50", "googlenet", "mobilenet_v2"):
        stages = compare.stage_taps(key)
        assert list(stages)[0] == "first_conv" and set(stages) == set(compare.STAGES)
        for label, stride in compare.STAGES.items():
            if stride:
                assert costs.summary(key).tap(stages[label]).jump == stride
    assert compare.stage_taps("resnet50")["1/32"] == "layer4.2"


def test_latency_is_a_positive_median():
    loaded = inference.load("squeezenet1_1", torch.device("cpu"))
    one, eight = compare.latency(loaded, 1, repeats=2), compare.latency(loaded, 8, repeats=2)
    assert 0 < one.seconds < eight.seconds and one.run.device == "cpu" and one.run.fell_back is None


def test_closing_claims():
    claims = compare.closing_claims(["squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0"])
    assert [c.verdict for c in claims] == ["holds", "holds", "holds"]
    assert "smaller" in claims[0].measured
