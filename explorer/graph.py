"""The whole network as a graph: one node per module call and per merge (a residual addition, a
concatenation, a squeeze-and-excitation product), with the edges the data takes.

Traced by running the network once on the meta device (no memory, no weights): forward hooks on
a private copy's leaf modules record each module call, and a torch function mode — which, unlike
torch.fx's tracer, patches nothing process-wide and sees only this thread, so the sessions running
networks meanwhile are untouched — records the merges between them and follows every tensor
through the operations that only move data (flatten, view, functional activations) into the
edges. Data-dependent Python control flow is no obstacle: the pass simply takes its path. Each node
carries its output shape, its parameters and its MACs (from `costs.summary`'s counts).

Example:
    >>> from explorer import graph
    >>> g = graph.network_graph("resnet18")
    >>> sum(node.kind == "add" for node in g.nodes)  # eight residual additions
    8
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from . import costs, zoo
from .cache import memoize
from .hooks import Hooks
from .receptive import ReceptiveFieldMode

MERGES = {torch.add: "add", Tensor.add: "add", Tensor.add_: "add", Tensor.__add__: "add", Tensor.__radd__: "add",
          Tensor.__iadd__: "add", operator.add: "add", torch.cat: "concat", torch.concat: "concat",
          torch.mul: "multiply", Tensor.mul: "multiply", Tensor.mul_: "multiply", Tensor.__mul__: "multiply",
          Tensor.__rmul__: "multiply", Tensor.__imul__: "multiply"}


@dataclass(frozen=True)
class Node:
    index: int
    name: str  # the module path, or the merge's kind and number
    kind: str  # the module's class name, or "add", "concat", "multiply", "input"
    shape: tuple[int, ...]  # output shape, batch dimension dropped
    params: int
    macs: int
    depth: int  # the longest path from the input, in nodes
    module: str | None  # the module path a click opens (None for merges and the input)
    within: str = ""  # the innermost module running when it was made ("" at the top): a merge's block
    rf: int | None = None  # the receptive field of its output in input pixels (None where it is not a map)

    @property
    def label(self) -> str:
        """How a merge is named on the graph: its block and kind ("inception3a concat"); "input" for the input."""
        return f"{self.within} {self.kind}".strip()


@dataclass(frozen=True)
class Graph:
    key: str
    nodes: tuple[Node, ...]
    edges: tuple[tuple[int, int], ...]  # (from, to) node indices


def _tensors(value) -> list[Tensor]:
    """The tensors inside a module's arguments or output, however nested (torch's pytree)."""
    return [leaf for leaf in tree_flatten(value)[0] if isinstance(leaf, Tensor)]


class _Recorder(TorchFunctionMode):
    """Which node produced each live tensor, and the nodes and edges so far."""

    def __init__(self, summary: costs.Summary, model: nn.Module) -> None:
        super().__init__()
        self.summary, self.model = summary, model
        self.nodes: list[Node] = []
        self.edges: set[tuple[int, int]] = set()
        self.producers: dict[int, tuple[Tensor, frozenset[int]]] = {}  # id -> (the tensor kept alive, nodes)
        self.inside = 0  # > 0 while a leaf module runs: its own functional calls are its business
        self.running: list[str] = []  # the paths of the blocks running now, outermost first (Hooks.running)
        self.merges = 0
        self.parameter_names = {id(p): name for name, p in model.named_parameters()}
        self.counted: set[int] = set()  # the parameters already in a node
        self.fields: ReceptiveFieldMode | None = None

    def sources(self, values) -> frozenset[int]:
        found = [self.producers.get(id(t)) for t in _tensors(values)]
        return frozenset().union(*(entry[1] for entry in found if entry and entry[0] is not None))

    def produce(self, output, nodes: frozenset[int]) -> None:
        for tensor in _tensors(output):
            self.producers[id(tensor)] = (tensor, nodes)

    def add(self, name: str, kind: str, inputs: frozenset[int], output, module: str | None, params: int = 0) -> None:
        index = len(self.nodes)
        depth = 1 + max((self.nodes[i].depth for i in inputs), default=-1)
        shapes = _tensors(output)
        shape = tuple(shapes[0].shape[1:]) if shapes else ()
        first_call = module is not None and all(node.module != module for node in self.nodes)
        if first_call:  # a module that runs twice (ResNet's shared relu) counts once, as in `summary`'s totals
            params = costs.count_params(self.model.get_submodule(module))
        macs = self.summary.module_macs.get(module, 0) if first_call else 0
        field = self.fields.field(shapes[0]) if shapes and self.fields and len(shape) == 3 else None
        self.nodes.append(Node(index, name, kind, shape, params, macs, depth, module,
                               self.running[-1] if self.running else "", field.size if field else None))
        self.edges.update((source, index) for source in inputs)
        self.produce(output, frozenset({index}))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if self.inside:
            return result
        inputs = self.sources((args, kwargs or {}))
        kind = MERGES.get(func)
        used = [t for t in _tensors((args, kwargs or {})) if isinstance(t, nn.Parameter)]
        if used and inputs:  # a block's own parameter at work (ConvNeXt's layer scale): a box of its own
            self.add(", ".join(self.parameter_names[id(t)] for t in used), "parameter", inputs, result, None,
                     params=sum(t.numel() for t in used if id(t) not in self.counted))
            self.counted.update(id(t) for t in used)
        elif kind and len(_tensors((args, kwargs or {}))) > 1 and len(inputs) > 1:
            self.merges += 1
            self.add(f"{kind} {self.merges}", kind, inputs, result, None)
        elif inputs:
            self.produce(result, inputs)  # the value only moves: it comes from the same nodes
        return result


# torch.nn's own layers: one box each, even where a library gives one children (timm's
# BatchNormAct2d normalises, then runs the activation it holds)
LAYERS = (nn.modules.conv._ConvNd, nn.modules.batchnorm._NormBase, nn.Linear, nn.LayerNorm, nn.GroupNorm)


def drawn_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules the graph draws as one box per call: every leaf and every torch.nn layer, with
    nothing inside either of them."""
    found, inside = [], ()
    for path, module in model.named_modules():
        if not path or any(path.startswith(holder + ".") for holder in inside):
            continue
        if isinstance(module, LAYERS) or not any(module.children()):
            found.append((path, module))
            if any(module.children()):
                inside = (*inside, path)
    return found


