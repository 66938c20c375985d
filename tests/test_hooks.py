import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from explorer.hooks import Hooks


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


class Fails(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


def test_the_running_stack_names_the_blocks_around_each_layer_outermost_first():
    model = resnet18().eval()
    seen = {}

    def note(path: str):
        def hook(*_) -> None:
            seen[path] = list(running)
        return hook

    with Hooks() as hooks:
        running = hooks.running(model)
        for path in ("conv1", "layer2.0.downsample.0", "fc"):
            hooks.before(model.get_submodule(path), note(path))  # after running's own: it has entered
        model(torch.zeros(1, 3, 64, 64))
        assert running == []  # every module it entered it left
    assert seen == {"conv1": ["", "conv1"], "fc": ["", "fc"],
                    "layer2.0.downsample.0": ["", "layer2", "layer2.0", "layer2.0.downsample", "layer2.0.downsample.0"]}
    assert _hook_count(model) == 0


def test_hooks_are_off_after_a_forward_that_raised_and_the_stack_is_unwound():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), Fails()))
    with pytest.raises(RuntimeError, match="boom"):
        with Hooks() as hooks:
            running = hooks.running(model)
            hooks.after(model[0], lambda *_: None)
            model(torch.zeros(1, 3, 8, 8))
    assert running == [] and _hook_count(model) == 0


def test_hooks_registered_before_a_failure_in_the_block_are_taken_off():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(KeyError):
        with Hooks() as hooks:
            hooks.before(model[0], lambda *_: None)
            hooks.after(model[1], lambda *_: None)
            raise KeyError("before the forward")
    assert _hook_count(model) == 0


def test_a_value_an_after_hook_returns_replaces_the_output():
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    with Hooks() as hooks:
        hooks.after(model[0], lambda _m, _a, output: -output)
        assert torch.equal(model(torch.ones(2)), torch.zeros(2))
    assert torch.equal(model(torch.ones(2)), torch.ones(2))
