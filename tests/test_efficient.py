"""The efficient designs, counted against hand derivations and torchvision's totals."""
import pytest
import torch

from explorer import costs, efficient
from harness import apptest

# torchvision's SqueezeNet 1.1 Fire modules: (input, squeeze, expand 1×1, expand 3×3)
FIRES_1_1 = [(64, 16, 64, 64), (128, 16, 64, 64), (128, 32, 128, 128), (256, 32, 128, 128),
             (256, 48, 192, 192), (384, 48, 192, 192), (384, 64, 256, 256), (512, 64, 256, 256)]


def test_fire_modules_are_counted_by_hand():
    fires = efficient.fire_modules("squeezenet1_1")
    assert [(f.in_channels, f.squeeze, f.expand1x1, f.expand3x3) for f in fires] == FIRES_1_1
    for f in fires:
        assert f.params == (f.in_channels * f.squeeze + f.squeeze) + (f.squeeze * f.expand1x1 + f.expand1x1) \
            + (9 * f.squeeze * f.expand3x3 + f.expand3x3)
        out = f.expand1x1 + f.expand3x3
        assert f.plain_params == 9 * f.in_channels * out + out
    # with conv1 (3→64, 3×3) and the 1×1 classifier (512→1000), the Fires make up the whole network
    assert sum(f.params for f in fires) + (27 * 64 + 64) + (512 * 1000 + 1000) == costs.summary("squeezenet1_1").params
    assert fires[0].macs == (64 * 16 + 16 * 64 + 9 * 16 * 64) * 55 * 55  # fire2 works on 55×55 maps


@pytest.mark.parametrize("key, pairs", [("mobilenet_v2", 17), ("efficientnet_lite0", 16)])
def test_depthwise_separable_costs_follow_the_formula(key, pairs):
    layers = efficient.separable_convolutions(key)
    assert len(layers) == pairs  # one per inverted-residual block
    for layer in layers:
        assert layer.share == pytest.approx(1 / layer.out_channels + 1 / layer.kernel ** 2, rel=1e-12)
        assert layer.standard_macs == layer.depthwise_macs * layer.out_channels
    assert {layer.kernel for layer in layers} == ({3} if key == "mobilenet_v2" else {3, 5})


@pytest.mark.parametrize("groups", [2, 3, 4, 6])
def test_a_channel_shuffle_lets_every_group_reach_every_group(groups):
    assert torch.equal(efficient.group_reach(36, groups, shuffle=False), torch.eye(groups))
    assert torch.equal(efficient.group_reach(36, groups, shuffle=True), torch.ones(groups, groups))
    assert efficient.grouped_params(36, groups) == 36 * 36 // groups
    assert efficient.shuffle_order(36, groups) == tuple(torch.arange(36).view(groups, 36 // groups).T.flatten().tolist())


def test_one_shuffle_reaches_every_group_only_with_enough_channels_per_group():
    """3 channels per group spread over 3 of 4 groups: each input group misses one output group."""
    reach = efficient.group_reach(12, 4, shuffle=True)
    assert reach.sum(1).tolist() == [3, 3, 3, 3] and torch.equal(reach.diagonal(), torch.ones(4))


def test_the_efficient_page_reacts_to_its_widgets():
    app = apptest.start("alexnet", "pages/efficient.py")
    assert not apptest.errors(app)
    assert "SqueezeNet 1.1 has 1,235,496 parameters, AlexNet (torchvision) 61,100,840 — 49× more" in apptest.texts(app)
    app.radio(key="separable_network").set_value("efficientnet_lite0").run()
    assert "EfficientNet-Lite0 has 16 of them" in apptest.texts(app)
    app.select_slider(key="shuffle_groups").set_value(1).run()
    app.selectbox(key="fire_module").set_value("fire9").run()
    assert not apptest.errors(app) and "has 1,296 weights instead of 1,296" in apptest.texts(app)


def test_the_efficient_view_travels_in_its_link():
    from harness.apptest import open_link as _open, param as _param

    app = _open("pages/efficient.py", net="alexnet", fire="fire7", separable="efficientnet_lite0", groups="4")
    assert not apptest.errors(app)
    assert (app.selectbox(key="fire_module").value, app.radio(key="separable_network").value,
            app.select_slider(key="shuffle_groups").value) == ("fire7", "efficientnet_lite0", 4)
    assert (_param(app, "fire"), _param(app, "separable"), _param(app, "groups")) == ("fire7", "efficientnet_lite0", "4")
