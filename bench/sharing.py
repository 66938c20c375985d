"""A class arriving at once: 20 sessions ask for the same uncached analysis of the same image.
Through the pages' own cache it must run once (forward passes counted), and the sessions
together should wait about as long as one analysis."""
from __future__ import annotations

import threading
import time

import torch
from torch import nn

from bench.common import Result
from explorer import backend, images, inference
from explorer.ui import cache

SAMPLE = "assets/samples/cat.jpg"
SESSIONS = 20


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    image = images.load(open(SAMPLE, "rb").read())
    loaded = inference.load("resnet18", device)
    single = time.perf_counter()
    inference.analyse(loaded, image)
    single = time.perf_counter() - single

    passes = []
    counter = nn.modules.module.register_module_forward_pre_hook(
        lambda module, _args: passes.append(1) if type(module).__name__ == "ResNet" else None)
    cache.results().forget(lambda key: key[0] == "analysis" and key[1] == "resnet18")
    start, gate = time.perf_counter(), threading.Barrier(SESSIONS)

    def session() -> None:
        gate.wait()
        cache.analysis(loaded, image)

    threads = [threading.Thread(target=session) for _ in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    together = time.perf_counter() - start
    counter.remove()
    return [Result.at_most(f"same_analysis_{SESSIONS}_sessions_forward_passes [resnet18]", len(passes), "count", 1),
            Result.at_most(f"same_analysis_{SESSIONS}_sessions/one_analysis [resnet18]", together / single,
                           "ratio", 2.0)]
