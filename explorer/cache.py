"""A thread-safe least-recently-used cache bounded by bytes, for captured records."""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")
DEFAULT_BUDGET = int(float(os.environ.get("EXPLORER_CACHE_MB", "1024")) * 2**20)


class ByteBudgetCache(Generic[V]):
    def __init__(self, max_bytes: int = DEFAULT_BUDGET, size_of: Callable[[V], int] = lambda v: v.nbytes):
        self.max_bytes, self._size_of = max_bytes, size_of
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value = compute()  # outside the lock: other sessions keep reading meanwhile
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        size = self._size_of(value)
        with self._lock:
            if key in self._items:
                self.bytes -= self._items.pop(key)[1]
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes and len(self._items) > 1:
                self.bytes -= self._items.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items
