"""Caches shared by every session: each key is computed once, even when many ask at once.

`ByteBudgetCache` holds results (captured records, decoded images, attributions ...) under
one byte budget, least recently used evicted first. `memoize` is the unbounded form for
small pure results (cost summaries). Both are single-flight: while one thread computes a
key, the others asking for it wait and receive its value; if the computing thread fails
or is cancelled (a Streamlit rerun), the next waiter computes instead.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Callable, Generic, Hashable, TypeVar

import numpy as np
import torch
from PIL import Image

V = TypeVar("V")
DEFAULT_BUDGET = int(float(os.environ.get("EXPLORER_CACHE_MB", "2048")) * 2**20)  # models and results


def nbytes(value: object) -> int:
    """Memory a cached value holds: tensors, arrays, images, bytes and plotly figures, found through
    dataclasses, mappings and sequences (shared objects counted once)."""
    seen: set[int] = set()

    def size(item: object) -> int:
        if id(item) in seen:
            return 0
        seen.add(id(item))
        if isinstance(item, torch.Tensor):
            return item.numel() * item.element_size()
        if isinstance(item, np.ndarray):
            return item.nbytes
        if isinstance(item, Image.Image):
            return item.width * item.height * len(item.getbands())
        if isinstance(item, (bytes, bytearray)):
            return len(item)
        if callable(getattr(item, "to_plotly_json", None)):  # a plotly figure: what it sends, as JSON
            return len(item.to_json(validate=False))
        if isinstance(getattr(item, "nbytes", None), int):  # objects that know their size
            return item.nbytes
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return sum(size(getattr(item, f.name)) for f in dataclasses.fields(item))
        if isinstance(item, Mapping):
            return sum(size(v) for v in item.values())
        if isinstance(item, (list, tuple)):
            return sum(size(v) for v in item)
        return 0

    return size(value)


class _Flight:
    """One computation in progress; waiters block on `done`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.ok = False


class ByteBudgetCache(Generic[V]):
    def __init__(self, max_bytes: int = DEFAULT_BUDGET, size_of: Callable[[V], int] = nbytes):
        self.max_bytes, self._size_of = max_bytes, size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()
        self.bytes = 0
        self.computed = 0  # how many values were computed (not served from the cache)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, or compute() once however many threads ask for the key at once."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = self._flights[key] = _Flight()
            if leader:
                return self._lead(key, flight, compute)
            flight.done.wait()
            if flight.ok:
                return flight.value  # type: ignore[return-value]
            # the leader failed or was cancelled: try again (compute it, or wait for a new leader)

    def _lead(self, key: Hashable, flight: _Flight, compute: Callable[[], V]) -> V:
        try:
            value = compute()  # outside the lock: other keys are read and computed meanwhile
            flight.value, flight.ok = value, True
            self.put(key, value)
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
                self.computed += flight.ok
            flight.done.set()

    def put(self, key: Hashable, value: V) -> None:
        """Keep value under key, evicting the least recently used beyond the budget; a value
        larger than the whole budget is not kept (it would evict everything, and still be over)."""
        size = self._size_of(value)
        with self._lock:
            if key in self._items:
                self.bytes -= self._items.pop(key)[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def forget(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key satisfies predicate (one model's results when its weights
        change); returns how many were dropped."""
        with self._lock:
            doomed = [key for key in self._items if predicate(key)]
            for key in doomed:
                self.bytes -= self._items.pop(key)[1]
        return len(doomed)

    def clear(self) -> None:
        self.forget(lambda _key: True)

    def keys(self) -> list[Hashable]:
        """The keys held now, least recently used first."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items


_MEMO_STORES: list[ByteBudgetCache] = []


def memoize(function: Callable[..., V] | None = None, *, most: int | None = None):
    """functools.cache, single-flight: a result is computed once per arguments, and a second
    caller asking while it is computed waits for it instead of computing it again. With `most`
    (`@memoize(most=2)`), only that many of the latest results are kept."""
    if function is None:
        return lambda decorated: memoize(decorated, most=most)
    store: ByteBudgetCache = (ByteBudgetCache(max_bytes=2**62, size_of=lambda _value: 0) if most is None
                              else ByteBudgetCache(max_bytes=most, size_of=lambda _value: 1))
    _MEMO_STORES.append(store)

    @functools.wraps(function)
    def wrapper(*args):
        return store.get_or_compute(args, lambda: function(*args))

    wrapper.cache_clear = store.clear  # type: ignore[attr-defined]
    wrapper.cache = store  # type: ignore[attr-defined]
    return wrapper


def clear_memos() -> None:
    """Forget every memoized result in this process, as a freshly started server would have none
    (benchmarks that time a cold first view)."""
    for store in _MEMO_STORES:
        store.clear()
