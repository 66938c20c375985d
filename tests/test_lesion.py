"""Deleting one block at a time (explorer/lesion.py), checked against the network rebuilt without it."""
import copy

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from explorer import inference, lesion
from explorer.architectures.plain import plain18


def _image(size: int = 64) -> torch.Tensor:
    return torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))


def test_the_blocks_that_keep_their_inputs_shape_are_the_deletable_ones():
    """ResNet-18's first block of stages 2–4 strides and projects: the other five keep the shape,
    in the residual network and in its plain twin alike."""
    expected = ["layer1.0", "layer1.1", "layer2.1", "layer3.1", "layer4.1"]
    assert lesion.deletable_blocks(resnet18().eval(), _image()) == expected
    assert lesion.deletable_blocks(plain18().eval(), _image()) == expected


@pytest.mark.parametrize("build", [resnet18, plain18])
def test_a_deleted_block_gives_the_network_rebuilt_without_it(build):
    torch.manual_seed(0)
    model, x = build().eval(), _image()
    found = lesion.delete_each(model, x)
    with torch.no_grad():
        intact = model(x)
        for deleted in found:
            without = copy.deepcopy(model)
            stage, index = deleted.block.split(".")
            getattr(without, stage)[int(index)] = nn.Identity()
            logits = without(x)
            assert deleted.similarity == pytest.approx(float(nn.functional.cosine_similarity(logits, intact).mean()),
                                                       abs=1e-6)
            assert deleted.top1_kept == int((logits.argmax(1) == intact.argmax(1)).sum()) and deleted.images == 2
    assert not any(m._forward_hooks for m in model.modules())  # the model is left as it was
    assert torch.equal(model(x), intact)


def test_trained_efficientnet_lite0_survives_any_single_block_deleted():
    """EfficientNet-Lite0's nine inverted residuals with identity shortcuts, deleted in turn on the five
    sample photos: its class stays for most (Veit et al.'s finding for a trained ResNet)."""
    study = lesion.on_samples(inference.load("efficientnet_lite0"))
    assert [found.block for found in study.lesions] == ["blocks.1.1", "blocks.2.1", "blocks.3.1", "blocks.3.2",
                                                        "blocks.4.1", "blocks.4.2", "blocks.5.1", "blocks.5.2",
                                                        "blocks.5.3"]
    assert all(found.images == 5 for found in study.lesions)
    assert study.kept_share >= 0.8 and study.worst.top1_kept < 5  # most kept; not every block is idle
