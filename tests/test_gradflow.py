"""Residual vs plain: identity + dF/dx, the eval-mode vanishing at init, state left untouched."""
import pytest
import torch
from torch import nn

from explorer import costs, figures, gradflow, images, inference, notation, zoo
from explorer.architectures.cifar import CifarBlock, cifar_net


@pytest.fixture(scope="module")
def crops(cat_image):
    return images.augmented_batch(cat_image.image, zoo.get("resnet34").preprocess, 4)


def residual_sum(block: CifarBlock, x):
    """(F(x), F(x) + s(x)) of a residual block, before its final ReLU."""
    f = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
    return f, f + block.shortcut(x)


def test_residual_block_jacobian_is_identity_plus_dF_dx():
    torch.manual_seed(0)
    block = CifarBlock(4, 4, 1, residual=True).eval()
    x = torch.randn(1, 4, 5, 5)
    jac_sum = torch.autograd.functional.jacobian(lambda v: residual_sum(block, v)[1], x)
    jac_f = torch.autograd.functional.jacobian(lambda v: residual_sum(block, v)[0], x)
    identity = torch.eye(x.numel()).reshape(jac_sum.shape)
    assert torch.allclose(jac_sum, identity + jac_f, atol=1e-6)
    assert not torch.allclose(jac_f, torch.zeros_like(jac_f))


def test_plain34_gradient_vanishes_in_eval_mode_at_init_but_not_with_batch_statistics(crops):
    eval_mode = gradflow.compare_twins(gradflow.FlowConfig(pair="34", bn="eval", seed=0), crops)
    batch_stats = gradflow.compare_twins(gradflow.FlowConfig(pair="34", bn="train", seed=0), crops)
    assert eval_mode.first_conv_ratio > 10
    assert batch_stats.first_conv_ratio < 10
    assert eval_mode.plain.target == eval_mode.residual.target


def test_twins_share_their_initial_weights():
    residual, plain = gradflow.build_twins(gradflow.FlowConfig(pair="18", seed=3))
    shared = plain.state_dict()
    assert all(torch.equal(shared[k], v) for k, v in residual.state_dict().items() if k in shared)
    assert costs.count_params(residual) - costs.count_params(plain) == sum(
        costs.count_params(m.downsample) for m in residual.modules() if getattr(m, "downsample", None) is not None)
    cifar_residual, cifar_plain = gradflow.build_twins(gradflow.FlowConfig(pair="cifar20"))
    assert costs.count_params(cifar_residual) == costs.count_params(cifar_plain)  # option A: no parameters
    assert sum(isinstance(m, nn.Conv2d) for m in cifar_net(56, True).modules()) == 55  # 6n+2 = 55 convs + fc


def test_zero_init_and_no_batchnorm_variants():
    residual, plain = gradflow.build_twins(gradflow.FlowConfig(pair="cifar20", init="zero"))
    assert all(float(b.bn2.weight.detach().abs().sum()) == 0 for b in residual.modules() if isinstance(b, CifarBlock))
    assert all(float(b.bn2.weight.detach().abs().sum()) > 0 for b in plain.modules() if isinstance(b, CifarBlock))
    bare, _ = gradflow.build_twins(gradflow.FlowConfig(pair="cifar20", bn="none"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in bare.modules())


def test_profile_leaves_a_shared_model_as_it_found_it(cat_image):
    loaded = inference.load("resnet18", torch.device("cpu"))
    model = loaded.model.train()
    model.fc.weight.grad = torch.ones_like(model.fc.weight)
    model.layer1.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = images.preprocess(cat_image.image, loaded.spec.preprocess).repeat(2, 1, 1, 1)
    result = gradflow.profile(model, x, gradflow.measure_points(model), batch_statistics=True)
    assert len(result.points) == 8 and len(result.weight_grad) == 20 and min(result.weight_grad) > 0
    assert model.training and all(m.training for m in model.modules())
    assert torch.equal(model.fc.weight.grad, torch.ones_like(model.fc.weight))
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN statistics too
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 0


def test_decomposition_adds_up_and_the_identity_path_carries_g(crops):
    residual, _ = gradflow.build_twins(gradflow.FlowConfig(pair="18"))
    splits = gradflow.decompose(residual, crops)
    assert [s.block for s in splits] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    for split in splits:
        assert split.total <= split.through_shortcut + split.through_residual + 1e-6
        assert split.through_shortcut > 0 and split.through_residual > 0


def test_single_network_points_for_other_families():
    points = gradflow.measure_points(zoo.meta_model("vgg16"), "vgg16")
    assert points[0].name == "relu1_1" and len(points) == 15


def test_a_short_training_run_learns():
    steps = list(gradflow.train(gradflow.FlowConfig(pair="cifar20"), steps=40, batch=32))
    assert [s.step for s in steps] == list(range(1, 41))
    first = sum(s.loss["residual"] for s in steps[:10]) / 10
    last = sum(s.loss["residual"] for s in steps[-10:]) / 10
    assert last < first
    assert len(steps[0].conv_grad["plain"]) == 19


def test_log_axes_label_every_tick_in_full():
    assert [notation.scientific(v) for v in (1e-7, 2e-7, 5e-3, 0.05, 1, 200, 5000, 2e4, 1e5)] == \
        ["10⁻⁷", "2×10⁻⁷", "5×10⁻³", "0.05", "1", "200", "5000", "2×10⁴", "10⁵"]
    short = figures.depth_profile_figure({"a": (["x", "y"], [0.3, 4.0])}, "t", "y").layout.yaxis
    assert short.type == "log" and list(short.ticktext) == ["0.2", "0.5", "1", "2", "5"]  # no bare "5" for 0.5
    wide = figures.depth_profile_figure({"a": (["x", "y", "z"], [3e-9, 0.0, 2e-3])}, "t", "y").layout.yaxis
    assert list(wide.ticktext) == ["10⁻⁸", "10⁻⁷", "10⁻⁶", "10⁻⁵", "10⁻⁴", "10⁻³"]  # decades only, zero left out
