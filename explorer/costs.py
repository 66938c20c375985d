"""Parameters, MACs and output shapes per tap, counted on the meta device.

MACs follow torchvision's `_ops` convention: multiply-accumulates of convolutions and
linear layers as counted by torch.utils.flop_counter (its FLOPs / 2). Biases, ReLU,
pooling, BatchNorm, LRN and additions are not counted.
"""
from __future__ import annotations

import math
import weakref
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterator, Mapping

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

from . import zoo
from .cache import memoize
from .hooks import Hooks
from .receptive import ReceptiveFieldMode
from .taps import hooked

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
    jump: int | None  # input pixels between neighbouring units (cumulative stride)
    start: float | None  # input coordinate of the first unit's centre

    @property
    def activation_bytes(self) -> int:
        """Memory of this output for one image in float32."""
        return math.prod(self.shape) * 4


@dataclass(frozen=True)
class Summary:
    key: str
    params: int
    macs: int
    taps: tuple[TapCost, ...]
    depth: int  # weight layers on the longest input-to-logits path
    module_macs: Mapping[str, int]  # every module's MACs, children included, by module path

    def tap(self, name: str) -> TapCost:
        return next(t for t in self.taps if t.name == name)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class ModuleFlops(TorchDispatchMode):
    """FLOPs of every op, by torch.utils.flop_counter's formulas, credited to each module of
    one model that is running (the whole network is "") and to the total. Enter it through
    `count_flops`, which tracks the running modules.

    torch's FlopCounterMode finds the running modules with hooks on every module of the
    process (ModuleTracker): another session's forward pass would be credited here, and
    those hooks fire inside other sessions' backward passes. This mode hooks only the
    model it measures, and a dispatch mode sees only the thread that entered it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops: Counter[str] = Counter()
        self.total = 0
        self.running: list[str] = []  # count_flops makes it follow the model's running modules

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        formula = flop_registry.get(func._overloadpacket)
        if formula is None:  # a composite op: count what it decomposes into
            with self:
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        out = func(*args, **kwargs)
        if formula is not None:
            flops = formula(*args, **kwargs, out_val=out)
            self.total += flops
            for path in set(self.running):
                self.flops[path] += flops
        return out


@contextmanager
def count_flops(model: nn.Module) -> Iterator[ModuleFlops]:
    """Count the FLOPs of what runs inside the block, per module of `model`."""
    counter = ModuleFlops()
    with Hooks() as hooks:
        counter.running = hooks.running(model)
        with counter:
            yield counter


def _measure(model: nn.Module, x: torch.Tensor, taps) -> tuple[dict, dict, Mapping[str, int], int, int]:
    """One meta-device pass of a model no other thread uses: each tap's shape and field,
    FLOPs per module, total FLOPs, depth."""
    shapes, fields = {}, {}
    with count_flops(model) as counter, ReceptiveFieldMode(x) as tracker:
        def keep(tap, tensor) -> None:
            if tap.name not in shapes:
                shapes[tap.name] = tuple(tensor.shape[1:])
                fields[tap.name] = tracker.field(tensor)

        with hooked(model, taps, keep), torch.no_grad():
            logits = model(x)
        depth = tracker.field(logits).depth
    return shapes, fields, counter.flops, counter.total, depth


@memoize
def summary(key: str) -> Summary:
    """Whole-network and per-tap counts for a registered network. Measured on a meta model
    of its own (the shared one may be in another thread's hands), so the counts do not
    depend on what any other thread runs meanwhile."""
    spec, model, taps = zoo.get(key), zoo.fresh_meta_model(key), zoo.taps(key)
    shapes, fields, flops, total, depth = _measure(model, torch.zeros(1, *spec.input_size, device="meta"), taps)
    module_macs = MappingProxyType({path: count // 2 for path, count in flops.items()})
    rows = []
    for tap in taps:
        spatial = len(shapes[tap.name]) == 3 and fields[tap.name] is not None
        field = fields[tap.name]
        rows.append(TapCost(
            name=tap.name, module=tap.module, kind=tap.kind, parent=tap.parent, shape=shapes[tap.name],
            params=0 if tap.io == "input" else count_params(model.get_submodule(tap.module)),
            macs=0 if tap.io == "input" else module_macs.get(tap.module, 0),
            rf=field.size if spatial else None, jump=max(field.jump) if spatial else None,
            start=field.start[0] if spatial else None))
    return Summary(key, count_params(model), int(total) // 2, tuple(rows), depth, module_macs)


def stacked_field(layers: list[nn.Module], size: int = 32) -> int:
    """Receptive field of a few real layers applied in a row (e.g. two 3x3 convs)."""
    channels = next(m for m in layers[0].modules() if isinstance(m, nn.Conv2d)).in_channels
    x = torch.zeros(1, channels, size, size, device="meta")
    with ReceptiveFieldMode(x) as tracker, torch.no_grad():
        y = x
        for layer in layers:
            y = layer.to("meta")(y)
        return tracker.field(y).size


@dataclass(frozen=True)
class WeightLayer:
    module: str
    kind: str  # "conv" or "fc": what the layer does to the feature map (`pointwise_linears`)
    params: int
    macs: int


@memoize
def pointwise_linears(key: str) -> frozenset[str]:
    """The linear layers applied at every position of a feature map (ConvNeXt's pointwise layers
    on channels-last maps): 1×1 convolutions in all but name, found by the shape of their input
    in a meta pass (a fully connected layer sees one vector per image)."""
    model, found = zoo.fresh_meta_model(key), set()
    with Hooks() as hooks, torch.no_grad():
        for path, module in model.named_modules():
            if isinstance(module, nn.Linear):
                hooks.before(module, lambda _module, inputs, path=path:
                             found.add(path) if math.prod(inputs[0].shape[1:-1]) > 1 else None)
        model(torch.zeros(1, *zoo.get(key).input_size, device="meta"))
    return frozenset(found)


@memoize
def weight_layers(key: str) -> tuple[WeightLayer, ...]:
    """Every convolution and linear layer, in the order the network defines them, a linear layer
    counted as a convolution where it acts on every position of a map (`pointwise_linears`)."""
    macs, pointwise = summary(key).module_macs, pointwise_linears(key)
    return tuple(WeightLayer(path, "conv" if isinstance(m, nn.Conv2d) or path in pointwise else "fc", count_params(m),
                             macs.get(path, 0))
                 for path, m in zoo.meta_model(key).named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


@dataclass(frozen=True)
class Shares:
    conv_params: int
    fc_params: int
    other_params: int  # BatchNorm and the like
    conv_macs: int
    fc_macs: int


@memoize
def shares(key: str) -> Shares:
    layers, total = weight_layers(key), summary(key)
    conv = [l for l in layers if l.kind == "conv"]
    fc = [l for l in layers if l.kind == "fc"]
    conv_params, fc_params = sum(l.params for l in conv), sum(l.params for l in fc)
    return Shares(conv_params, fc_params, total.params - conv_params - fc_params,
                  sum(l.macs for l in conv), sum(l.macs for l in fc))


@dataclass(frozen=True)
class ModuleNode:
    path: str  # "" is the whole network
    parent: str | None
    params: int
    macs: int
    kind: str | None = None  # a weight layer's kind ("conv", "fc"), "other" for another leaf; None: it has children


def top_level_shares(key: str, by: str, most: int = 8) -> list[tuple[str, float]]:
    """Each top-level module's share of the network's parameters or MACs (`by`), in order: the
    treemap's largest tiles, named even when a tile is too thin to carry its label (the `most`
    largest of them, when a network has more, as GoogLeNet's 17)."""
    nodes = module_tree(key)
    total = max(getattr(nodes[0], by), 1)
    top = [(node.path, getattr(node, by) / total) for node in nodes if node.parent == ""]
    largest = set(sorted(range(len(top)), key=lambda i: -top[i][1])[:most])
    return [share for index, share in enumerate(top) if index in largest]


@memoize
def module_tree(key: str) -> tuple[ModuleNode, ...]:
    """The module hierarchy with parameters and MACs (children included) of each node."""
    macs, kinds = summary(key).module_macs, {layer.module: layer.kind for layer in weight_layers(key)}
    nodes = []
    for path, module in zoo.meta_model(key).named_modules():
        params, node_macs = count_params(module), macs.get(path, summary(key).macs if not path else 0)
        if params or node_macs:
            leaf = not any(count_params(child) or macs.get(f"{path}.{name}" if path else name)
                           for name, child in module.named_children())  # no node below it (BatchNormAct's act)
            nodes.append(ModuleNode(path, None if not path else path.rpartition(".")[0], params, node_macs,
                                    kinds.get(path, "other") if leaf else None))
    return tuple(nodes)


@dataclass(frozen=True)
class Stage:
    """The convolutions between two poolings of a plain stack (VGG's blocks), or its classifier."""
    name: str  # "1", "2", … for a block; "fc" for the fully connected layers after the last pooling
    layers: int  # weight layers
    channels: int  # output channels of the block (0 for the classifier)
    size: tuple[int, int] | None  # the maps' height and width inside the block
    params: int
    macs: int


@memoize
def stages(key: str) -> tuple[Stage, ...]:
    """A plain stack cut at each pooling tap (VGG's five blocks), then its classifier: what a
    deeper VGG adds, block by block. Networks with branches or shortcuts have no such stages."""
    found, block = [], []
    for tap in summary(key).taps:
        if tap.kind == "pool" and block:
            convs = [t for t in block if t.kind == "conv"]
            found.append(Stage(str(len(found) + 1), len(convs), convs[-1].shape[0], tuple(convs[-1].shape[1:]),
                               sum(t.params for t in convs), sum(t.macs for t in convs)))
            block = []
        elif tap.kind in ("conv", "fc", "output"):  # "output": the logits' layer
            block.append(tap)
    fcs = [t for t in block if t.kind != "conv"]
    return (*found, Stage("fc", len(fcs), 0, None, sum(t.params for t in fcs), sum(t.macs for t in fcs)))


@dataclass(frozen=True)
class StackedKernels:
    """Two stacked 3x3 convolutions against one 5x5 of the same width, on real layers."""
    first: str
    second: str
    channels: int
    stacked_params: int
    stacked_rf: int
    single_params: int
    single_rf: int


@memoize
def stacked_3x3(key: str) -> StackedKernels | None:
    """The network's last pair of consecutive 3x3 stride-1 convs of equal width, if any."""
    convs = [(p, m) for p, m in zoo.meta_model(key).named_modules() if isinstance(m, nn.Conv2d)]
    pairs = [(a, b) for a, b in zip(convs, convs[1:])
             if all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.groups == 1 for _, c in (a, b))
             and a[1].in_channels == a[1].out_channels == b[1].out_channels]
    if not pairs:
        return None
    (first, conv_a), (second, conv_b) = pairs[-1]
    width = conv_a.out_channels
    single = nn.Conv2d(width, width, 5, padding=2, bias=conv_a.bias is not None, device="meta")
    return StackedKernels(first, second, width, count_params(conv_a) + count_params(conv_b),
                          stacked_field([conv_a, nn.ReLU(), conv_b]), count_params(single),
                          stacked_field([single]))


