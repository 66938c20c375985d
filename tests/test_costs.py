"""Costs: receptive fields against an independent gradient method, shares by hand, what-ifs."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torch import nn
from torchvision.models import get_model

from explorer import cli, costs, weights, zoo
from explorer.taps import capture


@pytest.mark.parametrize("key, tap, expected", [
    ("alexnet2012", "pool5", 195), ("alexnet", "pool5", 195), ("vgg16", "conv1_2", 5),
    ("vgg16", "conv5_3", 196), ("vgg16", "pool5", 212), ("inception_v3", "Mixed_7c", 1311),
])
def test_receptive_fields_of_the_lecture(key, tap, expected):
    assert costs.summary(key).tap(tap).rf == expected


def test_summary_json_carries_receptive_fields(capsys):
    assert cli.main(["summary", "vgg16", "--json"]) == 0
    taps = {t["name"]: t for t in json.loads(capsys.readouterr().out)["taps"]}
    assert (taps["conv1_2"]["rf"], taps["conv5_3"]["rf"], taps["pool5"]["rf"]) == (5, 196, 212)
    assert taps["fc6"]["rf"] is None


def _linearised(model: nn.Module) -> nn.Module:
    """Positive weights, no biases, max-pooling as average pooling: every path carries gradient."""
    for name, module in list(model.named_modules()):
        for child_name, child in module.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(module, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                         ceil_mode=child.ceil_mode))
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            parameter.fill_(0.0 if parameter_name.endswith("bias") else 0.01)
    return model.eval()


def _gradient_support(key: str, tap_name: str) -> int:
    """The extent of d(centre unit)/d(input): the receptive field, measured independently."""
    spec = zoo.get(key)
    model = _linearised(weights.random_model(spec))
    tap = next(t for t in zoo.taps(key) if t.name == tap_name)
    captured = {}
    handle = model.get_submodule(tap.module).register_forward_hook(lambda m, i, o: captured.setdefault("o", o))
    x = torch.ones(1, *spec.input_size, requires_grad=True)
    model(x)
    handle.remove()
    out = captured["o"]
    out[0, :, out.shape[2] // 2, out.shape[3] // 2].sum().backward()
    rows = torch.nonzero(x.grad[0].abs().sum(0).sum(1))
    return int(rows.max() - rows.min() + 1)


@pytest.mark.parametrize("key, tap", [("alexnet2012", "conv5"), ("vgg16", "conv3_3"),
                                      ("googlenet", "inception_3a"), ("resnet18", "layer2.1")])
def test_receptive_field_equals_the_support_of_a_gradient(key, tap):
    measured = _gradient_support(key, tap)
    field = costs.summary(key).tap(tap).rf
    assert field <= zoo.get(key).input_size[1]  # the whole field fits inside the input
    assert measured == field


def test_shares_match_a_count_by_hand_on_torchvision_models():
    for key in ("vgg16", "alexnet"):
        model = get_model(key, weights=None)
        conv = sum(p.numel() for m in model.modules() if isinstance(m, nn.Conv2d) for p in m.parameters())
        fc = sum(p.numel() for m in model.modules() if isinstance(m, nn.Linear) for p in m.parameters())
        shares = costs.shares(key)
        assert (shares.conv_params, shares.fc_params, shares.other_params) == (conv, fc, 0)
    assert costs.shares("vgg16").fc_params / costs.summary("vgg16").params == pytest.approx(0.8937, abs=1e-4)
    assert costs.shares("resnet18").other_params == sum(
        p.numel() for m in get_model("resnet18").modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())


def test_depths_of_the_papers():
    assert [costs.summary(k).depth for k in ("alexnet", "vgg16", "vgg19", "googlenet", "resnet34", "resnet152")] \
        == [8, 16, 19, 22, 34, 152]


def test_two_3x3_against_one_5x5_on_vgg16():
    pair = costs.stacked_3x3("vgg16")
    assert (pair.first, pair.second, pair.channels) == ("features.26", "features.28", 512)
    assert pair.stacked_rf == pair.single_rf == 5
    assert pair.stacked_params == 2 * (9 * 512 * 512 + 512) and pair.single_params == 25 * 512 * 512 + 512
    assert costs.stacked_3x3("alexnet") is None


def test_fc6_what_if_for_vgg16():
    rows = costs.fc6_what_if("vgg16")
    assert rows[0].fc6_params == 102_764_544 and rows[0].network_params == 138_357_544
    assert rows[1].fc6_params == 7 * 7 * 1024 * 4096 + 4096 == 205_524_992
    assert rows[2].fc6_params == 512 * 4096 + 4096
    assert rows[3].network_params == 138_357_544 - (102_764_544 + 16_781_312 + 4_097_000) + 513_000
    assert costs.fc6_what_if("resnet50") is None


def test_module_tree_sums_and_tap_table():
    nodes = {n.path: n for n in costs.module_tree("vgg16")}
    assert nodes[""].params == 138_357_544 and nodes[""].macs == costs.summary("vgg16").macs
    assert nodes["features"].params + nodes["classifier"].params == nodes[""].params
    row = next(r for r in costs.tap_table("vgg16") if r["tap"] == "conv1_1")
    assert row["shape"] == "64×224×224" and row["flops"] == 2 * row["macs"]
    assert row["activation_kib"] == 64 * 224 * 224 * 4 / 1024 and row["rf"] == 3


# ---------------------------------------------------------------- under concurrency

CONCURRENT = ("alexnet", "googlenet", "resnet50")


def _busy(key: str, stop: threading.Event) -> threading.Thread:
    """Another session: real forward and backward passes of a network, until stopped."""
    spec = zoo.get(key)
    model = weights.random_model(spec).eval()
    x = torch.randn(1, *spec.input_size)
    taps = zoo.taps(key)

    def loop() -> None:
        while not stop.is_set():
            capture(model, x, taps, grads=True)

    thread = threading.Thread(target=loop)
    thread.start()
    return thread


def test_summaries_measured_at_once_equal_a_serial_run_while_other_sessions_compute():
    """Four threads measure three networks at once while three others run forward and backward
    passes of networks of the same classes (AlexNet, GoogLeNet, ResNet): every count equals
    the serial one (torch's FlopCounterMode, process-wide, failed this)."""
    serial = {key: costs.summary.__wrapped__(key) for key in CONCURRENT}
    stop = threading.Event()
    busy = [_busy(key, stop) for key in ("alexnet", "googlenet", "resnet18")]
    try:
        with ThreadPoolExecutor(4) as pool:
            measured = list(pool.map(costs.summary.__wrapped__, [k for _ in range(4) for k in CONCURRENT]))
    finally:
        stop.set()
        for thread in busy:
            thread.join()
    for result in measured:
        assert result == serial[result.key], result.key


def test_a_summary_is_unchanged_by_another_session_running_halfway_through_its_pass(monkeypatch):
    """The race above, made certain: each counting pass waits halfway while another session runs
    forward and backward through a network of the same class."""
    from harness.interleave import meanwhile

    serial = {key: costs.summary.__wrapped__(key) for key in CONCURRENT}
    others, fresh = [], zoo.fresh_meta_model

    def interrupted(key: str) -> nn.Module:
        model, spec = fresh(key), zoo.get(key)
        busy = weights.random_model(spec).eval()
        x = torch.randn(1, *spec.input_size)
        others.append(meanwhile(model, lambda: capture(busy, x, zoo.taps(key), grads=True).target))
        return model

    monkeypatch.setattr(zoo, "fresh_meta_model", interrupted)
    for key in CONCURRENT:
        assert costs.summary.__wrapped__(key) == serial[key], key
    assert others and all(session and all(isinstance(target, int) for target in session) for session in others)


def test_first_summaries_asked_by_many_sessions_are_computed_once():
    costs.summary.cache_clear()
    before = costs.summary.cache.computed
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(costs.summary, [k for _ in range(8) for k in CONCURRENT]))
    assert costs.summary.cache.computed - before == len(CONCURRENT)
    for key in CONCURRENT:
        assert len({id(r) for r in results if r.key == key}) == 1
    assert costs.summary("alexnet").tap("conv2").macs == 223_948_800
    assert costs.summary("alexnet").tap("conv5").rf == 163


