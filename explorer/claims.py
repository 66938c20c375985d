"""The lecture's quantitative claims, each measured on the networks as registered.

Every claim carries the measured value and an honest verdict: "holds", "roughly"
(right in spirit, off in the number), "differs" (the measurement disagrees) or "unseen"
(the measurement cannot decide here: a claim about what trained networks do, measured on
random weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from . import costs, images, inception, lesion, zoo
from .architectures import alexnet2012
from .cache import memoize
from .i18n import t
from .images import LoadedImage
from .notation import human_count


# counted on the registered build, run here, on made-up inputs, or decided by the literature alone
SOURCES = ("build", "run", "constructed", "paper")


@dataclass(frozen=True)
class Claim:
    topic: str  # the network family it is about
    statement: str  # the lecture's claim, in our words
    measured: str
    verdict: str  # "holds", "roughly", "differs", "unseen" (not shown here) or "paper" (paper only)
    why: str
    id: str = ""  # its texts are "claims.<id>.*"
    source: str = "build"  # one of SOURCES
    network: str | None = None  # the network it was run on, where it was run on one
    trained: bool | None = None  # whether that network's weights were trained (None: weights play no part)


@dataclass(frozen=True)
class Subject:
    """The network a claim about trained networks was measured on, and why that one."""
    name: str
    trained: bool
    instead_of: str | None = None  # the lecture's own network, when its weights are not here
    key: str = ""

    @classmethod
    def of(cls, asked: zoo.ModelSpec, used: zoo.ModelSpec, trained: bool) -> "Subject":
        return cls(used.name, trained, asked.name if used.key != asked.key else None, used.key)


def _verdict(holds: bool, roughly: bool = False) -> str:
    return "holds" if holds else "roughly" if roughly else "differs"


def _claim(claim: str, family: str, verdict: str, subject: Subject | None = None, about: str | None = None,
           source: str | None = None, network: str | None = None, trained: bool | None = None,
           needs_training: bool = True, **measured) -> Claim:
    """A claim in the active language: its texts are "claims.<claim>.statement|measured|why",
    its topic the family's name; `measured` fills the measured text, `about` the statement's {name}. A
    claim about trained networks names its subject, and on random weights its verdict is "unseen"
    unless it does not `needs_training` (what the architecture alone decides)."""
    topic = t(f"zoo.family.{family}") if family in zoo.FAMILIES else t(f"claims.topic.{family}")
    text, why = t(f"claims.{claim}.measured", **measured), t(f"claims.{claim}.why")
    if subject is not None:
        if subject.instead_of:
            text = t("claims.subject.stand_in", name=subject.name, instead_of=subject.instead_of, measured=text)
        else:
            text = t("claims.subject.on", name=subject.name, measured=text)
        if not subject.trained and needs_training:
            verdict, why = "unseen", t("claims.subject.random", name=subject.name, why=why)
    statement = t(f"claims.{claim}.statement", **({"name": about} if about is not None else {}))
    if subject is not None:
        network, trained = subject.key or None, subject.trained
    return Claim(topic, statement, text, verdict, why, claim, source or ("run" if subject else "build"), network,
                 trained)


def alexnet_weight_layers() -> Claim:
    rows = []
    for key in ("alexnet2012", "alexnet"):
        layers = costs.weight_layers(key)
        convs = sum(l.kind == "conv" for l in layers)
        rows.append((key, convs, len(layers) - convs, costs.summary(key).depth))
    ok = all(conv == 5 and fc == 3 and depth == 8 for _, conv, fc, depth in rows)
    return _claim("alexnet_weight_layers", "alexnet", _verdict(ok), rows=t("common.list_separator").join(
        t("claims.alexnet_weight_layers.row", name=zoo.get(k).name, convs=c, fcs=f, depth=d) for k, c, f, d in rows))


def alexnet_pool5() -> Claim:
    shape = costs.summary("alexnet2012").tap("pool5").shape
    size = shape[0] * shape[1] * shape[2]
    return _claim("alexnet_pool5", "alexnet", _verdict(shape == (256, 6, 6) and size == 9216),
                  name=zoo.get("alexnet2012").name, height=shape[1], width=shape[2], channels=shape[0], size=size)


def vgg_fc6_share() -> Claim:
    total = costs.summary("vgg16")
    fc6 = total.tap("fc6").params
    share = fc6 / total.params
    return _claim("vgg_fc6_share", "vgg", _verdict(fc6 == 102_764_544 and round(share * 100, 2) == 74.27),
                  fc6=fc6, total=total.params, share=share)


def vgg_channel_doubling() -> Claim:
    total = costs.summary("vgg16")
    widths = [total.tap(f"pool{b}").shape[0] for b in range(1, 6)]
    expected = [64, 128, 256, 512, 512]
    return _claim("vgg_channel_doubling", "vgg", _verdict(widths == expected), widths=", ".join(map(str, widths)),
                  sizes=", ".join(str(total.tap(f"pool{b}").shape[1]) for b in range(1, 6)))


def vgg_small_kernels() -> Claim:
    pair = costs.stacked_3x3("vgg16")
    ok = pair.stacked_rf == pair.single_rf == 5 and pair.stacked_params < pair.single_params
    return _claim("vgg_small_kernels", "vgg", _verdict(ok), channels=pair.channels, stacked_rf=pair.stacked_rf,
                  stacked_params=pair.stacked_params, single_rf=pair.single_rf, single_params=pair.single_params,
                  share=pair.stacked_params / pair.single_params)


def _full_conv_matrix(kernel: torch.Tensor) -> torch.Tensor:
    """[25, 9]: the 5×5 result of convolving `kernel` (3×3) with each 3×3 basis kernel."""
    basis = torch.eye(9, dtype=kernel.dtype).view(9, 1, 3, 3)
    padded = torch.nn.functional.pad(kernel.view(1, 1, 3, 3), (2, 2, 2, 2))
    return torch.nn.functional.conv2d(padded, basis.flip(2, 3)).view(9, 25).T


@memoize
def two_3x3_fit(target: tuple[tuple[float, ...], ...], starts: int = 8, rounds: int = 200) -> float:
    """How much of a 5×5 kernel two stacked 3×3 kernels (one channel, nothing between them) can
    reproduce at best: the relative error ‖k₁ ∗ k₂ − target‖ / ‖target‖ of an alternating
    least-squares fit (convolution is linear in either kernel) from seeded starts. Zero would
    mean the stack can be that 5×5 convolution."""
    goal = torch.tensor(target, dtype=torch.float64).flatten()
    best = float("inf")
    for start in range(starts):
        first = torch.randn(3, 3, generator=torch.Generator().manual_seed(start), dtype=torch.float64)
        for _ in range(rounds):
            second = torch.linalg.lstsq(_full_conv_matrix(first), goal[:, None]).solution.view(3, 3)
            first = torch.linalg.lstsq(_full_conv_matrix(second), goal[:, None]).solution.view(3, 3)
        best = min(best, float((_full_conv_matrix(first) @ second.flatten() - goal).norm() / goal.norm()))
    return best


def vgg_stack_differs() -> Claim:
    """The notes: the same receptive field, but the results can differ. A random 5×5 kernel
    (seeded) against the best two-3×3 fit."""
    target = torch.randn(5, 5, generator=torch.Generator().manual_seed(0))
    error = two_3x3_fit(tuple(map(tuple, target.tolist())))
    return _claim("vgg_stack_differs", "vgg", _verdict(error > 0.01), error=error)


def googlenet_vs_alexnet() -> Claim:
    alexnet = costs.summary("alexnet2012").params
    built, paper = costs.summary("googlenet").params, costs.summary("googlenet_paper").params
    ratios = alexnet / built, alexnet / paper
    return _claim("googlenet_vs_alexnet", "inception", _verdict(min(ratios) >= 11.5, roughly=min(ratios) >= 8),
                  alexnet=alexnet, built=built, built_ratio=ratios[0], paper=paper, paper_ratio=ratios[1])


COSTS_CLAIMS: tuple[Callable[[], Claim], ...] = (
    alexnet_weight_layers, alexnet_pool5, vgg_small_kernels, vgg_channel_doubling, vgg_fc6_share,
    googlenet_vs_alexnet,
)


# ---------------------------------------------------------------- the lecture page's further claims

def alexnet_overlapping_pooling() -> Claim:
    pools = [m for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.MaxPool2d)]
    shapes = {(m.kernel_size, m.stride) for m in pools}
    return _claim("alexnet_overlapping_pooling", "alexnet", _verdict(shapes == {(3, 2)}), pools=len(pools),
                  shapes=sorted(shapes), overlap=pools[0].kernel_size - pools[0].stride)


def lrn_inhibition() -> Claim:
    """LRN has no weights, so what it does is decided on constructed responses, trained or not:
    one channel at 100 among channels at 10, through AlexNet (2012)'s LRN. Compared before and
    after: the strong response against its neighbours in the 5-channel window, a neighbour
    against an equal response far from it, the strong one against that far one; and the largest
    response LRN lets grow (a lone response above it comes out smaller)."""
    lrn = alexnet2012.paper_lrn()
    responses = torch.full((1, 16, 1, 1), 10.0)
    responses[0, 8] = 100.0  # its window is channels 6-10; channel 0 is far from it
    out = lrn(responses)[0, :, 0, 0]
    strong_neighbour, neighbour_far, strong_far = float(out[8] / out[7]), float(out[7] / out[0]), float(out[8] / out[0])
    alone = torch.zeros(2000, 16, 1, 1)
    alone[:, 8, 0, 0] = torch.arange(1, 2001, dtype=torch.float32)
    peak = int(lrn(alone)[:, 8, 0, 0].argmax()) + 1
    stronger = strong_neighbour > 10 * 1.01
    damped = neighbour_far < 0.99
    return _claim("lrn_inhibition", "alexnet", _verdict(stronger and damped, roughly=damped), source="constructed",
                  strong_neighbour=strong_neighbour, neighbour_far=neighbour_far, strong_far=strong_far, peak=peak)


def lrn_cost(lrn_seconds: float, forward_seconds: float, device: str) -> Claim:
    """LRN's share of AlexNet (2012)'s measured forward time, which the MAC count (convolutions and
    linear layers only) gives as zero."""
    share = lrn_seconds / forward_seconds
    return _claim("lrn_cost", "alexnet", _verdict(share >= 0.05, roughly=share >= 0.01), source="run",
                  network="alexnet2012", share=share,
                  lrn_ms=lrn_seconds * 1000, forward_ms=forward_seconds * 1000, device=device)


def zfnet_changes() -> Claim:
    alex, zf, wide = (costs.summary(k) for k in ("alexnet2012", "zfnet", "zfnet_wide"))
    conv1 = [m for m in zoo.meta_model("zfnet").modules() if isinstance(m, nn.Conv2d)][0]
    conv2 = [m for m in zoo.meta_model("zfnet").modules() if isinstance(m, nn.Conv2d)][1]
    widths = [wide.tap(f"conv{i}").shape[0] for i in (3, 4, 5)]
    fig3 = [zf.tap(f"conv{i}").shape[0] for i in (3, 4, 5)]
    first_two = conv1.kernel_size == (7, 7) and conv1.stride == (2, 2) and conv2.stride == (2, 2)
    # the third change is a variant (the paper's Table 2), and it widens conv5 too, not conv3 and conv4 alone
    variant = widths == [512, 1024, 512] and fig3 == [alex.tap(f"conv{i}").shape[0] for i in (3, 4, 5)]
    return _claim("zfnet_changes", "zfnet", "roughly" if first_two and variant else _verdict(first_two and widths > fig3),
                  kernel=conv1.kernel_size[0], stride=conv1.stride[0],
                  shape="×".join(map(str, zf.tap("conv1").shape)), alexnet="×".join(map(str, alex.tap("conv1").shape)),
                  conv2_stride=conv2.stride[0], widths=widths, fig3=fig3)


def googlenet_average_pooling() -> Claim:
    total = costs.summary("googlenet")
    channels, height, width = total.tap("inception_5b").shape
    fc = total.tap("fc").params
    flat = channels * height * width * 4096 + 4096
    return _claim("googlenet_average_pooling", "inception", _verdict(total.tap("pool5").shape[0] == channels),
                  channels=channels, height=height, width=width, pooled=total.tap("pool5").shape[0], fc=fc, flat=flat)


def googlenet_auxiliary_heads() -> Claim:
    with_heads, built = costs.checkpoint_params("googlenet"), costs.summary("googlenet").params
    return _claim("googlenet_auxiliary_heads", "inception", _verdict(with_heads > built), with_heads=with_heads,
                  built=built, heads=with_heads - built)


def inception_reduction_saving() -> Claim:
    rows = inception.naive_vs_reduced("googlenet_paper")
    built, naive = sum(r.reduced_macs for r in rows), sum(r.naive_macs for r in rows)
    first = rows[0]
    return _claim("inception_reduction_saving", "inception", _verdict(naive / built > 2),
                  first_built=first.reduced_macs / 1e6, first_naive=first.naive_macs / 1e6, built=built / 1e9,
                  naive=naive / 1e9, ratio=naive / built)


def relu_sparsity(shares: Sequence[float], subject: Subject) -> Claim:
    """From the zero share after each ReLU call (activations.rectifier_zeros). The share is shown,
    but it cannot decide the notes' point: randomly initialised networks give as many zeros
    (about half, as a zero-mean input to a ReLU does) as trained ones, so the verdict is "not
    shown here" whatever the weights."""
    if not shares:
        return _claim("relu_sparsity_unseen", "sparsity", "unseen", name=subject.name)
    share = sum(shares) / len(shares)
    return _claim("relu_sparsity", "sparsity", "unseen", subject, share=share, low=min(shares), high=max(shares),
                  calls=len(shares))


