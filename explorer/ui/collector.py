"""The cyclic garbage collector, tuned for a long-lived server of many short script runs.

Streamlit runs a full collection after every script run (`runner.postScriptGC`): in this process,
holding torch, timm, plotly and the networks (about half a million objects), each one took
250–270 ms, 57–88 % of a warm session's server CPU (bench/warm.py). `.streamlit/config.toml` turns
it off, so Python's own generational thresholds collect the garbage of the runs instead. And the
first time each page has run in this process, what is alive then (modules, classes, networks and
results that page brought in: objects that live as long as the server) is moved out of the
collector's reach with `gc.freeze()`, so the full collections Python still makes walk only what
sessions allocate since. Frozen objects are still freed by reference counting; only a reference
cycle among objects frozen here would outlive its use — at most the sessions open at those few
moments (one per page, per process).
"""
from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_settled: set[str] = set()


def settle(point: str) -> bool:
    """The first time `point` (a page) is reached in this process: collect, then freeze what
    survives. True when it froze."""
    with _lock:
        if point in _settled:
            return False
        gc.collect()
        gc.freeze()
        _settled.add(point)
        return True
