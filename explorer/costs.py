"""Parameters, MACs and output shapes per tap, counted on the meta device.

MACs follow torchvision's `_ops` convention: multiply-accumulates of convolutions and
linear layers as counted by torch.utils.flop_counter (its FLOPs / 2). Biases, ReLU,
pooling, BatchNorm, LRN and additions are not counted.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import taps as taps_module
from . import zoo

NOT_COUNTED = "biases, ReLU, pooling, BatchNorm, LRN and additions"


@dataclass(frozen=True)
class TapCost:
    name: str
    module: str
    kind: str
    parent: str | None
    shape: tuple[int, ...]  # (C, H, W) or (N,)
    params: int
    macs: int
    rf: int | None  # theoretical receptive field in input pixels, spatial taps only


@dataclass(frozen=True)
class Summary:
    key: str
    params: int
    macs: int
    taps: tuple[TapCost, ...]


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@lru_cache(maxsize=None)
def summary(key: str) -> Summary:
    """Whole-network and per-tap counts for a registered network."""
    spec, model, taps = zoo.get(key), zoo.meta_model(key), zoo.taps(key)
    x = torch.zeros(1, *spec.input_size, device="meta")
    with FlopCounterMode(display=False) as counter:
        shapes = taps_module.shapes(model, x, taps)
    flops = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    root = type(model).__name__
    rows = tuple(
        TapCost(name=tap.name, module=tap.module, kind=tap.kind, parent=tap.parent,
                shape=shapes[tap.name],
                params=0 if tap.io == "input" else count_params(model.get_submodule(tap.module)),
                macs=0 if tap.io == "input" else int(flops.get(f"{root}.{tap.module}", 0)) // 2,
                rf=None)
        for tap in taps)
    return Summary(key, count_params(model), int(counter.get_total_flops()) // 2, rows)
