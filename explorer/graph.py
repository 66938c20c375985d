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

    def sources(self, values) -> frozenset[int]:
        found = [self.producers.get(id(t)) for t in _tensors(values)]
        return frozenset().union(*(entry[1] for entry in found if entry and entry[0] is not None))

    def produce(self, output, nodes: frozenset[int]) -> None:
        for tensor in _tensors(output):
            self.producers[id(tensor)] = (tensor, nodes)

    def add(self, name: str, kind: str, inputs: frozenset[int], output, module: str | None) -> None:
        index = len(self.nodes)
        depth = 1 + max((self.nodes[i].depth for i in inputs), default=-1)
        shapes = _tensors(output)
        shape = tuple(shapes[0].shape[1:]) if shapes else ()
        params = costs.count_params(self.model.get_submodule(module)) if module else 0
        self.nodes.append(Node(index, name, kind, shape, params,
                               self.summary.module_macs.get(module, 0) if module else 0, depth, module,
                               self.running[-1] if self.running else ""))
        self.edges.update((source, index) for source in inputs)
        self.produce(output, frozenset({index}))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if self.inside:
            return result
        inputs = self.sources((args, kwargs or {}))
        kind = MERGES.get(func)
        if kind and len(_tensors((args, kwargs or {}))) > 1 and len(inputs) > 1:
            self.merges += 1
            self.add(f"{kind} {self.merges}", kind, inputs, result, None)
        elif inputs:
            self.produce(result, inputs)  # the value only moves: it comes from the same nodes
        return result


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
    with Hooks() as hooks, torch.no_grad(), recorder:
        # the blocks: the merges made inside one are named after it
        recorder.running = hooks.running(model, lambda path, module: bool(path) and any(module.children()))
        for path, module in model.named_modules():
            if path and not any(module.children()):
                hooks.before(module, entering)
                hooks.after(module, leaving(path))
        recorder.add("input", "input", frozenset(), x, None)
        model(x)
    return Graph(key, tuple(recorder.nodes), tuple(sorted(recorder.edges)))


def lanes(graph: Graph) -> dict[int, int]:
    """A horizontal position per node: nodes at the same depth side by side, each as near as it
    can be to the lane of the node it comes from (so a chain stays in one column)."""
    parents: dict[int, list[int]] = {}
    for source, target in graph.edges:
        parents.setdefault(target, []).append(source)
    lane: dict[int, int] = {}
    taken: dict[int, set[int]] = {}
    for node in sorted(graph.nodes, key=lambda n: (n.depth, n.index)):
        wanted = min((lane[p] for p in parents.get(node.index, []) if p in lane), default=0)
        used = taken.setdefault(node.depth, set())
        position = next(candidate for offset in range(len(graph.nodes) + 1)
                        for candidate in (wanted + offset, wanted - offset) if candidate >= 0 and candidate not in used)
        used.add(position)
        lane[node.index] = position
    return lane


def activations_view(key: str, module: str) -> dict[str, str]:
    """The Activations view that shows a module: its tap when the network has one there, else the
    module among every leaf layer."""
    tap = zoo.tap_names(key).get(module)
    return {"tap": tap} if tap else {"tap": module, "leaves": "True"}