def translation_invariance(shifts, untrained_shifts, subject: Subject) -> Claim:
    """From two invariance probes of one network, trained and untrained: globally pooled features
    vs flattened pre-pool maps. Pooling is architecture, so random weights decide it too; where
    the untrained network shows the same gap, the steadiness is the architecture's."""
    def mean(values) -> float:
        return sum(values) / len(values)

    pooled, flat = mean([s.pooled for s in shifts[1:]]), mean([s.flattened for s in shifts[1:]])
    random_pooled = mean([s.pooled for s in untrained_shifts[1:]])
    random_flat = mean([s.flattened for s in untrained_shifts[1:]])
    return _claim("translation_invariance", "inception", _verdict(pooled > flat and random_pooled > random_flat,
                                                                  roughly=pooled > flat),
                  subject, needs_training=False, pixels=shifts[-1].pixels, pooled=pooled, flattened=flat,
                  random_pooled=random_pooled, random_flattened=random_flat)


def resnet_identity_gradient(eval_ratio: float, train_ratio: float) -> Claim:
    """Residual/plain first-conv gradient at init, BatchNorm in eval mode (the identity at init,
    as if there were none) and with batch statistics (which re-normalise every layer)."""
    # Where one mode shows the shortcut's gradient far larger and the other smaller, the claim is
    # not roughly right: it holds in one mode and is reversed in the other.
    verdict = "holds" if eval_ratio > 10 and train_ratio >= 1 else "differs"
    return _claim("resnet_identity_gradient", "resnet", verdict, source="run", network="resnet34", trained=False,
                  eval_ratio=eval_ratio, train_ratio=train_ratio)


