"""Inception modules: their branches, what each costs and contributes, and branch ablation."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import torch
from torch import Tensor, nn

from . import backend, costs, images, inference, zoo
from .cache import memoize
from .i18n import Text
from .taps import Tap, capture, hooked


@dataclass(frozen=True)
class Branch:
    tap: Tap
    label: str  # "1x1", "3x3", "5x5", "pool_proj" ...
    steps: tuple[Text, ...]  # the layers in order, e.g. ("1×1 conv → 96", "3×3 conv → 128"), in any language
    channels: int
    size: tuple[int, int]  # output height, width
    params: int
    macs: int


@dataclass(frozen=True)
class Module:
    tap: Tap
    in_channels: int
    in_size: tuple[int, int]
    channels: int
    size: tuple[int, int]
    params: int
    macs: int
    branches: tuple[Branch, ...]

    @property
    def covered(self) -> bool:
        """True when the branch taps are exactly the concatenated parts (no functional branch)."""
        return sum(b.channels for b in self.branches) == self.channels


_SPLIT = re.compile(r"^(?P<stem>.+)_(?P<index>\d+)(?P<half>[ab]?)$")


def branch_paths(block_path: str, attribute: str) -> list[str]:
    """Module paths of a branch, stem first: Inception v3/v4 spread a branch over attributes
    (branch5x5_1, branch5x5_2; branch1_0, branch1_1a). The stem a split branch shares with
    its other half ("…b") is counted with the first half only."""
    match = _SPLIT.match(attribute)
    if not match:
        return [f"{block_path}.{attribute}"]
    if match["half"] == "b":
        return [f"{block_path}.{attribute}"]
    stem = [f"{block_path}.{match['stem']}_{i}" for i in range(int(match["index"]))]
    return stem + [f"{block_path}.{attribute}"]


def _describe(model: nn.Module, paths: list[str], label: str) -> tuple[str, ...]:
    """The branch's layers in the order they run: convolutions with kernel, stride, padding."""
    steps = []
    layers = [layer for path in paths if _exists(model, path) for layer in model.get_submodule(path).modules()]
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            (kh, kw), stride, pad = layer.kernel_size, layer.stride[0], layer.padding
            steps.append(Text("inception.step.conv", kernel=f"{kh}×{kw}", out=layer.out_channels,
                              stride=Text("inception.step.stride", stride=stride) if stride > 1 else "",
                              pad=Text("inception.step.pad", pad=f"{pad[0]}×{pad[1]}") if any(pad) else ""))
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            kind = "max" if isinstance(layer, nn.MaxPool2d) else "avg"
            k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
            steps.append(Text(f"inception.step.{kind}_pool", kernel=f"{k}×{k}"))
    if "pool" in label and not any(step.key.endswith("_pool") for step in steps):
        steps.insert(0, Text("inception.step.functional_pool"))  # torchvision's Inception v3 pools functionally
    return tuple(steps)


@memoize  # the page asks on every run
def modules(key: str) -> tuple[Module, ...]:
    """Every multi-branch module of an Inception network, in forward order."""
    if zoo.get(key).family != "inception":
        return ()
    model, total, taps = zoo.meta_model(key), costs.summary(key), zoo.taps(key)
    previous_shape = None
    found = []
    for tap in taps:
        cost = total.tap(tap.name)
        if tap.parent is not None:
            continue
        children = [t for t in taps if t.parent == tap.name]
        if children and previous_shape is not None:
            branches = tuple(_branch(model, total, tap, child) for child in children)
            found.append(Module(tap, previous_shape[0], tuple(previous_shape[1:]), cost.shape[0],
                                tuple(cost.shape[1:]), cost.params, cost.macs, branches))
        previous_shape = cost.shape
    return tuple(found)


def _exists(model: nn.Module, path: str) -> bool:
    try:
        model.get_submodule(path)
        return True
    except AttributeError:
        return False


def _branch(model: nn.Module, total: costs.Summary, parent: Tap, child: Tap) -> Branch:
    label = child.name.split("/", 1)[1]
    paths = [p for p in branch_paths(parent.module, child.module.rsplit(".", 1)[1]) if _exists(model, p)]
    shape = total.tap(child.name).shape
    return Branch(child, label, _describe(model, paths, label), shape[0], tuple(shape[1:]),
                  sum(costs.count_params(model.get_submodule(p)) for p in paths),
                  sum(total.module_macs.get(p, 0) for p in paths))


@dataclass(frozen=True)
class NaiveCost:
    """Inception v1: the module as built vs the paper's naive module (no 1x1 reductions)."""
    module: str
    reduced_macs: int
    naive_macs: int
    reduced_params: int
    naive_params: int
    kernels: tuple[int, int]  # the 3x3 and "5x5" branch kernels of this build


