"""The lecture's quantitative claims, each measured on the networks as registered.

Every claim carries the measured value and an honest verdict: "holds", "roughly"
(right in spirit, off in the number) or "differs" (the measurement disagrees).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import costs, zoo


@dataclass(frozen=True)
class Claim:
    topic: str  # the network family it is about
    statement: str  # the lecture's claim, in our words
    measured: str
    verdict: str  # "holds", "roughly" or "differs"
    why: str


def _verdict(holds: bool, roughly: bool = False) -> str:
    return "holds" if holds else "roughly" if roughly else "differs"


def alexnet_weight_layers() -> Claim:
    rows = []
    for key in ("alexnet2012", "alexnet"):
        layers = costs.weight_layers(key)
        convs = sum(l.kind == "conv" for l in layers)
        rows.append((key, convs, len(layers) - convs, costs.summary(key).depth))
    ok = all(conv == 5 and fc == 3 and depth == 8 for _, conv, fc, depth in rows)
    return Claim("AlexNet", "AlexNet has 8 layers: 5 convolutional and 3 fully connected; pooling and "
                 "normalisation layers are not counted.",
                 "; ".join(f"{zoo.get(k).name}: {c} conv + {f} fc, longest path {d} weight layers"
                           for k, c, f, d in rows),
                 _verdict(ok), "Counted as modules with weights (Conv2d, Linear) and as the longest "
                               "chain of them from input to output.")


def alexnet_pool5() -> Claim:
    shape = costs.summary("alexnet2012").tap("pool5").shape
    size = shape[0] * shape[1] * shape[2]
    return Claim("AlexNet", "The last max-pool outputs 6×6×256 maps, flattened into a 9216-d vector for fc6.",
                 f"pool5 of {zoo.get('alexnet2012').name} at 227×227: {shape[1]}×{shape[2]}×{shape[0]} = {size:,}",
                 _verdict(shape == (256, 6, 6) and size == 9216), "Measured by running the network.")


def vgg_fc6_share() -> Claim:
    total = costs.summary("vgg16")
    fc6 = total.tap("fc6").params
    share = fc6 / total.params
    return Claim("VGG", "VGG16's first fully connected layer holds 7·7·512·4096 + 4096 = 102,764,544 "
                 "weights, about 74 % of all 138 M.",
                 f"fc6: {fc6:,} of {total.params:,} parameters = {share:.2%}",
                 _verdict(fc6 == 102_764_544 and round(share * 100, 2) == 74.27),
                 "Counted on torchvision's VGG16; conv layers hold the compute, fc layers the weights.")


def vgg_channel_doubling() -> Claim:
    total = costs.summary("vgg16")
    widths = [total.tap(f"pool{b}").shape[0] for b in range(1, 6)]
    expected = [64, 128, 256, 512, 512]
    return Claim("VGG", "VGG doubles the channels after each pooling, up to 512, while pooling halves "
                 "the maps.",
                 "channels after pool1..pool5: " + ", ".join(map(str, widths)) + "; sizes: "
                 + ", ".join(str(total.tap(f"pool{b}").shape[1]) for b in range(1, 6)),
                 _verdict(widths == expected), "The last block stays at 512 rather than doubling to "
                                               "1024, which would double fc6 (see the what-if).")


def vgg_small_kernels() -> Claim:
    pair = costs.stacked_3x3("vgg16")
    ok = pair.stacked_rf == pair.single_rf == 5 and pair.stacked_params < pair.single_params
    return Claim("VGG", "Two stacked 3×3 convolutions see a 5×5 window with 2·9·C² weights instead of "
                 "25·C², and add a second non-linearity.",
                 f"on VGG16's own conv5_2+conv5_3 (C={pair.channels}): receptive field {pair.stacked_rf} "
                 f"with {pair.stacked_params:,} parameters vs one 5×5: {pair.single_rf} with "
                 f"{pair.single_params:,} ({pair.stacked_params / pair.single_params:.1%})",
                 _verdict(ok), "18/25 = 72 %; the biases change it only in the fourth digit.")


def googlenet_vs_alexnet() -> Claim:
    alexnet = costs.summary("alexnet2012").params
    built, paper = costs.summary("googlenet").params, costs.summary("googlenet_paper").params
    ratios = alexnet / built, alexnet / paper
    return Claim("GoogLeNet", "GoogLeNet has about 5 M parameters, 12× fewer than AlexNet.",
                 f"AlexNet (2012) {alexnet:,}; GoogLeNet as torchvision builds it {built:,} "
                 f"({ratios[0]:.1f}× fewer); as in the paper's Table 1 {paper:,} ({ratios[1]:.1f}× fewer)",
                 _verdict(min(ratios) >= 11.5, roughly=min(ratios) >= 8),
                 "The paper's own text says 12× fewer; its Table 1 adds up to about 7 M, so the "
                 "ratio measures about 9×, not 12×. The direction holds, the number does not.")


COSTS_CLAIMS: tuple[Callable[[], Claim], ...] = (
    alexnet_weight_layers, alexnet_pool5, vgg_small_kernels, vgg_channel_doubling, vgg_fc6_share,
    googlenet_vs_alexnet,
)
