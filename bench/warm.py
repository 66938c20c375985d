"""What a warm session costs the server, against plain Streamlit drawing the same elements.

A class of sessions arrives at once on one warm server (sessions speak Streamlit's websocket protocol)
and opens Home, or Home and one more page; the server's CPU seconds per session, the collector's share
of them (bench/gc_probe.py) and the p95 until a session's pages are drawn are set beside the same
class on `bench/bare_page.py`, which draws exactly the elements and layout blocks the app's pages drew
in a warm session (counted by kind from the app's own messages) with no app logic. Both servers run
side by side in the same benchmark, measured in interleaved rounds (medians), so the ratio holds on
any machine. Images are served as media files that this client does not fetch, for both servers
alike. Then a fresh server's first visit: started as deployed (warmed) and by plain `streamlit run`.
"""
from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from bench import gc_probe
from bench.common import Result
from deploy import start
from explorer.ui import navigation
from harness import browser, streamlit_client

ROOT = Path(__file__).resolve().parents[1]
NETWORK = "efficientnet_lite0"  # what a first visit opens on a machine without downloaded weights
PAGE_NETWORKS = {"inception": "googlenet"}  # a page with nothing to show for Lite0 is measured on its network
PAGES = [page.url_path for page in navigation.PAGES]  # "" is Home alone
CLASS = 40
RATIO_TARGET = 1.2
ROUNDS = 3  # medians of interleaved rounds


def elements_query(counts: Counter) -> str:
    return "elements=" + ",".join(f"{kind}:{count}" for kind, count in sorted(counts.items()))


async def _arrive(url: str, queries: list[str], pages: list[str], count: int) -> list[streamlit_client.Visit]:
    return await asyncio.gather(*[streamlit_client.visit(url, queries[0], pages, page_queries=queries[1:] or None)
                                  for _ in range(count)])


def _measure(url: str, probe_file: str, queries: list[str], pages: list[str], count: int) -> dict:
    """A warm-up visit, then `count` sessions at once: server CPU and collector seconds per session,
    p95 of the session times, failed sessions, and a warm session's element counts per page (not the
    warm-up's: a first visit may run a page twice, as Compare does once its background probes are in)."""
    asyncio.run(_arrive(url, queries, pages, 2))
    time.sleep(0.6)  # the probe's file is written every quarter second
    before = gc_probe.read(probe_file)
    visits = asyncio.run(_arrive(url, queries, pages, count))
    time.sleep(0.6)
    after = gc_probe.read(probe_file)
    return {"cpu": (after["cpu_seconds"] - before["cpu_seconds"]) / count,
            "gc": (after["seconds"] - before["seconds"]) / count,
            "full": (after["full_collections"] - before["full_collections"]) / count,
            "p95": statistics.quantiles([v.seconds for v in visits], n=20)[-1],
            "failed": sum(bool(v.error or v.exceptions) for v in visits), "elements": visits[0].elements}


def _server(script: Path, probe_file: str):
    return browser.streamlit_server({"GC_PROBE_FILE": probe_file}, script=script, launcher="bench.gc_probe")


def _median(rounds: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in rounds)


def run(device: torch.device | None = None, pages: list[str] = PAGES, count: int = CLASS,
        rounds: int = ROUNDS) -> list[Result]:
    folder = Path(tempfile.mkdtemp(prefix="explorer-warm-"))
    app_probe, bare_probe = str(folder / "app.json"), str(folder / "bare.json")
    results = []
    with _server(ROOT / "app.py", app_probe) as app_url, _server(ROOT / "bench" / "bare_page.py", bare_probe) as bare_url:
        for page in pages:
            visit_pages = [page] if page else []
            network = PAGE_NETWORKS.get(page, NETWORK)
            app, bare = [], []
            for _ in range(rounds):  # interleaved, so the machine's drift meets both alike
                app.append(_measure(app_url, app_probe, [f"net={network}"], visit_pages, count))
                queries = [elements_query(counts) for counts in app[-1]["elements"]]
                bare.append(_measure(bare_url, bare_probe, queries, [""] * (len(queries) - 1), count))
            name = f"Home + {page}" if page else "Home"
            cpu, bare_cpu = _median(app, "cpu"), _median(bare, "cpu")
            results += [
                Result.at_most(f"warm_session_server_cpu / bare page's [{name}, {network}, class of {count}]",
                               cpu / bare_cpu, "ratio", RATIO_TARGET),
                Result(f"warm_session_server_cpu [{name}]", round(cpu * 1000, 1), "ms", 0.0, True),
                Result(f"bare_page_server_cpu [{name}'s elements]", round(bare_cpu * 1000, 1), "ms", 0.0, True),
                Result.at_most(f"warm_session_collector_share [{name}]", _median(app, "gc") / cpu, "ratio", 0.05),
                Result(f"warm_session_full_collections [{name}]", round(_median(app, "full"), 3), "per session",
                       0.0, True),
                Result.at_most(f"warm_class_p95 [{name}, class of {count}]", _median(app, "p95"), "s", 3.0),
                Result(f"bare_class_p95 [{name}'s elements, class of {count}]", round(_median(bare, "p95"), 2), "s",
                       0.0, True),
                Result.at_most(f"warm_class_failed_sessions [{name}]",
                               sum(r["failed"] for r in app + bare), "sessions", 0)]
    return results + fresh_first_visit()


FIRST_VISIT_S = 5.0


def fresh_first_visit(pages: tuple[str, ...] = ("activations",)) -> list[Result]:
    """The first session on a server just started as deployed (deploy/start.py), arriving once its
    warm-up is done: seconds until Home and Activations are drawn, beside the same first session on a
    server started by plain `streamlit run` (which imports the app and builds its network for it)."""
    results = []
    for launcher, warmed in (("deploy.start", True), ("streamlit", False)):
        with browser.streamlit_server(launcher=launcher) as url:
            if warmed:
                line = browser.wait_for_line(url, start.WARMED)
                results.append(Result(f"warm_up_at_start [{line.split(': ', 1)[1]}]",
                                      float(line.split(start.WARMED)[1].split()[0]), "s", 0.0, True))
            visit = asyncio.run(streamlit_client.visit(url, "", list(pages)))
            name = f"fresh_server_first_visit [{'warmed at start' if warmed else 'plain streamlit run'}: Home + {', '.join(pages)}]"
            results.append(Result.at_most(name, visit.seconds, "s", FIRST_VISIT_S) if warmed
                           else Result(name, round(visit.seconds, 2), "s", 0.0, True))
            results.append(Result.at_most(f"fresh_server_first_visit_errors [{launcher}]",
                                          bool(visit.error or visit.exceptions), "sessions", 0))
    return results


if __name__ == "__main__":
    import json
    import sys

    chosen = sys.argv[1:] or PAGES
    print(json.dumps([r.as_dict() for r in run(pages=[p if p != "home" else "" for p in chosen])], indent=1))
