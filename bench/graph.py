"""The network graph: tracing a network and laying it out with dot, cold, against torchview
tracing and laying out the same network in the same run (the peer a student might use)."""
from __future__ import annotations

import time

import torch

from bench.common import Result
from explorer import graph, graph_layout, zoo
from explorer.cache import clear_memos

NETWORKS = ("resnet50", "googlenet", "densenet121")


def _ours(key: str, level: str) -> float:
    clear_memos()
    start = time.perf_counter()
    graph_layout.place(graph.at_level(key, level))
    return time.perf_counter() - start


def _torchview(model: torch.nn.Module, key: str) -> float:
    from torchview import draw_graph

    start = time.perf_counter()
    drawn = draw_graph(model, input_size=(1, *zoo.get(key).input_size), depth=1000, expand_nested=True,
                       hide_inner_tensors=True, hide_module_functions=True, device="meta")
    drawn.visual_graph.pipe(format="json0")
    return time.perf_counter() - start


def run(device: torch.device | None = None) -> list[Result]:
    results = []
    for key in NETWORKS:
        model = zoo.get(key).instantiate()
        peer = min(_torchview(model, key) for _ in range(3))
        for level in graph.LEVELS:
            ours = min(_ours(key, level) for _ in range(3))
            results.append(Result.at_most(f"graph_cold [{key} {level}]", ours, "s", 2.0))
            if level == "modules":  # torchview draws every module
                # ours also counts each box's MACs and receptive field, which torchview does not
                results.append(Result.at_most(f"graph_cold/torchview [{key} {level}]", ours / peer, "ratio", 3.0))
    return results
