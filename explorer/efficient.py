"""What the efficient networks do to save, measured on the registered builds.

SqueezeNet's Fire module (squeeze 1×1, then expand 1×1 + 3×3), the depthwise-separable
convolutions of MobileNet v2 and EfficientNet-Lite0 (a k×k filter per channel, then a 1×1 across
channels), and ShuffleNet's channel shuffle (which lets grouped convolutions exchange
information). Every count comes from costs.summary's per-module MACs and the modules' own
parameters; the shuffle's effect is measured by perturbing inputs and watching outputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import skip_init
from torchvision.models.shufflenetv2 import channel_shuffle

from . import costs, zoo
from .cache import memoize


@dataclass(frozen=True)
class Fire:
    module: str
    in_channels: int
    squeeze: int
    expand1x1: int
    expand3x3: int
    params: int
    macs: int
    plain_params: int  # one 3×3 convolution from the same input to the same output channels
    plain_macs: int


@dataclass(frozen=True)
class Separable:
    depthwise: str  # module paths
    pointwise: str
    channels: int  # of the depthwise convolution
    out_channels: int
    kernel: int
    stride: int
    depthwise_macs: int
    pointwise_macs: int
    standard_macs: int  # one k×k convolution from the same input to the same output channels

    @property
    def share(self) -> float:
        """Measured cost over a standard convolution's: 1/out_channels + 1/k² in theory."""
        return (self.depthwise_macs + self.pointwise_macs) / self.standard_macs


@memoize
def fire_modules(key: str = "squeezenet1_1") -> tuple[Fire, ...]:
    """Every Fire module with its costs, and those of the plain 3×3 convolution it replaces."""
    macs = costs.summary(key).module_macs
    rows = []
    for path, module in zoo.meta_model(key).named_modules():
        if not all(hasattr(module, name) for name in ("squeeze", "expand1x1", "expand3x3")):
            continue
        squeeze, e1, e3 = module.squeeze, module.expand1x1, module.expand3x3
        out = e1.out_channels + e3.out_channels
        positions = macs[f"{path}.expand3x3"] // (9 * squeeze.out_channels * e3.out_channels)  # H·W
        rows.append(Fire(path, squeeze.in_channels, squeeze.out_channels, e1.out_channels, e3.out_channels,
                         costs.count_params(module), sum(macs[f"{path}.{name}"] for name in
                                                         ("squeeze", "expand1x1", "expand3x3")),
                         9 * squeeze.in_channels * out + out, 9 * squeeze.in_channels * out * positions))
    return tuple(rows)


@memoize
def separable_convolutions(key: str = "mobilenet_v2") -> tuple[Separable, ...]:
    """Each depthwise convolution with the 1×1 convolution that follows it in definition order
    (MobileNet v2's and EfficientNet-Lite's blocks have no squeeze-and-excitation in between)."""
    macs = costs.summary(key).module_macs
    convs = [(path, m) for path, m in zoo.meta_model(key).named_modules() if isinstance(m, nn.Conv2d)]
    rows = []
    for (path, conv), (next_path, following) in zip(convs, convs[1:]):
        depthwise = conv.groups == conv.in_channels == conv.out_channels > 1
        pointwise = following.kernel_size == (1, 1) and following.groups == 1 \
            and following.in_channels == conv.out_channels
        if depthwise and pointwise:
            rows.append(Separable(path, next_path, conv.out_channels, following.out_channels, conv.kernel_size[0],
                                  conv.stride[0], macs[path], macs[next_path], macs[path] * following.out_channels))
    return tuple(rows)


@memoize
def grouped_params(channels: int, groups: int) -> int:
    """Weights of a 1×1 convolution from `channels` to `channels` split into `groups` groups,
    counted on the module itself: 1/groups of the ungrouped convolution's."""
    return costs.count_params(nn.Conv2d(channels, channels, 1, groups=groups, bias=False, device="meta"))


def group_reach(channels: int = 12, groups: int = 3, shuffle: bool = True, seed: int = 0) -> torch.Tensor:
    """[groups, groups]: which input groups reach which output groups through two grouped 1×1
    convolutions, with or without ShuffleNet's channel shuffle between them. Measured, not
    derived: each input group is perturbed in turn and the change of every output group is
    recorded (1 where it changed)."""
    generator = torch.Generator().manual_seed(seed)
    first, second = (skip_init(nn.Conv2d, channels, channels, 1, groups=groups, bias=False) for _ in range(2))
    for conv in (first, second):
        conv.weight.data = torch.rand(conv.weight.shape, generator=generator) + 0.1

    def network(x: torch.Tensor) -> torch.Tensor:
        middle = first(x)
        return second(channel_shuffle(middle, groups) if shuffle else middle)

    size = channels // groups
    base = torch.zeros(1, channels, 1, 1)
    reach = torch.zeros(groups, groups)
    with torch.no_grad():
        before = network(base)
        for source in range(groups):
            nudged = base.clone()
            nudged[:, source * size:(source + 1) * size] = 1.0
            change = (network(nudged) - before).abs().view(groups, size).sum(1)
            reach[source] = (change > 0).float()
    return reach


@memoize
def shuffle_order(channels: int = 12, groups: int = 3) -> tuple[int, ...]:
    """Where torchvision's channel_shuffle puts each channel: output position i holds input
    channel order[i]."""
    return tuple(channel_shuffle(torch.arange(channels).float().view(1, channels, 1, 1), groups).view(-1).long().tolist())
