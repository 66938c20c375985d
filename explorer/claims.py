"""The lecture's quantitative claims, each measured on the networks as registered.

Every claim carries the measured value and an honest verdict: "holds", "roughly"
(right in spirit, off in the number) or "differs" (the measurement disagrees).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from . import costs, inception, zoo


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


# ---------------------------------------------------------------- the lecture page's further claims

def alexnet_overlapping_pooling() -> Claim:
    pools = [m for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.MaxPool2d)]
    shapes = {(m.kernel_size, m.stride) for m in pools}
    return Claim("AlexNet", "AlexNet pools 3×3 windows with stride 2, so neighbouring windows overlap.",
                 f"{len(pools)} max-pools, kernel/stride {sorted(shapes)}: neighbouring windows share "
                 f"{pools[0].kernel_size - pools[0].stride} row/column",
                 _verdict(shapes == {(3, 2)}), "The paper credits overlap with a small error reduction; 2×2/2 "
                                                "pooling, the later default, does not overlap.")


def lrn_effect(relu1, norm1) -> Claim:
    """On AlexNet (2012)'s relu1 and norm1 outputs for the current image."""
    def peak_ratio(maps):
        values = maps.flatten()
        positive = values[values > 0]
        top = positive.topk(max(1, positive.numel() // 100)).values.mean()
        return float(top / positive.median())
    before, after = peak_ratio(relu1), peak_ratio(norm1)
    return Claim("AlexNet", "Local response normalisation makes strong responses relatively stronger and damps "
                 "their neighbours across channels.",
                 f"on your image, the top 1 % of conv1 responses over the median: {before:.2f} before LRN, "
                 f"{after:.2f} after", _verdict(after > before * 1.01, roughly=after >= before * 0.99),
                 "LRN divides each response by (2 + α·Σ neighbours²)^0.75; with small responses (random weights) "
                 "the constant 2 dominates and the effect nearly vanishes — one reason later nets dropped LRN.")


def zfnet_changes() -> Claim:
    alex, zf, wide = (costs.summary(k) for k in ("alexnet2012", "zfnet", "zfnet_wide"))
    conv1 = [m for m in zoo.meta_model("zfnet").modules() if isinstance(m, nn.Conv2d)][0]
    conv2 = [m for m in zoo.meta_model("zfnet").modules() if isinstance(m, nn.Conv2d)][1]
    widths = [wide.tap(f"conv{i}").shape[0] for i in (3, 4, 5)]
    ok = conv1.kernel_size == (7, 7) and conv1.stride == (2, 2) and conv2.stride == (2, 2) and widths == [512, 1024, 512]
    return Claim("ZFNet", "ZFNet changed three things: conv1 7×7 instead of 11×11, stride 2 in conv1 and conv2, "
                 "and wider conv3–conv5.",
                 f"conv1 {conv1.kernel_size[0]}×{conv1.kernel_size[0]}/{conv1.stride[0]} → "
                 f"{'×'.join(map(str, zf.tap('conv1').shape))} (AlexNet: {'×'.join(map(str, alex.tap('conv1').shape))}); "
                 f"conv2 stride {conv2.stride[0]}; wide variant conv3–5: {widths}",
                 _verdict(ok), "Measured on the registered builds.")


def googlenet_average_pooling() -> Claim:
    total = costs.summary("googlenet")
    channels, height, width = total.tap("inception_5b").shape
    fc = total.tap("fc").params
    flat = channels * height * width * 4096 + 4096
    return Claim("GoogLeNet", "GoogLeNet averages each final map to one number instead of flattening into big "
                 "fully connected layers.",
                 f"pool5 turns {channels}×{height}×{width} into {total.tap('pool5').shape[0]} values; the classifier "
                 f"has {fc:,} parameters, where flattening into a 4096-unit layer would need {flat:,}",
                 _verdict(total.tap("pool5").shape[0] == channels), "Counted on torchvision's GoogLeNet.")


def googlenet_auxiliary_heads() -> Claim:
    spec = zoo.get("googlenet")
    with torch.device("meta"):
        with_heads = costs.count_params(spec.build())
    built = costs.summary("googlenet").params
    return Claim("GoogLeNet", "GoogLeNet trains with two auxiliary classifiers on intermediate modules and drops "
                 "them for inference.",
                 f"checkpoint layout with both heads: {with_heads:,} parameters; as used for inference: {built:,} "
                 f"(the heads hold {with_heads - built:,})",
                 _verdict(with_heads > built), "torchvision keeps the heads in its checkpoint and drops them in "
                                               "the pretrained model, as the paper does at test time.")


def inception_reduction_saving() -> Claim:
    rows = inception.naive_vs_reduced("googlenet_paper")
    built, naive = sum(r.reduced_macs for r in rows), sum(r.naive_macs for r in rows)
    first = rows[0]
    return Claim("GoogLeNet", "1×1 convolutions before the 3×3 and 5×5 branches cut the cost of an Inception "
                 "module several-fold.",
                 f"module 3a: {first.reduced_macs / 1e6:.1f} M MACs with the reductions vs {first.naive_macs / 1e6:.1f} M "
                 f"without; all nine modules: {built / 1e9:.2f} G vs {naive / 1e9:.2f} G ({naive / built:.1f}×)",
                 _verdict(naive / built > 2), "The paper's 5×5 kernels; the naive module as in its Fig. 2a.")


def relu_sparsity(stats) -> Claim:
    """From the current network's tap statistics on the current image."""
    relus = [s for s in stats if s.kind == "relu"]
    if not relus:
        return Claim("Sparsity", "After a ReLU, many feature-map values are exactly zero.",
                     "this network has no separate ReLU taps: pick AlexNet, ZFNet or VGG", "roughly",
                     "Other families fold the ReLU into their blocks.")
    share = sum(s.zeros for s in relus) / len(relus)
    return Claim("Sparsity", "After a ReLU, many feature-map values are exactly zero: the maps are sparse.",
                 f"on your image, {share:.0%} of the values after the average ReLU are zero "
                 f"(from {min(s.zeros for s in relus):.0%} to {max(s.zeros for s in relus):.0%})",
                 _verdict(share >= 0.3, roughly=share >= 0.1),
                 "Sparse maps are why a 1×1 convolution can compress channels with little loss.")


def translation_invariance(shifts) -> Claim:
    """From an invariance probe: globally pooled features vs flattened pre-pool maps."""
    pooled = sum(s.pooled for s in shifts[1:]) / (len(shifts) - 1)
    flat = sum(s.flattened for s in shifts[1:]) / (len(shifts) - 1)
    return Claim("GoogLeNet", "Global average pooling makes features robust to small shifts of the object.",
                 f"shifting your image by up to {shifts[-1].pixels} px: cosine similarity {pooled:.3f} for pooled "
                 f"features vs {flat:.3f} for flattened maps",
                 _verdict(pooled > flat), "Pooling forgets where a feature fired; flattening keeps it.")


def resnet_identity_gradient(ratio: float) -> Claim:
    return Claim("ResNet", "Through the shortcut the gradient reaches early layers undiminished, where a plain "
                 "net's fades.",
                 f"ResNet-34 vs Plain-34 at init (eval mode): first-conv gradient {ratio:,.0f}× larger with shortcuts",
                 _verdict(ratio > 10), "With batch statistics the gap closes at init: see the Gradient flow page.")


def resnet_bottleneck() -> Claim:
    block = zoo.meta_model("resnet50").layer1[1]
    squeeze, restore = block.conv1, block.conv3
    ok = (squeeze.in_channels, squeeze.out_channels, restore.in_channels, restore.out_channels) == (256, 64, 64, 256)
    return Claim("ResNet", "A bottleneck's first 1×1 cuts 256 channels to 64 and its last 1×1 restores 256, so "
                 "F(x) + x is defined.",
                 f"ResNet-50 layer1.1: conv1 {squeeze.in_channels}→{squeeze.out_channels}, conv2 3×3 "
                 f"{block.conv2.in_channels}→{block.conv2.out_channels}, conv3 {restore.in_channels}→{restore.out_channels}",
                 _verdict(ok), "Measured on torchvision's ResNet-50.")


ARCHITECTURE_CLAIMS: tuple[Callable[[], Claim], ...] = (
    alexnet_weight_layers, alexnet_overlapping_pooling, alexnet_pool5, zfnet_changes, vgg_small_kernels,
    vgg_channel_doubling, vgg_fc6_share, googlenet_vs_alexnet, googlenet_average_pooling,
    googlenet_auxiliary_heads, inception_reduction_saving, resnet_bottleneck,
)
