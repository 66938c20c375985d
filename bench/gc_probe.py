"""`python -m bench.gc_probe run SCRIPT [ARGS]`: `streamlit run`, with the cyclic garbage collector
watched from inside the server process (`gc.callbacks`), so a benchmark can tell how much of a
session's server CPU the collector takes. Every quarter second the totals so far go to the JSON file
named by GC_PROBE_FILE: {"collections", "full_collections", "seconds", "cpu_seconds"}."""
from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time

_totals = {"collections": 0, "full_collections": 0, "seconds": 0.0}
_started: list[float] = []


def _on_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _started.append(time.perf_counter())
    elif _started:
        _totals["seconds"] += time.perf_counter() - _started.pop()
        _totals["collections"] += 1
        _totals["full_collections"] += info.get("generation") == 2


def _report(path: str) -> None:
    while True:
        snapshot = {**_totals, "cpu_seconds": time.process_time()}
        with open(f"{path}.tmp", "w") as out:
            json.dump(snapshot, out)
        os.replace(f"{path}.tmp", path)
        time.sleep(0.25)


def read(path: str) -> dict:
    """The probe's latest totals."""
    with open(path) as saved:
        return json.load(saved)


if __name__ == "__main__":
    gc.callbacks.append(_on_collection)
    threading.Thread(target=_report, args=(os.environ["GC_PROBE_FILE"],), daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()