@memoize
def network_graph(key: str) -> Graph:
    """The network's module calls and merges as a directed graph (see the module's docstring)."""
    spec = zoo.get(key)
    model = zoo.fresh_meta_model(key)  # a private instance: its hooks are nobody else's
    recorder = _Recorder(costs.summary(key), model)

    def entering(_module, _args):
        recorder.inside += 1

    def leaving(path: str):
        def hook(module, args, output):
            recorder.inside -= 1
            recorder.add(path, type(module).__name__, recorder.sources(args), output, path)
        return hook

    x = torch.zeros(1, *spec.input_size, device="meta")
    with Hooks() as hooks, torch.no_grad(), recorder, ReceptiveFieldMode(x) as fields:
        recorder.fields = fields
        # the blocks: the merges made inside one are named after it
        recorder.running = hooks.running(model, lambda path, module: bool(path) and any(module.children()))
        for path, module in drawn_modules(model):
            hooks.before(module, entering)
            hooks.after(module, leaving(path))
        recorder.add("input", "input", frozenset(), x, None)
        model(x)
    return Graph(key, tuple(recorder.nodes), tuple(sorted(recorder.edges)))


def activations_view(key: str, module: str) -> dict[str, str]:
    """The Activations view that shows a module: its tap when the network has one there, else the
    module among every leaf layer."""
    tap = zoo.tap_names(key).get(module)
    return {"tap": tap} if tap else {"tap": module, "leaves": "True"}


# ---------------------------------------------------------------- levels: blocks, or every module

LEVELS = ("blocks", "modules")