@dataclass(frozen=True)
class HeadOption:
    kind: str  # named by the text "costs.head_option.<kind>", formatted with `sizes`
    sizes: dict[str, int]
    fc6_params: int
    network_params: int


@memoize
def fc6_what_if(key: str) -> tuple[HeadOption, ...] | None:
    """The lecture's VGG argument on the real fc6: wider final maps, or global average pooling."""
    total = summary(key)
    names = {t.name for t in total.taps}
    if not {"pool5", "fc6", "fc8"} <= names:
        return None
    channels, height, width = total.tap("pool5").shape
    fc6 = zoo.meta_model(key).get_submodule(total.tap("fc6").module)
    head = sum(total.tap(n).params for n in ("fc6", "fc7", "fc8"))
    units, classes = fc6.out_features, total.tap("fc8").shape[0]
    as_built = total.tap("fc6").params
    sizes = dict(channels=channels, height=height, width=width, units=units, classes=classes, doubled=2 * channels)
    options = [("as_built", as_built), ("doubled", 2 * channels * height * width * units + units),
               ("gap_fc6", channels * units + units)]
    rows = [HeadOption(kind, sizes, params, total.params - as_built + params) for kind, params in options]
    gap_only = channels * classes + classes  # GoogLeNet's choice: pooling straight into the classifier
    rows.append(HeadOption("gap_only", sizes, gap_only, total.params - head + gap_only))
    return tuple(rows)