def residual_lesions(study: lesion.Study, subject: Subject) -> Claim:
    """From `lesion.on_samples`: each deletable block of a residual network deleted in turn. Holds
    when the trained network keeps its top-1 class for at least 80 % of (block, photo) pairs;
    the plain half of the notes' claim (a plain network collapses) is the paper's: random weights
    cannot show what trained layers have come to rely on."""
    worst = study.worst
    return _claim("residual_lesions", "resnet", _verdict(study.kept_share >= 0.8, roughly=study.kept_share >= 0.5),
                  subject, blocks=len(study.lesions), photos=worst.images, kept=study.kept_share,
                  worst=worst.block, worst_kept=worst.top1_kept,
                  similarity=sum(lesion.similarity for lesion in study.lesions) / len(study.lesions))


def resnet_bottleneck() -> Claim:
    block = zoo.meta_model("resnet50").layer1[1]
    squeeze, restore = block.conv1, block.conv3
    ok = (squeeze.in_channels, squeeze.out_channels, restore.in_channels, restore.out_channels) == (256, 64, 64, 256)
    return _claim("resnet_bottleneck", "resnet", _verdict(ok), conv1_in=squeeze.in_channels,
                  conv1_out=squeeze.out_channels, conv2_in=block.conv2.in_channels,
                  conv2_out=block.conv2.out_channels, conv3_in=restore.in_channels, conv3_out=restore.out_channels)


