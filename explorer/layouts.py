"""Each network's taps, as its paper names its layers (AlexNet's conv1…fc8, GoogLeNet's
inception_3a and its branches, ResNet's blocks with F(x) and the shortcut), and `auto_layout`
for a network found by name: its stages and blocks, or every leaf layer, in forward order."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from .hooks import Hooks
from .taps import Tap

def _plain_kind(module: nn.Module) -> str | None:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, (nn.ReLU, nn.Hardswish)):
        return "relu"
    if isinstance(module, (nn.BatchNorm2d, nn.LocalResponseNorm)):
        return "norm"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        return "pool"
    if isinstance(module, nn.Linear):
        return "fc"
    return None


def classifier_taps(model: nn.Module, path: str = "classifier", first_fc: int = 6) -> list[Tap]:
    """fc6, relu6, fc7, relu7, fc8 for AlexNet/VGG heads; the last Linear is the output."""
    head = model.get_submodule(path)
    taps, number = [], first_fc - 1
    linears = [n for n, m in head.named_children() if isinstance(m, nn.Linear)]
    for child_name, child in head.named_children():
        kind = _plain_kind(child)
        if kind == "fc":
            number += 1
            kind = "output" if child_name == linears[-1] else "fc"
            taps.append(Tap(f"fc{number}", f"{path}.{child_name}", kind))
        elif kind == "relu":
            taps.append(Tap(f"relu{number}", f"{path}.{child_name}", kind))
    return taps


def alexnet_layout(model: nn.Module) -> list[Tap]:
    """conv1, relu1, norm1, pool1 ... pool5, fc6 ... fc8: layers numbered by the last conv."""
    taps, conv = [], 0
    for child_name, child in model.features.named_children():
        kind = _plain_kind(child)
        if kind == "conv":
            conv += 1
        if kind:
            taps.append(Tap(f"{kind}{conv}", f"features.{child_name}", kind))
    return taps + classifier_taps(model)


def vgg_layout(model: nn.Module) -> list[Tap]:
    """conv1_1 ... conv5_3 with their bn/relu, pool1 ... pool5, fc6 ... fc8."""
    names = {"conv": "conv", "norm": "bn", "relu": "relu"}
    taps, block, conv = [], 1, 0
    for child_name, child in model.features.named_children():
        kind = _plain_kind(child)
        if kind == "conv":
            conv += 1
        if kind == "pool":
            taps.append(Tap(f"pool{block}", f"features.{child_name}", kind))
            block, conv = block + 1, 0
        elif kind:
            taps.append(Tap(f"{names[kind]}{block}_{conv}", f"features.{child_name}", kind))
    return taps + classifier_taps(model)


def _module_taps(model: nn.Module, named: Sequence[tuple[str, str, str]],
                 branches: Mapping[str, Sequence[tuple[str, str]]]) -> list[Tap]:
    """Taps for nets built from named top-level modules; multi-branch modules get child taps."""
    taps = []
    for name, path, kind in named:
        taps.append(Tap(name, path, kind))
        module_branches = branches.get(type(model.get_submodule(path)).__name__, ())
        taps += [Tap(f"{name}/{label}", f"{path}.{attr}", "branch", parent=name)
                 for attr, label in module_branches]
    return taps


_V1_BRANCHES = (("branch1", "1x1"), ("branch2", "3x3"), ("branch3", "5x5"), ("branch4", "pool_proj"))
GOOGLENET_BRANCHES = {"Inception": _V1_BRANCHES, "PaperInception": _V1_BRANCHES}


def googlenet_layout(model: nn.Module) -> list[Tap]:
    """Names of the paper's Table 1 (conv1/7x7_s2 -> conv1 ...), four branches per module."""
    named = [("conv1", "conv1", "block"), ("pool1", "maxpool1", "pool"),
             ("conv2_reduce", "conv2", "block"), ("conv2", "conv3", "block"),
             ("pool2", "maxpool2", "pool")]
    for stage, letters, pool in (("3", "ab", "pool3"), ("4", "abcde", "pool4"), ("5", "ab", None)):
        named += [(f"inception_{stage}{l}", f"inception{stage}{l}", "concat") for l in letters]
        if pool:
            named.append((pool, f"maxpool{stage}", "pool"))
    named += [("pool5", "avgpool", "pool"), ("fc", "fc", "output")]
    return _module_taps(model, named, GOOGLENET_BRANCHES)