@memoize
def dropouts(key: str) -> tuple[tuple[str, float], ...]:
    """(module path, drop probability) of every dropout layer, in definition order."""
    return tuple((path, m.p) for path, m in zoo.meta_model(key).named_modules() if isinstance(m, nn.Dropout))


@memoize
def checkpoint_params(key: str) -> int:
    """Parameters of the network as its builder makes it: the checkpoint's layout, before
    `finalize` drops parts of it (GoogLeNet's auxiliary heads)."""
    with torch.device("meta"):
        return count_params(zoo.get(key).build())


def spatial_taps(key: str, parts: bool = False) -> list[TapCost]:
    """The taps whose output is still a map (larger than 1×1, with a receptive field), in forward
    order: where Grad-CAM, the stage alignment and the layer pickers look. Whole layers only
    unless `parts` (branches, residual parts)."""
    return [t for t in summary(key).taps if t.rf is not None and t.shape[1] > 1 and (parts or t.parent is None)]


def tap_table(key: str) -> list[dict]:
    """The per-tap table as rows; pages head the columns with texts "column.<key>"."""
    return [{"tap": t.name, "module": t.module, "kind": t.kind, "shape": "×".join(map(str, t.shape)),
             "params": t.params, "macs": t.macs, "flops": 2 * t.macs,
             "activation_kib": t.activation_bytes / 1024, "rf": t.rf, "jump": t.jump}
            for t in summary(key).taps]