def notes_pooling_branch() -> Claim:
    """The notes call GoogLeNet's fourth branch "1 * 1 max pooling"; measured on the paper's build."""
    branch = zoo.meta_model("googlenet_paper").inception3a.branch4
    pool = next(m for m in branch.modules() if isinstance(m, nn.MaxPool2d))
    conv = next(m for m in branch.modules() if isinstance(m, nn.Conv2d))
    return _claim("notes_pooling_branch", "notes", _verdict(pool.kernel_size == 1), kernel=pool.kernel_size,
                  stride=pool.stride, padding=pool.padding, conv=conv.kernel_size[0], out=conv.out_channels)


def notes_norm_layer() -> Claim:
    """The notes call AlexNet's NORM layers batch (response) normalisation; measured on AlexNet (2012)."""
    norms = [m for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.LocalResponseNorm)]
    batch_norms = [m for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.BatchNorm2d)]
    first = norms[0]
    return _claim("notes_norm_layer", "notes", _verdict(bool(batch_norms) and not norms), count=len(norms),
                  size=first.size, alpha=first.alpha / first.size, beta=first.beta, k=first.k)  # the paper's α


def notes_relu_first() -> Claim:
    """The notes' "first to use ReLU": the build's ReLUs are counted; who was first, papers decide."""
    relus = sum(isinstance(m, nn.ReLU) for m in zoo.meta_model("alexnet2012").modules())
    return _claim("notes_relu_first", "notes", "paper", source="paper", relus=relus)


