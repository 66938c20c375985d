"""Cost analysis (params, MACs, shapes, receptive fields) vs a bare forward pass, cold and cached."""
from __future__ import annotations

import time

import torch

from bench.common import Result, seconds
from explorer import backend, costs, weights, zoo
from explorer.cache import clear_memos

NETWORKS = ("alexnet", "vgg16", "googlenet", "inception_v3", "resnet50", "mobilenet_v2")


def _cold(key: str) -> float:
    clear_memos()
    start = time.perf_counter()
    costs.summary(key)
    costs.module_tree(key)
    return time.perf_counter() - start


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    results = []
    for key in NETWORKS:
        model = weights.load(zoo.get(key))[0].to(device)
        x = torch.zeros(1, *zoo.get(key).input_size, device=device)

        def bare():
            with torch.no_grad():
                model(x)[0].cpu()

        forward = seconds(bare, repeats=3)
        cold = min(_cold(key) for _ in range(3))
        cached = seconds(lambda: (costs.summary(key), costs.module_tree(key)), repeats=3)
        # Cold analysis runs once per network per process; tiny nets forward in ~20 ms, so the
        # budget is absolute, with the ratio printed beside it.
        results.append(Result.at_most(f"cost_analysis_cold [{key}]", cold, "s", 1.5))
        results.append(Result.at_most(f"cost_analysis_cold/forward [{key}]", cold / forward, "ratio", 25.0))
        results.append(Result.at_most(f"cost_analysis_cached/forward [{key}]", cached / forward, "ratio", 0.05))
    return results