class _LiveBytes(TorchDispatchMode):
    """Bytes of activations alive during a forward pass. An op's output is an activation when
    one of its inputs is (weights alone make none: a transposed weight copy is a kernel detail),
    and counts until it is freed; outputs that alias an input (views, in-place ops) are no
    new memory."""

    def __init__(self, source: torch.Tensor) -> None:
        super().__init__()
        self.live = self.peak = source.numel() * source.element_size()
        self._activations: dict[int, weakref.ref] = {id(source): weakref.ref(source)}

    def _is_activation(self, tensor) -> bool:
        ref = self._activations.get(id(tensor)) if isinstance(tensor, torch.Tensor) else None
        return ref is not None and ref() is tensor

    def _free(self, size: int) -> None:
        self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if not any(self._is_activation(t) for t in tree_flatten((args, kwargs or {}))[0]):
            return result
        outputs = result if isinstance(result, (tuple, list)) else (result,)
        for returned, tensor in zip(func._schema.returns, outputs):
            if isinstance(tensor, torch.Tensor):
                self._activations[id(tensor)] = weakref.ref(tensor)
                if returned.alias_info is None:
                    size = tensor.numel() * tensor.element_size()
                    self.live += size
                    self.peak = max(self.peak, self.live)
                    weakref.finalize(tensor, self._free, size)
        return result


@memoize
def peak_activation_bytes(key: str) -> int:
    """The most activation memory alive at once in an inference pass of one image (float32),
    input included, weights excluded: what a forward pass needs beyond the model itself."""
    x = torch.zeros(1, *zoo.get(key).input_size, device="meta")
    with torch.no_grad(), _LiveBytes(x) as tracker:
        zoo.meta_model(key)(x)
    return tracker.peak


@memoize
def record_bytes(key: str, taps: tuple) -> int:
    """What recording `taps` (float32, one image) keeps: one meta-device pass of a model of its own."""
    sizes: dict[str, int] = {}
    model = zoo.fresh_meta_model(key)

    def keep(tap, tensor: torch.Tensor) -> None:  # None: the pass goes on unchanged
        sizes.setdefault(tap.name, tensor[0].numel() * tensor.element_size())

    with hooked(model, taps, keep), torch.no_grad():
        model(torch.zeros(1, *zoo.get(key).input_size, device="meta"))
    return sum(sizes.values())


@memoize
def file_bytes(key: str) -> int:
    """Size of the float32 checkpoint: parameters and buffers (BatchNorm statistics)."""
    model = zoo.meta_model(key)
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers())
               if t.is_floating_point())

