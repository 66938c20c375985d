"""Taps and capture: names, shapes, copies before in-place ops, hooks always removed."""
import pytest
import torch
from torch import nn

from explorer import costs, inference, zoo
from explorer.taps import KINDS, Tap, capture, hooked


@pytest.fixture(scope="module")
def alexnet2012():
    return inference.load("alexnet2012", torch.device("cpu"))


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


@pytest.mark.parametrize("key", list(zoo.REGISTRY))
def test_every_network_runs_on_a_real_image_and_every_tap_has_its_summary_shape(key, cat_image):
    loaded = inference.load(key, torch.device("cpu"))
    record = inference.analyse(loaded, cat_image).record
    assert record.logits.shape == (1000,) and torch.isfinite(record.logits).all()
    expected = {t.name: t.shape for t in costs.summary(key).taps}
    assert {name: tuple(t.shape) for name, t in record.outputs.items()} == expected
    assert _hook_count(loaded.model) == 0


def test_tap_names_follow_the_papers():
    names = lambda key: [t.name for t in zoo.taps(key)]
    assert names("alexnet2012")[:4] == ["conv1", "relu1", "norm1", "pool1"]
    assert names("alexnet2012")[-5:] == ["fc6", "relu6", "fc7", "relu7", "fc8"]
    assert {"conv1_1", "conv5_3", "pool5", "fc6", "fc8"} <= set(names("vgg16"))
    assert {"bn1_1", "bn5_3"} <= set(names("vgg16_bn"))
    assert [n for n in names("googlenet") if n.startswith("inception_3a")] == [
        "inception_3a", "inception_3a/1x1", "inception_3a/3x3", "inception_3a/5x5", "inception_3a/pool_proj"]
    assert {"layer1.0", "layer1.0/residual", "layer1.0/shortcut", "layer2.0/shortcut"} <= set(names("resnet18"))
    assert not any(n.endswith("/shortcut") for n in names("plain18"))
    assert {"fire2", "fire9", "conv10"} <= set(names("squeezenet1_0"))
    assert {"Mixed_5b/1x1", "Mixed_7c/3x3dbl_3x1"} <= set(names("inception_v3"))
    assert {"inception_a1", "reduction_b", "inception_c3/3x3_1x3"} <= set(names("inception_v4"))
    assert {"stage2.0", "stage4.3", "conv5"} <= set(names("shufflenet_v2_x1_0"))
    assert all(t.kind in KINDS for key in zoo.REGISTRY for t in zoo.taps(key))


def test_conv_taps_are_copied_before_the_inplace_relu(alexnet2012, cat_image):
    record = inference.analyse(alexnet2012, cat_image).record
    for number in range(1, 6):
        conv, relu = record.outputs[f"conv{number}"], record.outputs[f"relu{number}"]
        assert (conv < 0).any(), f"conv{number} holds no negative value: it was read after the ReLU"
        assert (relu >= 0).all()
        assert torch.equal(relu, conv.clamp(min=0))


def test_shapes_of_the_2012_paper_at_227(alexnet2012, cat_image):
    record = inference.analyse(alexnet2012, cat_image).record
    assert record.outputs["pool5"].shape == (256, 6, 6) and record.outputs["pool5"].numel() == 9216
    assert record.outputs["fc6"].shape == (4096,)


def test_residual_parts_add_up_to_the_block_output(cat_image):
    loaded = inference.load("resnet18", torch.device("cpu"))
    record = inference.analyse(loaded, cat_image).record
    for block in ("layer1.0", "layer2.0"):
        total = record.outputs[f"{block}/residual"] + record.outputs[f"{block}/shortcut"]
        assert torch.allclose(record.outputs[block], total.clamp(min=0), atol=1e-5)


def test_hooks_are_removed_when_the_forward_pass_fails():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(RuntimeError):
        capture(model, torch.zeros(1, 5, 8, 8), [Tap("conv1", "0", "conv")])  # wrong channel count
    assert _hook_count(model) == 0
    with pytest.raises(ValueError):
        with hooked(model, [Tap("conv1", "0", "conv")], lambda tap, t: None):
            raise ValueError("boom")
    assert _hook_count(model) == 0


