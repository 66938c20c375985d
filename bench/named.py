"""Resolving a network by name and summarising it (every count and tap) from cold, for the five
the issue names: ≤ 3 s each on 2 CPU cores."""
from __future__ import annotations

import time

import torch

from bench.common import Result
from explorer import costs, zoo
from explorer.cache import clear_memos

NAMES = ("densenet121", "efficientnet_b0", "convnext_tiny", "regnet_y_400mf", "timm/resnet50d")


def run(device: torch.device | None = None) -> list[Result]:
    results = []
    for name in NAMES:
        clear_memos()
        start = time.perf_counter()
        costs.summary(zoo.get(name).key)
        results.append(Result.at_most(f"resolve_and_summarise_cold [{name}]", time.perf_counter() - start, "s", 3.0))
    return results