@dataclass(frozen=True)
class Box:
    """One box drawn at a level: a block standing for its module calls and merges, or one of them."""
    id: str  # unique in the graph: a module path ("layer1.0.conv2", "…#2" for a repeated call), a merge's name
    label: str  # unique within its block, and naming it ("layer1.0 conv2 3×3, 64")
    block: str  # the block's tap name ("layer1.0", "inception_3a"), "" outside every block
    kind: str  # the module's class name, or "add", "concat", "multiply", "input"
    shape: tuple[int, ...]
    params: int
    macs: int
    module: str | None  # the module path a click opens (None for merges and the input)
    members: tuple[int, ...]  # the indices of the nodes of `network_graph` it stands for
    expandable: bool  # a block that opens into its modules
    within: str  # the module whose cluster holds it ("layer1.0" for layer1.0.conv1 and layer1.0's add)
    rf: int | None  # its output's receptive field in input pixels


@dataclass(frozen=True)
class LevelGraph:
    key: str
    level: str
    boxes: tuple[Box, ...]
    edges: tuple[tuple[str, str], ...]  # (from, to) box ids
    clusters: tuple[tuple[str, str, tuple[str, ...]], ...]  # (module path, its name, box ids inside) outermost first


def blocks(key: str) -> dict[str, str]:
    """The blocks a teacher names (the network's main taps that have parts: ResNet's layer1.0,
    GoogLeNet's inception_3a, SqueezeNet's fire2): module path -> tap name. A torch.nn layer with
    children (EfficientNet-Lite0's stem BatchNormAct2d) is a layer, drawn as one box, not a block."""
    model = zoo.meta_model(key)
    return {tap.module: tap.name for tap in zoo.taps(key)
            if tap.parent is None and tap.io == "output" and any(model.get_submodule(tap.module).children())
            and not isinstance(model.get_submodule(tap.module), LAYERS)}


def _within(path: str, block: str) -> bool:
    return path == block or path.startswith(block + ".")


def _layer_details(module: nn.Module) -> str:
    """A layer's shape in a few characters, in the papers' notation: "3×3/2, 64" for a convolution,
    "3×3 dw, 144" for a depthwise one, "4096→1000" for a linear layer."""
    def pair(value) -> str:
        a, b = value if isinstance(value, tuple) else (value, value)
        return f"{a}×{b}" if a != b else f"{a}×{a}"

    if isinstance(module, nn.Conv2d):
        stride = module.stride[0] if module.stride[0] == module.stride[1] else pair(module.stride)
        # "dw" as MobileNet's table writes a depthwise convolution, "g=" as ShuffleNet's its groups
        depthwise = module.groups > 1 and module.groups == module.in_channels
        grouped = f", g={module.groups}" if module.groups > 1 and not depthwise else ""
        return (f"{pair(module.kernel_size)}{f'/{stride}' if stride != 1 else ''}{' dw' if depthwise else ''}, "
                f"{module.out_channels}{grouped}")
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        stride = module.stride if module.stride is not None else module.kernel_size
        return f"{pair(module.kernel_size)}/{stride if not isinstance(stride, tuple) else pair(stride)}"
    if isinstance(module, nn.Linear):
        return f"{module.in_features}→{module.out_features}"
    return ""