def test_dropout_layers_are_read_from_the_build():
    assert costs.dropouts("alexnet2012") == (("classifier.0", 0.5), ("classifier.3", 0.5))
    assert costs.dropouts("googlenet_paper") == (("dropout", 0.2),)
    assert costs.dropouts("resnet18") == ()


def test_the_treemaps_top_level_shares_name_the_thin_conv_block():
    """AlexNet's convolutions hold 4 % of its parameters: too thin a tile for a label, so the
    shares are also written out, counted here from torchvision's own modules."""
    from torchvision.models import alexnet

    model = alexnet()
    count = lambda module: sum(p.numel() for p in module.parameters())
    shares = dict(costs.top_level_shares("alexnet", "params"))
    assert shares == pytest.approx({"features": count(model.features) / count(model),
                                    "classifier": count(model.classifier) / count(model)})
    assert round(shares["features"], 4) == 0.0404
    assert len(costs.top_level_shares("googlenet", "macs")) == 8


def test_convnexts_pointwise_linear_layers_count_as_convolutions():
    """torchvision's ConvNeXt-T writes its 1×1 convolutions as nn.Linear on channels-last maps: 18
    blocks × 2 of them act on every position; only the classifier (768 → 1000) is fully connected."""
    assert len(costs.pointwise_linears("convnext_tiny")) == 36
    classifier = 768 * 1000 + 1000
    assert costs.shares("convnext_tiny").fc_params == classifier
    assert costs.pointwise_linears("vgg16") == frozenset()  # fc6–fc8 see one vector per image