INCEPTION_V3_BRANCHES = {
    "InceptionA": (("branch1x1", "1x1"), ("branch5x5_2", "5x5"), ("branch3x3dbl_3", "3x3dbl"),
                   ("branch_pool", "pool")),
    "InceptionB": (("branch3x3", "3x3"), ("branch3x3dbl_3", "3x3dbl")),
    "InceptionC": (("branch1x1", "1x1"), ("branch7x7_3", "7x7"), ("branch7x7dbl_5", "7x7dbl"),
                   ("branch_pool", "pool")),
    "InceptionD": (("branch3x3_2", "3x3"), ("branch7x7x3_4", "7x7x3")),
    "InceptionE": (("branch1x1", "1x1"), ("branch3x3_2a", "3x3_1x3"), ("branch3x3_2b", "3x3_3x1"),
                   ("branch3x3dbl_3a", "3x3dbl_1x3"), ("branch3x3dbl_3b", "3x3dbl_3x1"),
                   ("branch_pool", "pool")),
}


def inception_v3_layout(model: nn.Module) -> list[Tap]:
    """torchvision's module names, which follow the paper's Figure/Table naming."""
    stem = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"]
    named = [(n, n, "block") for n in stem] + [("pool1", "maxpool1", "pool")]
    named += [(n, n, "block") for n in ("Conv2d_3b_1x1", "Conv2d_4a_3x3")]
    named.append(("pool2", "maxpool2", "pool"))
    mixed = ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
             "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]
    named += [(n, n, "concat") for n in mixed]
    named += [("pool", "avgpool", "pool"), ("fc", "fc", "output")]
    return _module_taps(model, named, INCEPTION_V3_BRANCHES)


INCEPTION_V4_BRANCHES = {
    "Mixed3a": (("maxpool", "pool"), ("conv", "3x3")),
    "Mixed4a": (("branch0", "3x3"), ("branch1", "7x7_3x3")),
    "Mixed5a": (("conv", "3x3"), ("maxpool", "pool")),
    "InceptionA": (("branch0", "1x1"), ("branch1", "3x3"), ("branch2", "3x3dbl"),
                   ("branch3", "pool")),
    "ReductionA": (("branch0", "3x3"), ("branch1", "3x3dbl"), ("branch2", "pool")),
    "InceptionB": (("branch0", "1x1"), ("branch1", "7x7"), ("branch2", "7x7dbl"),
                   ("branch3", "pool")),
    "ReductionB": (("branch0", "3x3"), ("branch1", "7x7_3x3"), ("branch2", "pool")),
    "InceptionC": (("branch0", "1x1"), ("branch1_1a", "3x3_1x3"), ("branch1_1b", "3x3_3x1"),
                   ("branch2_3a", "3x3dbl_1x3"), ("branch2_3b", "3x3dbl_3x1"),
                   ("branch3", "pool")),
}
_V4_NAMES = {"Mixed3a": "mixed_3a", "Mixed4a": "mixed_4a", "Mixed5a": "mixed_5a",
             "InceptionA": "inception_a", "ReductionA": "reduction_a",
             "InceptionB": "inception_b", "ReductionB": "reduction_b", "InceptionC": "inception_c"}