def test_gradients_at_a_conv_tap_are_taken_before_the_relu():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(inplace=True), nn.Flatten(),
                          nn.Linear(2 * 16, 3)).eval()
    x = torch.randn(1, 1, 4, 4)
    record = capture(model, x, [Tap("conv1", "0", "conv"), Tap("relu1", "1", "relu")], grads=True, target=1)
    conv_out = model[0](x).detach().requires_grad_(True)
    expected, = torch.autograd.grad(model[3](torch.relu(conv_out).flatten(1))[0, 1], conv_out)
    assert torch.allclose(record.grads["conv1"], expected[0], atol=1e-6)
    assert (record.grads["conv1"][record.outputs["conv1"] < 0] == 0).all()
    assert all(p.grad is None for p in model.parameters())
    assert record.target == 1 and not model.training


def test_capture_restores_training_mode_and_the_record_is_read_only(cat_image):
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.LazyLinear(1000))
    model(torch.zeros(1, 3, 8, 8))
    model.train()
    record = capture(model, torch.zeros(1, 3, 8, 8), [Tap("conv1", "0", "conv")])
    assert model.training
    with pytest.raises(TypeError):
        record.outputs["conv1"] = torch.zeros(1)
    assert record.nbytes == (2 * 6 * 6 + 1000) * 4


def test_every_vgg_tap_equals_its_layer_applied_to_the_previous_tap(cat_image):
    loaded = inference.load("vgg16", torch.device("cpu"))
    record = inference.analyse(loaded, cat_image).record
    features = [t for t in zoo.taps("vgg16") if t.module.startswith("features.")]
    with torch.no_grad():
        for previous, tap in zip(features, features[1:]):
            layer = loaded.model.get_submodule(tap.module)
            expected = layer(record.outputs[previous.name][None].clone())[0]
            assert torch.allclose(record.outputs[tap.name], expected, atol=1e-4), tap.name


def test_an_identity_shortcut_shares_the_copy_of_the_previous_block(cat_image):
    loaded = inference.load("resnet18", torch.device("cpu"))
    record = inference.analyse(loaded, cat_image).record
    assert record.outputs["layer1.1/shortcut"] is record.outputs["layer1.0"]
    assert record.outputs["layer1.0/shortcut"] is record.outputs["pool1"]
    assert record.outputs["relu1"] is not record.outputs["bn1"]  # same storage, changed in place


def test_a_tap_rewritten_in_place_later_is_found_and_copied_from_then_on():
    """Taps are kept as the pass made them unless a later op rewrites them: the first capture that
    finds one rewritten (its version counter moved) captures again copying it, later ones at once."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(inplace=True)).eval()
    x = torch.randn(1, 1, 6, 6)
    with torch.no_grad():
        before_relu = model[0](x)[0]
    passes = []
    model.register_forward_pre_hook(lambda *_: passes.append(1))
    taps = [Tap("conv1", "0", "conv"), Tap("relu1", "1", "relu")]
    for calls, expected_passes in ((1, 2), (2, 3)):
        record = capture(model, x, taps)
        assert len(passes) == expected_passes, calls
        assert (record.outputs["conv1"] < 0).any() and torch.equal(record.outputs["conv1"], before_relu)
        assert torch.equal(record.outputs["relu1"], before_relu.clamp(min=0))


class _FirstHalf(nn.Module):
    def forward(self, x):
        return x.chunk(2, dim=1)[0]


def test_a_tap_that_is_a_view_into_a_larger_buffer_is_copied():
    """Kept uncopied, half a channel split would hold the whole buffer while counting half."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), _FirstHalf(), nn.Conv2d(2, 2, 1)).eval()
    record = capture(model, torch.randn(1, 1, 6, 6), [Tap("conv1", "0", "conv"), Tap("half", "1", "concat")])
    for name in ("conv1", "half"):
        kept = record.outputs[name]
        assert kept.untyped_storage().nbytes() == kept.numel() * kept.element_size(), name
