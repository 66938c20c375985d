"""The record cache keeps to its byte budget and evicts the least recently used."""
from explorer.cache import ByteBudgetCache


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


def test_a_single_oversized_item_is_still_kept():
    cache = ByteBudgetCache(max_bytes=10)
    value = cache.get_or_compute("big", lambda: Blob(50))
    assert value.nbytes == 50 and len(cache) == 1