def inception_v4_layout(model: nn.Module) -> list[Tap]:
    """The paper's Figure 9 blocks: stem, 4x Inception-A, Reduction-A, 7x B, Reduction-B, 3x C."""
    named, seen = [], {}
    for index, child in model.features.named_children():
        cls = type(child).__name__
        if cls not in _V4_NAMES:
            named.append((f"stem_conv{int(index) + 1}", f"features.{index}", "block"))
            continue
        seen[cls] = seen.get(cls, 0) + 1
        repeats = sum(type(c).__name__ == cls for c in model.features.children())
        suffix = str(seen[cls]) if repeats > 1 else ""
        named.append((_V4_NAMES[cls] + suffix, f"features.{index}", "concat"))
    named += [("pool", "global_pool", "pool"), ("fc", "last_linear", "output")]
    return _module_taps(model, named, INCEPTION_V4_BRANCHES)


def last_norm(block: nn.Module) -> str:
    """Where a residual block's F(x) ends: its last BatchNorm, bn3 of a bottleneck, bn2 of a basic
    block (torchvision's, the CIFAR nets' and their plain twins alike)."""
    return "bn3" if hasattr(block, "bn3") else "bn2"


def resnet_layout(model: nn.Module) -> list[Tap]:
    """conv1, bn1, relu1, pool1, every block with F(x) and its shortcut, pool5, fc."""
    taps = [Tap("conv1", "conv1", "conv"), Tap("bn1", "bn1", "norm"),
            Tap("relu1", "relu", "relu"), Tap("pool1", "maxpool", "pool")]
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        for index, block in model.get_submodule(stage).named_children():
            name = f"{stage}.{index}"
            taps.append(Tap(name, name, "block"))
            taps.append(Tap(f"{name}/residual", f"{name}.{last_norm(block)}", "branch", parent=name))
            if block.downsample is not None:
                taps.append(Tap(f"{name}/shortcut", f"{name}.downsample", "branch", parent=name))
            elif not type(block).__name__.startswith("Plain"):
                taps.append(Tap(f"{name}/shortcut", name, "branch", parent=name, io="input"))
    return taps + [Tap("pool5", "avgpool", "pool"), Tap("fc", "fc", "output")]


SQUEEZENET_BRANCHES = {"Fire": (("squeeze", "squeeze1x1"), ("expand1x1", "expand1x1"),
                                ("expand3x3", "expand3x3"))}


def squeezenet_layout(model: nn.Module) -> list[Tap]:
    """conv1, pool1, fire2 ... fire9 (paper numbering), conv10, pool10."""
    named, number = [], 0
    for index, child in model.features.named_children():
        if type(child).__name__ == "Fire":
            number += 1
            named.append((f"fire{number}", f"features.{index}", "concat"))
            continue
        kind = _plain_kind(child)
        number += kind == "conv"
        named.append((f"{kind}{number}", f"features.{index}", kind))
    named += [("conv10", "classifier.1", "conv"), ("relu10", "classifier.2", "relu"),
              ("pool10", "classifier.3", "output")]
    return _module_taps(model, named, SQUEEZENET_BRANCHES)


def mobilenet_layout(model: nn.Module) -> list[Tap]:
    """conv1, then blocks grouped into stages by output width (the papers' table rows)."""
    blocks = list(model.features.named_children())
    named = [("conv1", f"features.{blocks[0][0]}", "block")]
    stage, index, width = 0, 0, None
    for child_name, block in blocks[1:-1]:
        if block.out_channels != width:
            stage, index, width = stage + 1, 0, block.out_channels
        named.append((f"block{stage}.{index}", f"features.{child_name}", "block"))
        index += 1
    named.append(("conv_last", f"features.{blocks[-1][0]}", "block"))
    if hasattr(model, "avgpool"):
        named.append(("pool", "avgpool", "pool"))
    linears = [n for n, m in model.classifier.named_children() if isinstance(m, nn.Linear)]
    for number, child_name in enumerate(linears, start=1):
        kind = "output" if child_name == linears[-1] else "fc"
        named.append((f"fc{number}" if len(linears) > 1 else "fc", f"classifier.{child_name}", kind))
    return _module_taps(model, named, {})


