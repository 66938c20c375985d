"""A lecture hall through the load balancer (deploy/): classes of 10, 20 and 40 sessions arriving at
once (each session: Home, then one more page, on a light network), served by 1 and by 2 replicas
behind HAProxy and, as the reference, by plain Streamlit drawing the same elements
(`bench/bare_page.py`, one process) — sessions per second and the 95th-percentile page time of each,
measured in the same run; and the memory of a replica with the lecture's five networks loaded."""
from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import torch

from bench.common import Result
from bench.warm import elements_query
from deploy import serve
from explorer import compare
from harness import browser, memory, streamlit_client

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "alexnet", "resnet18"]
PAGES = ["activations", "costs", "compare", "lecture", "graph"]  # session i: NETWORKS[i % 5], PAGES[i % 5]
LECTURE = compare.PRESETS["lecture"]
CLASSES = (10, 20, 40)
P95_TARGET_S = {1: 3.0, 2: 2.0}  # for the class of 40, by replicas


async def _arrive(url: str, count: int, queries: list[list[str]] | None = None) -> tuple[float, list[streamlit_client.Visit]]:
    """Seconds until `count` sessions arriving at once are all served, and their visits. Session i
    opens the app's NETWORKS/PAGES pair i, or, given `queries`, the bare page with queries[i % 5]."""
    def visit(i: int):
        if queries is None:
            return streamlit_client.visit(url, f"net={NETWORKS[i % len(NETWORKS)]}", [PAGES[i % len(PAGES)]])
        home, page = queries[i % len(queries)]
        return streamlit_client.visit(url, home, [""], page_queries=[page])
    start = time.perf_counter()
    visits = await asyncio.gather(*[visit(i) for i in range(count)])
    return time.perf_counter() - start, list(visits)


def _p95(visits: list[streamlit_client.Visit]) -> float:
    return statistics.quantiles([s for v in visits for s in v.page_seconds], n=20)[-1]


def _failed(visits: list[streamlit_client.Visit]) -> int:
    return sum(bool(v.error or v.exceptions) for v in visits)


def _classes(url: str, served_by: str, queries: list[list[str]] | None = None,
             p95_target: float | None = None) -> list[Result]:
    results = []
    for size in CLASSES:
        seconds, visits = asyncio.run(_arrive(url, size, queries))
        name = f"class_of_{size} [{served_by}]"
        p95 = _p95(visits)
        results += [Result(f"sessions_per_second {name}", round(size / seconds, 2), "sessions/s", 0.0, True),
                    Result.at_most(f"p95_page {name}", p95, "s", p95_target) if size == CLASSES[-1] and p95_target
                    else Result(f"p95_page {name}", round(p95, 2), "s", 0.0, True),
                    Result.at_most(f"failed_sessions {name}", _failed(visits), "sessions", 0)]
    return results


def run(device: torch.device | None = None) -> list[Result]:
    results, queries = [], None
    for replicas in (1, 2):
        with serve.cluster(replicas) as running:
            # every replica warm: each (network, page) pair the class visits opened once on it, on its own
            # port (through the balancer, sessions arriving together can all miss one replica's pair)
            for port in running.ports.values():
                for _ in range(2):  # the second is a warm visit: a first may run a page twice (Compare, once
                    _, warm = asyncio.run(_arrive(f"http://127.0.0.1:{port}", len(NETWORKS)))  # its probes are in)
            queries = queries or [[elements_query(counts) for counts in visit.elements] for visit in warm]
            results += _classes(running.url, f"{replicas} replica(s)", p95_target=P95_TARGET_S[replicas])
            if replicas == 1:
                for key in LECTURE:
                    asyncio.run(streamlit_client.visit(running.url, f"net={key}", []))
                results.append(Result.at_most("replica_memory_with_the_lecture_networks",
                                              memory.rss_mb(running.replicas["r1"].pid), "MB", 4096))
    with browser.streamlit_server(script=ROOT / "bench" / "bare_page.py") as bare_url:
        asyncio.run(_arrive(bare_url, len(NETWORKS), queries))
        results += _classes(bare_url, "plain Streamlit, the same elements, 1 process", queries)
    rate = {r.name: r.value for r in results if r.name.startswith("sessions_per_second class_of_40")}
    two, one = rate["sessions_per_second class_of_40 [2 replica(s)]"], rate["sessions_per_second class_of_40 [1 replica(s)]"]
    results.append(Result(f"sessions_per_second 2 replicas / 1 [class of {CLASSES[-1]}]", round(two / one, 3),
                          "ratio", 1.0, two / one >= 0.9))
    return results


if __name__ == "__main__":
    import json

    print(json.dumps([r.as_dict() for r in run()], indent=1))