def notes_dropout_first() -> Claim:
    """The notes' "first to propose dropout": the build's dropout layers are counted; the papers decide."""
    dropouts = [m.p for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.Dropout)]
    return _claim("notes_dropout_first", "notes", "paper", source="paper", count=len(dropouts),
                  p=", ".join(f"{p:g}" for p in dropouts))


# ---------------------------------------------------------------- what only training, or the papers, decide
# Each measures what the build shows and gives the paper's own numbers; whether the effect holds
# needs training runs (or a test set) this app does not make, so the verdict is "paper only".

def alexnet_dropout_effect() -> Claim:
    """Dropout against overfitting: where the build drops units, and what the paper measured."""
    layers = list(zoo.meta_model("alexnet2012").classifier)
    linears = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    before = [6 + linears.index(next(j for j in linears if j > i)) for i, m in enumerate(layers) if isinstance(m, nn.Dropout)]
    p = {m.p for m in layers if isinstance(m, nn.Dropout)}
    return _claim("alexnet_dropout_effect", "alexnet", "paper", source="paper", count=len(before),
                  p=t("common.list_separator").join(f"{value:g}" for value in sorted(p)),
                  layers=t("common.list_separator").join(f"fc{i}" for i in before))


def alexnet_overlap_effect() -> Claim:
    """Overlapping pooling's effect on error: the build's windows, and the paper's comparison."""
    pool = next(m for m in zoo.meta_model("alexnet2012").modules() if isinstance(m, nn.MaxPool2d))
    return _claim("alexnet_overlap_effect", "alexnet", "paper", source="paper", kernel=pool.kernel_size,
                  stride=pool.stride, top1=0.4, top5=0.3)  # Krizhevsky et al. 2012, section 3.4


def alexnet_ensemble() -> Claim:
    """Averaging CNNs: the paper's Table 2 (ILSVRC-2012 validation top-5 error)."""
    return _claim("alexnet_ensemble", "alexnet", "paper", source="paper", one=18.2, five=16.4, seven=15.3)


def parameters_overfit() -> Claim:
    """"Too many parameters overfit": the builds' parameters per training image; overfitting itself
    shows only in training and validation curves."""
    images = 1_281_167  # ILSVRC-2012 training images
    counts = {key: costs.summary(key).params for key in ("alexnet2012", "vgg16", "googlenet_paper")}
    return _claim("parameters_overfit", "alexnet", "paper", source="paper", images=images,
                  alexnet=human_count(counts["alexnet2012"]), alexnet_per=counts["alexnet2012"] / images,
                  vgg=human_count(counts["vgg16"]), vgg_per=counts["vgg16"] / images,
                  googlenet=human_count(counts["googlenet_paper"]), googlenet_per=counts["googlenet_paper"] / images,
                  alexnet_top1=zoo.get("alexnet").accuracy()[0], vgg_top1=zoo.get("vgg16").accuracy()[0])


def googlenet_auxiliary_purpose() -> Claim:
    """What the auxiliary heads are for: where torchvision's GoogLeNet attaches them (read from a
    build with its heads), the paper's loss weight, and what Inception-v3's paper found."""
    from torchvision.models import GoogLeNet

    with torch.device("meta"):
        built = GoogLeNet(aux_logits=True, init_weights=False)
    taps = {"aux1": "inception_4a", "aux2": "inception_4d"}  # torchvision's forward: after 4a and 4d
    channels = {name: getattr(built, name).conv.conv.in_channels for name in taps}
    return _claim("googlenet_auxiliary_purpose", "inception", "paper", source="paper", first=taps["aux1"],
                  first_channels=channels["aux1"], second=taps["aux2"], second_channels=channels["aux2"], weight=0.3)