def efficientnet_layout(model: nn.Module) -> list[Tap]:
    """The EfficientNet paper's Table 1 stages: stem (stage 1), the MBConv stages 2-8 block by
    block, head (stage 9's 1x1 convolution), pool, fc."""
    named = [("stem", "bn1", "block")]
    for index, stage in model.blocks.named_children():
        named += [(f"stage{int(index) + 2}.{block}", f"blocks.{index}.{block}", "block")
                  for block, _ in stage.named_children()]
    named += [("head", "bn2", "block"), ("pool", "global_pool", "pool"), ("fc", "classifier", "output")]
    return _module_taps(model, named, {})


def shufflenet_layout(model: nn.Module) -> list[Tap]:
    """conv1, pool1, stage2.0 ... stage4.3, conv5, fc (the paper's Table 5 names)."""
    named = [("conv1", "conv1", "block"), ("pool1", "maxpool", "pool")]
    for stage in ("stage2", "stage3", "stage4"):
        named += [(f"{stage}.{i}", f"{stage}.{i}", "block")
                  for i, _ in model.get_submodule(stage).named_children()]
    named += [("conv5", "conv5", "block"), ("fc", "fc", "output")]
    return _module_taps(model, named, {})


_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _is_plain_container(module: nn.Module) -> bool:
    """A bare Sequential/ModuleList/ModuleDict: a list of blocks, not a block of its own (its
    subclasses — torchvision's Conv2dNormActivation, DenseNet's dense blocks — are blocks)."""
    return type(module) in _CONTAINERS


def _block_paths(model: nn.Module) -> list[tuple[str, str | None]]:
    """(path, parent path) of every block: a module reached through plain containers only; the
    parts of a block that is itself a list of blocks (a dense block's layers, a RegNet stage's
    blocks) as its children."""
    found: list[tuple[str, str | None]] = []

    def walk(module: nn.Module, prefix: str) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if _is_plain_container(child):
                walk(child, path + ".")
                continue
            found.append((path, None))
            if isinstance(child, _CONTAINERS):
                found.extend((f"{path}.{part}", path) for part, inner in child.named_children()
                             if any(True for _ in inner.children()))
    walk(model, "")
    return found


def _execution(model: nn.Module, size: int) -> tuple[dict[str, int], dict[str, int]]:
    """(path -> order in which the module started, path -> how often it ran) in one forward
    pass of a size × size image on the meta device."""
    started: dict[str, int] = {}
    calls: dict[str, int] = {}

    def pre(path: str):
        def hook(_module, _args):
            started.setdefault(path, len(started))
            calls[path] = calls.get(path, 0) + 1
        return hook

    with Hooks() as hooks, torch.no_grad():
        for path, module in model.named_modules():
            if path:
                hooks.before(module, pre(path))
        model(torch.zeros(1, 3, size, size, device="meta"))
    return started, calls


def auto_layout(model: nn.Module, size: int = 224, every_leaf: bool = False) -> list[Tap]:
    """Taps for a network found by name: its blocks (stage and block level) — or every leaf
    layer — named by their module paths, in the order the forward pass reaches them. Modules the
    pass skips (auxiliary heads) or calls more than once (a shared activation) are left out: a
    hook would see them never or twice. The last Linear is the output.

    Functional operations in forward (DenseNet's final ReLU and pooling) have no module, so no
    tap: hooks cannot see them, and the FX graph that could (torchvision's feature_extraction)
    traces only some of these networks; what a student sees is the module that precedes them.
    """
    started, calls = _execution(model, size)
    if every_leaf:
        chosen = [(path, None) for path, module in model.named_modules() if path and not any(module.children())]
    else:
        chosen = _block_paths(model)
    chosen = [(path, parent) for path, parent in chosen if calls.get(path) == 1]
    chosen.sort(key=lambda item: started[item[0]])
    linears = [path for path, _ in chosen if isinstance(model.get_submodule(path), nn.Linear)]
    taps = []
    for path, parent in chosen:
        kind = _plain_kind(model.get_submodule(path)) or "block"
        taps.append(Tap(path, path, "output" if linears and path == linears[-1] else kind, parent))
    return taps
