"""Comparison rows come from the costs module (one source of truth) and torchvision's metadata."""
import time

import pytest
import torch
from torchvision.models import get_model_weights

from explorer import claims, compare, costs, figures, inference, zoo


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


@pytest.mark.parametrize("like_with_like", [True, False])
def test_bubble_chart_has_one_point_per_network_with_published_accuracy(like_with_like):
    keys = compare.PRESETS["lecture"]  # alexnet, zfnet (a 10-crop paper number), vgg16, googlenet, resnet50 (V2)
    figure = figures.accuracy_bubbles([compare.row(k, like_with_like) for k in keys])
    points = dict(zip(figure.data[0].text, figure.data[0].y))
    assert ("ZFNet" in points) != like_with_like and len(points) == len(keys) - like_with_like
    for key in [k for k in keys if zoo.get(k).weights and zoo.get(k).weights.library == "torchvision"]:
        weights = get_model_weights(key)["IMAGENET1K_V1" if like_with_like else "DEFAULT"]
        assert points[zoo.get(key).name] == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert set(figure.data[0].marker.symbol) <= set(figures.PROTOCOL_SYMBOLS.values())


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
    found = claims.closing(["squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0", "resnet50"])
    assert [c.verdict for c in found] == ["holds", "holds", "holds"]
    assert "smaller" in found[0].measured and "SqueezeNet 1.1" in found[0].statement


def test_accuracy_compares_like_with_like_by_default():
    """Plain-18's 72.06 % is a 10-crop paper number, ResNet-50's 80.86 % comes from torchvision's
    newer V2 recipe: like with like, Plain-18 has no number to show and ResNet-50 shows its V1
    (original recipe, single crop) 76.13 %, so ResNet-18's 69.76 % is not 'beaten' by Plain-18."""
    rows = {r.key: r for r in (compare.row(k) for k in ("resnet18", "plain18", "resnet50", "googlenet_paper"))}
    assert (rows["resnet18"].top1, rows["resnet18"].protocol) == (69.758, "torchvision_v1")
    assert (rows["plain18"].top1, rows["plain18"].protocol) == (None, "paper_10crop")
    assert (rows["resnet50"].top1, rows["resnet50"].protocol) == (76.13, "torchvision_v1")
    assert rows["googlenet_paper"].top5 == 89.93  # the paper's own single-crop 10.07 % top-5 error
    published = {k: compare.row(k, like_with_like=False) for k in ("plain18", "resnet50")}
    assert (published["plain18"].top1, published["plain18"].protocol) == (72.06, "paper_10crop")
    assert (published["resnet50"].top1, published["resnet50"].protocol) == (80.858, "torchvision_v2")


def test_every_published_accuracy_has_a_source_and_a_protocol():
    from explorer import i18n

    for spec in zoo.REGISTRY.values():
        if spec.top1 is not None or spec.top5 is not None:
            assert spec.metrics_source is not None and spec.protocol in zoo.PROTOCOLS, spec.key
            assert f"zoo.protocol.{spec.protocol}" in i18n.table("en"), spec.key
        assert (spec.protocol == "torchvision_v2") == (spec.original_recipe is not None), spec.key


def test_the_latency_estimate_counts_every_pass_the_measurement_makes():
    assert compare.latency_images() == (1 + 3 * 1) + (1 + 3 * 16)
    # per batch size: a warm-up at one image's pace, then three timed passes
    assert compare.estimated_latency_seconds([(0.01, 0.1), (0.02, 0.4)]) == pytest.approx(
        (0.01 + 3 * 0.01) + (0.01 + 3 * 0.1) + (0.02 + 3 * 0.02) + (0.02 + 3 * 0.4))


def test_the_latency_estimate_is_within_half_again_of_the_measurement():
    """The networks whose batch of 16 runs at the most different pace per image from a single
    one (ShuffleNet 0.3x, ResNet-50 1.4x): once estimated at 10x what they then took."""
    keys = ["shufflenet_v2_x1_0", "mobilenet_v3_large", "resnet50", "alexnet"]
    loaded = {key: inference.load(key) for key in keys}
    estimate = compare.estimated_latency_seconds([compare.probe(loaded[key]) for key in keys])
    began = time.perf_counter()
    for _ in compare.latencies(keys, loaded.__getitem__):
        pass
    measured = time.perf_counter() - began
    assert measured / 1.5 <= estimate <= measured * 1.5, (estimate, measured)


def test_latencies_come_one_network_at_a_time_so_a_cancel_keeps_those_measured():
    loads = []

    def load(key):
        loads.append(key)
        return inference.load(key)

    measuring = compare.latencies(["squeezenet1_1", "alexnet"], load)
    key, measured = next(measuring)
    assert key == "squeezenet1_1" and loads == ["squeezenet1_1"]
    assert len(measured) == len(compare.LATENCY_BATCHES) and all(m.seconds > 0 for m in measured)
    measuring.close()  # what a Cancel click does to the page's loop
    assert loads == ["squeezenet1_1"]


def test_the_zfnet_section_reads_its_shapes_from_the_builds():
    assert compare.alexnet_beside_zfnet(["zfnet", "alexnet", "alexnet2012"]) == "alexnet2012"
    assert compare.alexnet_beside_zfnet(["alexnet", "vgg16"]) is None
    shapes = compare.zfnet_changes("alexnet2012")
    assert shapes["alex_conv1"] == "96×55×55" and shapes["zf_conv1"] == "96×110×110"
    assert shapes["conv3"] == "512×13×13" and shapes["conv5"] == "512×13×13"


def test_the_table_leaves_unknown_numbers_empty_and_gives_latency_in_milliseconds_and_images_per_second():
    import math

    from explorer import backend

    unmeasured = compare.row("efficientnet_lite0").as_dict()
    assert math.isnan(unmeasured["top5"]) and math.isnan(unmeasured["latency1"]) and math.isnan(unmeasured["latency16"])
    run = backend.Run("cpu", 0.0)
    measured = compare.row("alexnet").as_dict((compare.Latency(0.0123, run), compare.Latency(0.25, run)))
    assert measured["latency1"] == pytest.approx(12.3) and measured["latency16"] == pytest.approx(250.0)
    assert measured["images_per_s"] == pytest.approx(64.0) and math.isnan(unmeasured["images_per_s"])
    assert None not in measured.values()


def test_bubble_labels_are_placed_apart():
    """Two networks almost on top of each other get their names on different sides; the one at
    the right edge is named to its left, inside the plot (Chromium checks the drawn labels)."""
    places = figures.label_places([1e9, 1.05e9, 1e11], [70.0, 70.2, 55.0], ["ResNet-50", "EfficientNet-Lite0", "VGG16"],
                                  [20, 10, 40], log_x=True)
    assert places[0] != places[1] and places[2].endswith("left")


def test_networks_side_by_side_are_split_into_balanced_tables():
    assert compare.balanced_groups(list("abcdefgh"), 5) == [list("abcd"), list("efgh")]
    assert compare.balanced_groups(list("abcde"), 5) == [list("abcde")]
    assert compare.balanced_groups(list("abcdef"), 5) == [list("abc"), list("def")]
    assert compare.balanced_groups([], 5) == []
