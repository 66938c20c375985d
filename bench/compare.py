"""Building the lecture's five-network comparison (rows, models, one image through each), cold
and again with the page's caches warm (costs memoised, models loaded, records in the byte cache)."""
from __future__ import annotations

import time

import torch

from bench.common import Result
from explorer import backend, compare, costs, images, inference
from explorer.cache import ByteBudgetCache

SAMPLE = "assets/samples/cat.jpg"


def build(device: torch.device, image: images.LoadedImage, models: dict, records: ByteBudgetCache) -> float:
    start = time.perf_counter()
    for key in compare.PRESETS["lecture"]:
        compare.row(key)
        compare.stage_taps(key)
        if key not in models:
            models[key] = inference.load(key, device)
        records.get_or_compute((key, image.digest), lambda: inference.analyse(models[key], image))
    return time.perf_counter() - start


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    image = images.load(open(SAMPLE, "rb").read())
    costs.clear_caches()
    models: dict = {}
    records = ByteBudgetCache(size_of=lambda analysis: analysis.record.nbytes)
    cold = build(device, image, models, records)
    cached = build(device, image, models, records)
    return [Result.at_most("compare_lectures_five_cold", cold, "s", 30.0),
            Result.at_most("compare_lectures_five_cached", cached, "s", 0.5)]
