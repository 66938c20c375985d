"""What a captured record says about each tap: channel rankings, statistics, first-layer kernels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from . import backend, images, inference
from .hooks import Hooks
from .taps import Tap

RANKINGS = ("mean", "max", "active")  # named by texts "activations.ranking.<key>"


def is_spatial(tensor: Tensor) -> bool:
    return tensor.dim() == 3  # [C, H, W]


def channel_scores(maps: Tensor, metric: str) -> Tensor:
    """One score per channel of a [C, H, W] tensor."""
    flat = maps.flatten(1).float()
    if metric == "mean":
        return flat.mean(1)
    if metric == "max":
        return flat.amax(1)
    if metric == "active":
        return (flat > 0).float().mean(1)
    raise ValueError(f"unknown ranking {metric!r}; choose one of {', '.join(RANKINGS)}")


def top_channels(maps: Tensor, k: int | None, metric: str = "mean") -> list[int]:
    """All channels in order (k=None), or the k highest-scoring, best first."""
    if k is None or k >= maps.shape[0]:
        return list(range(maps.shape[0]))
    return channel_scores(maps, metric).topk(k).indices.tolist()


@dataclass(frozen=True)
class TapStats:
    name: str
    kind: str
    channels: int
    height: int | None  # None for vectors
    width: int | None
    mean: float
    std: float
    zeros: float  # fraction of exactly-zero values: sparsity after a ReLU


def matching_tap(name: str, source: Sequence[Tap], target: Sequence[Tap]) -> str:
    """The tap of `target` at the place of `source`'s tap `name`, by module path, so that switching
    between the main taps and every leaf layer keeps the place: a block's main tap -> the last leaf
    inside it (its input -> the first); a leaf -> the innermost tap around it (a branch's, a
    residual's). The first tap of `target` where nothing matches."""
    tap = next(t for t in source if t.name == name)
    inside = lambda outer, inner: inner == outer or inner.startswith(outer + ".")
    within = [t for t in target if inside(tap.module, t.module)]
    if within:  # the taps inside this one: it is the coarser
        return (within[0] if tap.io == "input" else within[-1]).name
    around = [t for t in target if inside(t.module, tap.module) and t.io == "output"]
    return max(around, key=lambda t: len(t.module)).name if around else target[0].name


def tap_stats(outputs: Mapping[str, Tensor], taps: Sequence[Tap]) -> list[TapStats]:
    """Statistics of every tap's output, in forward order."""
    rows = []
    for tap in taps:
        values = outputs[tap.name].float()
        spatial = is_spatial(values)
        rows.append(TapStats(
            name=tap.name, kind=tap.kind, channels=values.shape[0],
            height=values.shape[1] if spatial else None, width=values.shape[2] if spatial else None,
            mean=float(values.mean()), std=float(values.std()) if values.numel() > 1 else 0.0,
            zeros=float((values == 0).float().mean())))
    return rows


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """The convolution that looks at the RGB image, with its module path."""
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            return path, module
    raise ValueError("this network has no convolution on the RGB input")


def rgb_kernels(conv: nn.Conv2d) -> Tensor:
    """[out, k, k, 3] in [0, 1]: each kernel stretched to its own range, as the papers draw them."""
    weights = conv.weight.detach().float().cpu()  # [out, 3, k, k]
    low = weights.amin(dim=(1, 2, 3), keepdim=True)
    high = weights.amax(dim=(1, 2, 3), keepdim=True)
    return ((weights - low) / (high - low).clamp_min(1e-12)).permute(0, 2, 3, 1)


@dataclass(frozen=True)
class FirstLayer:
    path: str  # module path of the convolution on the RGB input
    kernels: Tensor  # [out, k, k, 3] in [0, 1], as `rgb_kernels` draws them
    kernel: int
    stride: int


def first_layer(loaded: inference.LoadedModel) -> FirstLayer:
    """A shared network's first-layer kernels, read through its one way of being used."""
    def work(model: nn.Module, _device: torch.device) -> FirstLayer:
        path, conv = first_conv(model)
        return FirstLayer(path, rgb_kernels(conv), conv.kernel_size[0], conv.stride[0])
    return loaded.run(work)[0]


RECTIFIERS = (nn.ReLU, nn.ReLU6)  # ReLU6: MobileNet's and EfficientNet-Lite's bounded ReLU


@dataclass(frozen=True)
class RectifierZeros:
    key: str  # the network measured
    shares: tuple[float, ...]  # exactly-zero share of each rectifier's output, in call order
    run: backend.Run


def rectifier_zeros(loaded: inference.LoadedModel, image: images.LoadedImage) -> RectifierZeros:
    """How sparse a network's maps are: the share of exactly-zero values after every ReLU call of
    one forward pass, for networks that fold their ReLUs into blocks (ResNet, EfficientNet) as
    much as for those that tap them (AlexNet, VGG). A module called twice counts twice."""
    x = images.preprocess(image.image, loaded.spec.preprocess)

    def work(model: nn.Module, device: torch.device) -> tuple[float, ...]:
        shares: list[float] = []

        def count(_module, _inputs, output: Tensor) -> None:
            shares.append(float((output == 0).float().mean()))

        with Hooks() as hooks, torch.no_grad():
            for module in model.modules():
                if isinstance(module, RECTIFIERS):
                    hooks.after(module, count)
            model.eval()
            model(x.to(device))
        return tuple(shares)

    shares, run = loaded.run(work)
    return RectifierZeros(loaded.spec.key, shares, run)