@memoize
def naive_vs_reduced(key: str) -> tuple[NaiveCost, ...]:
    """For GoogLeNet builds: the naive module applies the 1x1, 3x3 and 5x5 convolutions (same
    output widths) straight to the module's input, and its pool branch has no projection."""
    model = zoo.meta_model(key)
    rows = []
    for module in modules(key):
        block = model.get_submodule(module.tap.module)
        if not all(hasattr(block, f"branch{i}") for i in (1, 2, 3, 4)):
            return ()  # only Inception v1 modules have this shape
        convs = [_last_conv(getattr(block, f"branch{i}")) for i in (1, 2, 3)]
        positions = module.size[0] * module.size[1]
        per_position = [module.in_channels * c.out_channels * c.kernel_size[0] * c.kernel_size[1] for c in convs]
        biases = sum(c.out_channels for c in convs if c.bias is not None)
        rows.append(NaiveCost(module.tap.name, module.macs, positions * sum(per_position),
                              module.params, sum(per_position) + biases,
                              (convs[1].kernel_size[0], convs[2].kernel_size[0])))
    return tuple(rows)


GOOGLENET_BUILDS = ("googlenet_paper", "googlenet")


def branch_rows(module: Module, shares: Mapping[str, float]) -> list[dict]:
    """The module's branch table; pages head the columns with texts "inception.column.<key>"."""
    return [{"branch": b.label, "layers": " → ".join(map(str, b.steps)),
             "output": f"{b.channels}×{b.size[0]}×{b.size[1]}", "channel_share": b.channels / module.channels,
             "energy_share": shares[b.label], "params": b.params, "macs": b.macs} for b in module.branches]


def reduction_rows(key: str) -> list[dict]:
    """For a GoogLeNet build: every module of both builds as built and naive (empty otherwise);
    `build` is the build's key, `ratio` naive MACs over built."""
    if key not in GOOGLENET_BUILDS:
        return []
    return [{"build": build, "module": row.module, "kernels": "{0}×{0}, {1}×{1}".format(*row.kernels),
             "built_macs": row.reduced_macs, "naive_macs": row.naive_macs, "ratio": row.naive_macs / row.reduced_macs,
             "built_params": row.reduced_params, "naive_params": row.naive_params}
            for build in GOOGLENET_BUILDS for row in naive_vs_reduced(build)]


def reduction_totals(rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Per build: (MACs of all its modules as built, as naive modules)."""
    totals: dict[str, tuple[int, int]] = {}
    for row in rows:
        built, naive = totals.get(row["build"], (0, 0))
        totals[row["build"]] = (built + row["built_macs"], naive + row["naive_macs"])
    return totals


def _last_conv(branch: nn.Module) -> nn.Conv2d:
    return [m for m in branch.modules() if isinstance(m, nn.Conv2d)][-1]


def energy_shares(outputs: Mapping[str, Tensor], module: Module) -> dict[str, float]:
    """Each branch's share of the module's activation energy (sum of squares)."""
    energies = {b.label: float(outputs[b.tap.name].double().pow(2).sum()) for b in module.branches}
    total = sum(energies.values()) or 1.0
    return {label: energy / total for label, energy in energies.items()}


@dataclass(frozen=True)
class Ablation:
    branch: str
    next_tap: str | None
    before: list[inference.Prediction]
    after: list[inference.Prediction]
    relative_change: float | None  # ||after - before|| / ||before|| at the next module
    run: backend.Run


def ablate(loaded: inference.LoadedModel, image: images.LoadedImage, module: Module, branch: Branch) -> Ablation:
    """Zero one branch's output and measure the next module and the top-5 against the normal pass."""
    names = [m.tap.name for m in modules(loaded.spec.key)]
    position = names.index(module.tap.name)
    next_tap = modules(loaded.spec.key)[position + 1].tap if position + 1 < len(names) else None
    watched = [next_tap] if next_tap else []
    x = images.preprocess(image.image, loaded.spec.preprocess)

    def work(model: nn.Module, device: torch.device) -> tuple:
        normal = capture(model, x.to(device), watched)
        with hooked(model, [branch.tap], lambda tap, tensor: torch.zeros_like(tensor)):
            zeroed = capture(model, x.to(device), watched)
        return normal, zeroed

    (normal, zeroed), run = loaded.run(work)
    change = None
    if next_tap:
        before, after = normal.outputs[next_tap.name], zeroed.outputs[next_tap.name]
        change = float((after - before).norm() / before.norm().clamp_min(1e-12))
    classes = loaded.class_names
    return Ablation(branch.label, next_tap.name if next_tap else None, inference.top_k(normal.logits, classes=classes),
                    inference.top_k(zeroed.logits, classes=classes), change, run)