def best_generalisers() -> Claim:
    """"ResNet and Inception-v4 generalise best": held-out accuracy is generalisation, and the
    lecture's networks' single-crop top-1, as published for their original recipes, ranks them."""
    keys = ("alexnet", "vgg16", "vgg19", "googlenet", "inception_v3", "inception_v4", "resnet50", "resnet101", "resnet152")
    ranked = sorted(((zoo.get(key).accuracy()[0], key) for key in keys if zoo.get(key).accuracy()[0] is not None),
                    reverse=True)
    return _claim("best_generalisers", "resnet", "paper", source="paper",
                  ranking=t("common.list_separator").join(f"{zoo.get(key).name} {top1:.1f} %" for top1, key in ranked[:4]),
                  last=f"{zoo.get(ranked[-1][1]).name} {ranked[-1][0]:.1f} %")


def notes_zfnet_widths() -> Claim:
    """The notes' "more kernels in conv3 and conv4": which layers the paper's wider variant widens."""
    widths = {key: [costs.summary(key).tap(f"conv{i}").shape[0] for i in (3, 4, 5)]
              for key in ("alexnet2012", "zfnet", "zfnet_wide")}
    widened = [f"conv{i}" for i, before, after in zip((3, 4, 5), widths["alexnet2012"], widths["zfnet_wide"]) if after > before]
    return _claim("notes_zfnet_widths", "notes", _verdict(widened == ["conv3", "conv4"]), alexnet=widths["alexnet2012"],
                  fig3=widths["zfnet"], wide=widths["zfnet_wide"], widened=t("common.list_separator").join(widened))


def notes_mean_subtraction(image: LoadedImage) -> Claim:
    """The notes' reason for mean subtraction ("absolute values are meaningless"): on `image` as
    AlexNet (2012) sees it, the normalised input is turned back into its pixels, every one checked."""
    pre = zoo.get("alexnet2012").preprocess
    pixels = images.crop_for_network(image.image, pre)
    normalised = images.preprocess(image.image, pre)[0]
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in (pre.mean, pre.std))
    restored = torch.round((normalised * std + mean) * 255).to(torch.uint8)
    return _claim("notes_mean_subtraction", "notes", "differs", source="run", values=pixels.numel(),
                  changed=int((restored != pixels).sum()), after=float(normalised.mean()),
                  size=f"{pixels.shape[1]}×{pixels.shape[2]}")


def limited_storage(key: str) -> Claim:
    """SqueezeNet's point: AlexNet's accuracy from a fiftieth of its file."""
    file_mb, alexnet_mb = (costs.file_bytes(k) / 2**20 for k in (key, "alexnet"))
    top1, alexnet_top1 = (zoo.get(k).accuracy()[0] for k in (key, "alexnet"))
    return _claim("limited_storage", "squeezenet",
                  "holds" if alexnet_mb / file_mb >= 40 and top1 >= alexnet_top1 - 1 else "roughly",
                  about=zoo.get(key).name, network=key, file=file_mb, alexnet=alexnet_mb, ratio=alexnet_mb / file_mb, top1=top1,
                  alexnet_top1=alexnet_top1)


def limited_compute(key: str) -> Claim:
    """MobileNet's and ShuffleNet's point: more accurate than AlexNet for less compute."""
    macs, alexnet_macs, vgg_macs = (costs.summary(k).macs for k in (key, "alexnet", "vgg16"))
    top1, alexnet_top1, vgg_top1 = (zoo.get(k).accuracy()[0] for k in (key, "alexnet", "vgg16"))
    return _claim("limited_compute", zoo.get(key).family,
                  "holds" if macs < alexnet_macs and top1 > alexnet_top1 else "roughly",
                  about=zoo.get(key).name, network=key, macs=human_count(macs), alexnet=human_count(alexnet_macs),
                  vgg=human_count(vgg_macs), top1=top1, alexnet_top1=alexnet_top1, vgg_top1=vgg_top1)


def closing(keys: Sequence[str]) -> list[Claim]:
    """The lecture's last point, measured on the efficient networks among `keys`: SqueezeNet for
    limited storage, MobileNet and ShuffleNet for limited compute — against AlexNet and VGG16."""
    return [limited_storage(k) for k in keys if zoo.get(k).family == "squeezenet"] + \
        [limited_compute(k) for k in keys if zoo.get(k).family in ("mobilenet", "shufflenet")]
