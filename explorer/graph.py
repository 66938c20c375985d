"""The whole network as a graph: one node per module call and per merge (a residual addition, a
concatenation), with the edges the data takes, traced by torch.fx on the meta device.

Each node carries its output shape (propagated through the traced graph on the meta device), its
parameters and its MACs (from `costs.summary`'s counts). Operations that only move data (flatten,
view, getattr) are folded into the edges. A network torch.fx cannot trace (Python control flow that
depends on values) is drawn as the chain of its modules in forward order, and the graph says so.

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
import torch.fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from . import costs, zoo
from .cache import memoize

MERGES = {operator.add: "add", operator.iadd: "add", torch.add: "add", torch.cat: "concat",
          operator.mul: "multiply", torch.mul: "multiply"}


@dataclass(frozen=True)
class Node:
    index: int
    name: str  # the module path, or the merge's own name
    kind: str  # the module's class name, or "add", "concat", "multiply", "input"
    shape: tuple[int, ...]  # output shape, batch dimension dropped
    params: int
    macs: int
    depth: int  # the longest path from the input, in nodes
    module: str | None  # the module path a click opens (None for merges and the input)


@dataclass(frozen=True)
class Graph:
    key: str
    nodes: tuple[Node, ...]
    edges: tuple[tuple[int, int], ...]  # (from, to) node indices
    traced: bool  # False: FX could not trace the network; drawn as a chain of its modules
    reason: str = ""  # why it could not be traced


def _shape(node: torch.fx.Node) -> tuple[int, ...]:
    meta = node.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return tuple(shape[1:]) if shape is not None else ()


@memoize
def network_graph(key: str) -> Graph:
    """The network's modules and merges as a directed graph (see the module's docstring)."""
    spec = zoo.get(key)
    model = zoo.fresh_meta_model(key)
    summary = costs.summary(key)
    try:
        traced = torch.fx.symbolic_trace(model)
        ShapeProp(traced).propagate(torch.zeros(1, *spec.input_size, device="meta"))
    except Exception as error:  # control flow on values, unsupported calls: say so, draw a chain
        return _chain(key, model, summary, f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")
    sources: dict[torch.fx.Node, set[int]] = {}  # the kept nodes each FX node's value comes from
    nodes: list[Node] = []
    edges: set[tuple[int, int]] = set()
    depth: dict[int, int] = {}
    for fx_node in traced.graph.nodes:
        inputs = set().union(*(sources.get(arg, set()) for arg in fx_node.all_input_nodes))
        kind = module = None
        if fx_node.op == "placeholder":
            kind = "input"
        elif fx_node.op == "call_module":
            module = str(fx_node.target)
            kind = type(traced.get_submodule(module)).__name__
        elif fx_node.op == "call_function" and fx_node.target in MERGES and len(inputs) > 1:
            kind = MERGES[fx_node.target]
        if kind is None:
            sources[fx_node] = inputs  # folded: the value passes through
            continue
        index = len(nodes)
        depth[index] = 1 + max((depth[i] for i in inputs), default=-1)
        params = costs.count_params(model.get_submodule(module)) if module else 0
        nodes.append(Node(index, module or (fx_node.name if kind != "input" else "input"), kind, _shape(fx_node),
                          params, summary.module_macs.get(module, 0) if module else 0, depth[index], module))
        edges.update((source, index) for source in inputs)
        sources[fx_node] = {index}
    return Graph(key, tuple(nodes), tuple(sorted(edges)), True)


def _chain(key: str, model: nn.Module, summary: costs.Summary, reason: str) -> Graph:
    """The leaf modules in forward order, one after another (the fallback when FX cannot trace)."""
    shapes = {tap.module: tap.shape for tap in costs.summary(key).taps}
    leaves = [tap.module for tap in zoo.leaf_taps(key)]
    nodes = [Node(0, "input", "input", tuple(zoo.get(key).input_size), 0, 0, 0, None)]
    for path in leaves:
        module = model.get_submodule(path)
        nodes.append(Node(len(nodes), path, type(module).__name__, tuple(shapes.get(path, ())),
                          costs.count_params(module), summary.module_macs.get(path, 0), len(nodes), path))
    return Graph(key, tuple(nodes), tuple((i, i + 1) for i in range(len(nodes) - 1)), False, reason)


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
    tap = next((tap.name for tap in zoo.taps(key) if tap.module == module and tap.io == "output"), None)
    return {"tap": tap} if tap else {"tap": module, "leaves": "True"}


def tap_labels(key: str) -> dict[str, str]:
    """Module path -> the tap name the pages use for it (conv1, relu3, fc6), where there is one."""
    return {tap.module: tap.name for tap in zoo.taps(key) if tap.io == "output"}
