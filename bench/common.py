"""Timing helpers and the result record every suite returns."""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable, Mapping


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    target: float
    ok: bool

    @classmethod
    def at_most(cls, name: str, value: float, unit: str, target: float) -> "Result":
        return cls(name, round(value, 4), unit, target, value <= target)

    def as_dict(self) -> dict:
        return asdict(self)


def interleaved_medians(work: Mapping[str, Callable[[], object]], repeats: int = 5,
                        warmup: int = 1) -> dict[str, float]:
    """Median seconds of each callable, run in turn so machine noise hits all alike."""
    for _ in range(warmup):
        for fn in work.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(repeats):
        for name, fn in work.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    return interleaved_medians({"only": fn}, repeats)["only"]