def test_the_treemap_is_coloured_as_its_legend_says():
    """Blue where convolutions hold most of a tile, red for fully connected, grey for the rest (the
    treemap used plotly's own palette: Lite0's conv_head red, its fc light blue, VGG16's fc6 dark blue)."""
    from explorer import figures

    for key, expected in (("vgg16", {"fc6": "fc", "features": "conv", "conv5_3": "conv"}),
                          ("efficientnet_lite0", {"conv_head": "conv", "fc": "fc", "bn1": "other"})):
        names = {tap.module: tap.name for tap in zoo.taps(key) if tap.io == "output"}
        treemap = figures.module_treemap(costs.module_tree(key), "params", key, names).data[0]
        colour = dict(zip(treemap.labels, treemap.marker.colors))
        assert {label: colour[label] for label in expected} == {
            label: figures.KIND_COLOURS[kind] for label, kind in expected.items()}


def test_layer_charts_name_layers_as_the_table_does():
    from explorer import figures

    names = {tap.module: tap.name for tap in zoo.taps("efficientnet_lite0") if tap.io == "output"}
    labels = [figures.layer_label(layer.module, names) for layer in costs.weight_layers("efficientnet_lite0")]
    assert labels[:3] == ["conv_stem", "stage2.0 · conv_dw", "stage2.0 · conv_pw"] and labels[-1] == "fc"
    assert "blocks.1.0.conv_dw" not in labels


@pytest.mark.parametrize("key, config", [("vgg11", "A"), ("vgg16", "D"), ("vgg19", "E")])
def test_vgg_stages_match_the_papers_configuration_counted_by_hand(key, config):
    """Each block's convolutions from torchvision's own configuration list (the paper's Table 1),
    counted by the formulas: k²·C_in·C_out + C_out parameters, H·W·k²·C_in·C_out MACs."""
    from torchvision.models import vgg

    blocks, block, channels, size = [], [], 3, 224
    for entry in vgg.cfgs[config]:
        if entry == "M":
            blocks.append(block)
            block, size = [], size // 2
        else:
            block.append((9 * channels * entry + entry, size * size * 9 * channels * entry, entry, size))
            channels = entry
    stages = costs.stages(key)
    assert [s.name for s in stages] == ["1", "2", "3", "4", "5", "fc"]
    for stage, convs in zip(stages, blocks):
        assert (stage.layers, stage.params, stage.macs) == (len(convs), sum(p for p, *_ in convs),
                                                            sum(m for _, m, *_ in convs))
        assert (stage.channels, stage.size) == (convs[-1][2], (convs[-1][3], convs[-1][3]))
    fc = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    assert (stages[-1].layers, stages[-1].params, stages[-1].macs) == (3, sum(i * o + o for i, o in fc),
                                                                       sum(i * o for i, o in fc))


def test_vgg16_against_vgg19_adds_a_layer_to_blocks_3_to_5_and_a_quarter_of_the_compute():
    from torchvision.models import VGG16_Weights, VGG19_Weights

    from explorer import lecture

    stack = lecture.deeper_stack()
    assert [(a.layers, b.layers) for a, b in stack.stages] == [(2, 2), (2, 2), (3, 4), (3, 4), (3, 4), (3, 3)]
    assert stack.params == (VGG16_Weights.IMAGENET1K_V1.meta["num_params"], VGG19_Weights.IMAGENET1K_V1.meta["num_params"])
    assert stack.params == (138_357_544, 143_667_240)
    assert [round(m / 1e9, 3) for m in stack.macs] == [VGG16_Weights.IMAGENET1K_V1.meta["_ops"],
                                                       VGG19_Weights.IMAGENET1K_V1.meta["_ops"]] == [15.47, 19.632]
    # conv3_4, conv4_4, conv5_4 on 56×56, 28×28 and 14×14 maps
    assert stack.added == (9 * 256 * 256 + 256 + 2 * (9 * 512 * 512 + 512),
                           56 * 56 * 9 * 256 * 256 + (28 * 28 + 14 * 14) * 9 * 512 * 512) == (5_309_696, 4_161_798_144)
    assert [(s.name, added) for s, added in stack.grown] == [("3", 1), ("4", 1), ("5", 1)]
    assert stack.layers == (16, 19) == (costs.summary("vgg16").depth, costs.summary("vgg19").depth)
