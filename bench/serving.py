"""A lecture hall through the load balancer (deploy/): 1 and 2 replicas behind HAProxy measured in
the same run — sessions per second and the 95th-percentile page time for a class arriving at once
(each session: Home, then one more page) — the largest class one replica serves at p95 ≤ 2 s, and
the memory of a replica with the lecture's five networks loaded."""
from __future__ import annotations

import asyncio
import statistics
import time

import torch

from bench.common import Result
from deploy import serve
from tests import streamlit_client

NETWORKS = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "alexnet", "resnet18"]
PAGES = ["activations", "costs", "compare", "lecture", "graph"]
LECTURE = ["alexnet", "zfnet", "vgg16", "googlenet", "resnet50"]
CLASS = 40
P95_TARGET_S = 2.0


async def _class(url: str, count: int) -> tuple[float, list[float], int]:
    """(seconds for the whole class, every page time, sessions that failed)."""
    start = time.perf_counter()
    visits = await asyncio.gather(*[streamlit_client.visit(url, f"net={NETWORKS[i % len(NETWORKS)]}",
                                                           [PAGES[i % len(PAGES)]]) for i in range(count)])
    failed = sum(bool(v.error or v.exceptions) for v in visits)
    return time.perf_counter() - start, [s for v in visits for s in v.page_seconds], failed


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def run(device: torch.device | None = None) -> list[Result]:
    results, rates = [], {}
    for replicas in (1, 2):
        with serve.cluster(replicas) as running:
            # every replica warm: each (network, page) the class visits opened once on it
            asyncio.run(_class(running.url, len(NETWORKS) * replicas))
            seconds, pages, failed = asyncio.run(_class(running.url, CLASS))
            rates[replicas] = CLASS / seconds
            results += [Result.at_most(f"class_of_{CLASS}_failed_sessions [{replicas} replica(s)]", failed, "sessions", 0),
                        Result.at_most(f"class_of_{CLASS}_p95_page [{replicas} replica(s)]", _p95(pages), "s", 15.0)]
            if replicas == 1:
                served = 0
                for size in (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40):
                    _, times, failed = asyncio.run(_class(running.url, size))
                    if failed or _p95(times) > P95_TARGET_S:
                        break
                    served = size
                results.append(Result(f"sessions_arriving_at_once_within_p95_{P95_TARGET_S:g}s [1 replica]", served,
                                      "sessions", 3, served >= 3))
                for key in LECTURE:
                    asyncio.run(streamlit_client.visit(running.url, f"net={key}", []))
                results.append(Result.at_most("replica_memory_with_the_lecture_networks",
                                              _rss_mb(running.replicas["r1"].pid), "MB", 4096))
    results.append(Result(f"sessions_per_second_2_replicas/1_replica [class of {CLASS}]",
                          round(rates[2] / rates[1], 3), "ratio", 1.0, rates[2] / rates[1] >= 0.9))
    results += [Result(f"sessions_per_second [{n} replica(s)]", round(rate, 3), "sessions/s", 0.0, True)
                for n, rate in rates.items()]
    return results