@memoize
def at_level(key: str, level: str = "blocks", opened: frozenset[str] = frozenset()) -> LevelGraph:
    """`network_graph` drawn at a level: at "blocks" each block is one box (its module calls and
    merges inside), except the blocks in `opened` (module paths), which show their modules; at
    "modules" every module call and merge is a box. Edges join boxes the data flows between;
    clusters are the modules that hold two boxes or more (ResNet's layer1 ⊃ layer1.0 ⊃ its convs)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: one of {', '.join(LEVELS)}")
    found = network_graph(key)
    model = zoo.meta_model(key)
    named = blocks(key)
    taps = zoo.tap_names(key)
    by_length = sorted(named, key=len, reverse=True)

    def block_of(node: Node) -> str | None:
        path = node.module or node.within
        return next((block for block in by_length if path and _within(path, block)), None)

    owner: dict[int, str] = {}  # node index -> box id
    grouped: dict[str, list[Node]] = {}
    calls: dict[str, int] = {}
    for node in found.nodes:
        block = block_of(node)
        if level == "blocks" and block is not None and block not in opened:
            box_id = block
        elif node.module:
            calls[node.module] = calls.get(node.module, 0) + 1
            box_id = node.module if calls[node.module] == 1 else f"{node.module}#{calls[node.module]}"
        else:
            box_id = node.name
        owner[node.index] = box_id
        grouped.setdefault(box_id, []).append(node)

    boxes, seen_labels = [], {}
    for box_id, members in grouped.items():
        first, last = members[0], members[-1]
        block = block_of(first)
        block_name = named.get(block, "") if block else ""
        if box_id in named:  # a closed block (a module's own box has a leaf's or a layer's path)
            module = model.get_submodule(box_id)
            label, kind, shown_module = f"{named[box_id]} · {type(module).__name__}", type(module).__name__, box_id
            expandable = True
        elif first.module:
            module = model.get_submodule(first.module)
            inner = first.module[len(block) + 1:] if block and first.module != block else ""
            own = taps.get(first.module) if not inner else None
            name = " ".join(part for part in (block_name, inner.replace(".", " ") or own or first.module) if part)
            label = " ".join(part for part in (name, _layer_details(module)) if part)
            call = box_id.partition("#")[2]
            if call:  # the same module run again (ResNet's one relu, three times a block)
                label += f" #{call}"
            kind, shown_module, expandable = first.kind, first.module, False
        elif first.kind == "parameter":  # named by the parameter ("features.1.0 layer_scale")
            label = " ".join(part for part in (block_name, first.name.rpartition(".")[2]) if part)
            kind, shown_module, expandable = first.kind, None, False
        else:  # a merge or the input
            label = f"{block_name} {first.kind}" if block_name else first.label
            kind, shown_module, expandable = first.kind, None, False
        count = seen_labels.get((block_name, label), 0) + 1  # two merges of a kind in one block
        seen_labels[(block_name, label)] = count
        if count > 1:
            label = f"{label} ({count})"
        holder = (shown_module.rpartition(".")[0] if shown_module else first.within)
        boxes.append(Box(box_id, label, block_name, kind, last.shape, sum(n.params for n in members),
                         sum(n.macs for n in members), shown_module, tuple(n.index for n in members), expandable,
                         holder, last.rf))

    edges = sorted({(owner[a], owner[b]) for a, b in found.edges if owner[a] != owner[b]},
                   key=lambda edge: (grouped[edge[0]][0].index, grouped[edge[1]][0].index))
    return LevelGraph(key, level, tuple(boxes), tuple(edges), _clusters(boxes, named))


def _clusters(boxes: list[Box], named: dict[str, str]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """The modules drawn as a frame around their boxes, outermost first: each that holds two boxes
    or more and is a block, holds one, is a part of one (Inception's branches, a shortcut) or is a
    part of the whole network (AlexNet's features, classifier). Smaller wrappers (a conv with its
    BatchNorm) stay unframed: a frame around every pair would bury the blocks."""
    inside: dict[str, list[str]] = {}
    for box in boxes:
        parts = box.within.split(".") if box.within else []
        for end in range(1, len(parts) + 1):
            inside.setdefault(".".join(parts[:end]), []).append(box.id)

    def framed(path: str) -> bool:
        parent = path.rpartition(".")[0]
        return (path in named or "." not in path or parent in named
                or any(block.startswith(path + ".") for block in named))

    found = [(path, named.get(path, path), tuple(ids)) for path, ids in inside.items() if len(ids) >= 2 and framed(path)]
    return tuple(sorted(found, key=lambda cluster: cluster[0].count(".")))


def layer_details(key: str, box: Box) -> dict[str, str]:
    """What a box's side panel lists, as text: output shape, parameters, MACs, for a convolution
    or pooling its kernel, stride, padding and groups, and its output's receptive field."""
    details = {"shape": " × ".join(map(str, box.shape)), "params": f"{box.params:,}", "macs": f"{box.macs:,}"}
    if box.module:
        module = zoo.meta_model(key).get_submodule(box.module)
        for name in ("kernel_size", "stride", "padding", "groups"):
            value = getattr(module, name, None)
            if value is not None and (name != "groups" or isinstance(module, nn.Conv2d)):
                details[name] = "×".join(map(str, value)) if isinstance(value, tuple) else str(value)
    if box.rf:
        details["rf"] = f"{box.rf}×{box.rf}"
    return details
