"""Which device computes, a lock around accelerator work, and falling back to the CPU."""
from __future__ import annotations

import os
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, TypeVar

import torch

from .i18n import Text, t

T = TypeVar("T")
_ACCELERATOR_LOCK = threading.Lock()  # one accelerator, many sessions


class BackendError(RuntimeError):
    """The requested device does not exist here; the message is for people."""


def choose_device(requested: str | None = None) -> torch.device:
    """EXPLORER_DEVICE (or `requested`) if set, else cuda, then mps, then cpu."""
    requested = requested or os.environ.get("EXPLORER_DEVICE")
    if requested:
        try:
            device = torch.device(requested)
        except (RuntimeError, ValueError):
            raise BackendError(Text("backend.unavailable", device=repr(requested))) from None
        available = {"cpu": True, "cuda": torch.cuda.is_available(),
                     "mps": torch.backends.mps.is_available()}.get(device.type, False)
        if not available:
            raise BackendError(Text("backend.unavailable", device=repr(requested)))
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return t("backend.cpu", threads=torch.get_num_threads())


def device_lock(device: torch.device) -> ContextManager:
    """Serialise accelerator work across sessions; CPU work needs no device lock."""
    return _ACCELERATOR_LOCK if device.type != "cpu" else nullcontext()


@dataclass(frozen=True)
class Run:
    device: str
    seconds: float
    fell_back: Text | None = None  # why the work moved to the CPU, if it did


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def run_with_fallback(work: Callable[[torch.device], T], device: torch.device) -> tuple[T, Run]:
    """work(device); if the accelerator runs out of memory, once more on the CPU, and say so."""
    start = time.perf_counter()
    try:
        with device_lock(device):
            result = work(device)
        return result, Run(str(device), time.perf_counter() - start)
    except (torch.OutOfMemoryError, RuntimeError) as error:
        if device.type == "cpu" or not _is_out_of_memory(error):
            raise
        if device.type == "cuda":
            torch.cuda.empty_cache()
    start = time.perf_counter()
    result = work(torch.device("cpu"))
    return result, Run("cpu", time.perf_counter() - start,
                       fell_back=Text("backend.fell_back", device=device))
