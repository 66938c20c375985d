"""The shared caches keep to their byte budget, evict the least recently used, and compute
each key once however many threads ask at once."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cache import ByteBudgetCache, clear_memos, memoize, nbytes


class Blob:
    def __init__(self, nbytes):
        self.nbytes = nbytes


def test_evicts_least_recently_used_beyond_the_budget():
    cache = ByteBudgetCache(max_bytes=100)
    calls = []
    for key in "abc":
        cache.get_or_compute(key, lambda: calls.append(1) or Blob(40))
    assert "a" not in cache and "b" in cache and "c" in cache and cache.bytes == 80
    cache.get_or_compute("b", lambda: Blob(1))  # a hit: not recomputed, becomes most recent
    cache.put("d", Blob(40))
    assert "c" not in cache and "b" in cache and len(calls) == 3


def test_an_item_larger_than_the_whole_budget_is_returned_but_never_kept():
    cache = ByteBudgetCache(max_bytes=100)
    cache.put("small", Blob(40))
    value = cache.get_or_compute("big", lambda: Blob(150))
    assert value.nbytes == 150 and "big" not in cache and "small" in cache and cache.bytes == 40


@pytest.fixture
def waiting(monkeypatch) -> threading.Semaphore:
    """Released once for each thread that starts waiting for another's computation: a compute
    function can hold on until every other asker is provably waiting, not merely late."""
    from explorer import cache as cache_module

    arrived = threading.Semaphore(0)

    class Counted(threading.Event):
        def wait(self, timeout=None):
            arrived.release()
            return super().wait(timeout)

    start = cache_module._Flight.__init__

    def init(self):
        start(self)
        self.done = Counted()

    monkeypatch.setattr(cache_module._Flight, "__init__", init)
    return arrived


def test_many_threads_asking_for_one_key_compute_it_once(waiting):
    """The computation ends only once the 19 other threads wait for it: were single flight broken,
    each would compute, none would wait, and the computations would time out."""
    cache, calls, gate = ByteBudgetCache(max_bytes=1000), [], threading.Barrier(20)

    def compute():
        calls.append(1)
        assert all(waiting.acquire(timeout=30) for _ in range(19)), "the others never waited"
        return Blob(10)

    def ask():
        gate.wait()
        return cache.get_or_compute("analysis", compute)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: ask(), range(20)))
    assert len(calls) == 1 and cache.computed == 1
    assert all(r is results[0] for r in results)


def test_when_the_computing_thread_fails_a_waiting_one_computes_instead(waiting):
    cache, attempts, started = ByteBudgetCache(max_bytes=1000), [], threading.Event()

    def failing():
        attempts.append("first")
        started.set()
        attempts.append(waiting.acquire(timeout=30))  # fail only once the other one waits for this
        raise RuntimeError("cancelled by a rerun")

    def first():
        with pytest.raises(RuntimeError):
            cache.get_or_compute("k", failing)

    leader = threading.Thread(target=first)
    leader.start()
    started.wait()  # the leader holds the flight before this thread asks
    value = cache.get_or_compute("k", lambda: attempts.append("second") or Blob(3))
    leader.join()
    assert attempts == ["first", True, "second"] and value.nbytes == 3 and "k" in cache


def test_forget_drops_only_matching_keys_and_their_bytes():
    cache = ByteBudgetCache(max_bytes=1000)
    for key in [("analysis", "alexnet"), ("grid", "alexnet"), ("analysis", "vgg16")]:
        cache.put(key, Blob(10))
    assert cache.forget(lambda key: key[1] == "alexnet") == 2
    assert len(cache) == 1 and cache.bytes == 10 and ("analysis", "vgg16") in cache


def test_sizes_are_found_inside_results():
    record = {"maps": torch.zeros(10, 10), "picture": np.zeros((4, 4), np.uint8), "png": b"12345",
              "image": Image.new("RGB", (3, 2))}
    shared = torch.zeros(5)
    assert nbytes(record) == 400 + 16 + 5 + 18
    assert nbytes([shared, shared, (shared,)]) == 20  # one object counted once


def test_memoize_is_single_flight_and_clearable():
    calls = []

    @memoize
    def square(x):
        calls.append(x)
        time.sleep(0.02)
        return x * x

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(square, [3] * 8)) == [9] * 8
    assert calls == [3]
    square.cache_clear()
    assert square(3) == 9 and calls == [3, 3]


def test_memoize_with_a_bound_keeps_the_latest_results_and_clear_memos_forgets_all():
    calls = []

    @memoize(most=2)
    def double(x):
        calls.append(x)
        return 2 * x

    assert [double(x) for x in (1, 2, 1, 3, 2, 1)] == [2, 4, 2, 6, 4, 2]
    assert calls == [1, 2, 3, 2, 1]  # the two latest used are kept: 3 pushes 2 out, 2 then 1, 1 then 3
    double(1)
    assert len(calls) == 5
    clear_memos()
    double(1)
    assert len(calls) == 6
