"""Resident memory, read from /proc (Linux): the figure the kernel's out-of-memory killer goes by."""
from __future__ import annotations

import os


def rss_bytes(pid: int | str = "self") -> int:
    """The resident memory of process `pid` (this one by default), in bytes."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int | str = "self") -> float:
    """The same, in MiB."""
    return rss_bytes(pid) / 2**20
