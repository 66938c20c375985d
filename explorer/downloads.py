"""Fetching published weights into the torch hub cache, where `weights.find_checkpoint` finds them.

A download must never break a page or hold a process: the host is resolved and connected
within CONNECT_TIMEOUT_S (so an offline machine gives up in seconds, once per server start),
a server that stops sending is dropped after STALL_TIMEOUT_S, the whole transfer has a deadline
and a size cap derived from the file we expect, the bytes are checked against the hash in the
file name (torchvision's convention) and loaded into the network before the file is published
under its real name. Everything a broken server can do ends as one WeightsError.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

import torch

from . import weights
from .i18n import Text
from .weights import ProgressCallback, WeightsError, download_url, first_line, offline_reason
from .zoo import ModelSpec

CONNECT_TIMEOUT_S = 3.0
STALL_TIMEOUT_S = 20.0
MIN_RATE = 256 * 1024  # bytes/s: a download slower than this on average after GRACE_S is abandoned
GRACE_S = 30.0
SIZE_SLACK = 1.1, 1 << 20  # a checkpoint is its tensors plus a little packaging


class _Job:
    """One download of one file, which every session asking for that file waits on."""

    def __init__(self) -> None:
        self.done, self.total = 0, None
        self.finished = threading.Event()
        self.error: WeightsError | None = None


_JOBS: dict[Path, _Job] = {}
_JOBS_LOCK = threading.Lock()



def expected_bytes(spec: ModelSpec) -> int:
    """The size of the network's tensors in the checkpoint's layout: a checkpoint is this plus a
    little packaging (within 1 % of torchvision's published file sizes)."""
    with torch.device("meta"):
        state = spec.build().state_dict()
    return sum(tensor.numel() * tensor.element_size() for tensor in state.values())


def hash_prefix(filename: str) -> str | None:
    """The SHA-256 prefix torchvision puts in its file names ("resnet50-11ad3fa6.pth")."""
    match = torch.hub.HASH_REGEX.search(filename)
    return match.group(1) if match and match.group(1) else None


def fetch(spec: ModelSpec, progress: ProgressCallback | None = None, *, automatic: bool = False,
          deadline_s: float | None = None) -> Path:
    """Download the checkpoint into the torch hub cache (where `load` finds it) and check that it
    loads into the network; return its path. Sessions asking for the same file at once share one
    download. Nothing is fetched with EXPLORER_OFFLINE=1; an automatic fetch is not retried after
    a failure until the server restarts, an explicit one (a button, `make weights`) always is."""
    if spec.weights is None:
        raise WeightsError(Text("weights.unpublished", name=spec.name))
    existing = weights.find_checkpoint(spec)
    if existing is not None:
        return existing
    if spec.weights.url is None:
        raise WeightsError(Text("weights.package_missing", name=spec.name))
    if (reason := offline_reason(spec, automatic)) is not None:
        raise WeightsError(reason)
    destination = weights.hub_path(spec.weights)
    with _JOBS_LOCK:  # the download runs in its own thread: a session that reruns does not cancel it
        job = _JOBS.get(destination)
        if job is None:
            job = _JOBS[destination] = _Job()
            threading.Thread(target=_download_job, args=(job, spec, destination, deadline_s), daemon=True,
                             name=f"download {destination.name}").start()
    while not job.finished.wait(0.1):
        if progress:
            progress(job.done, job.total)
    if job.error is not None:
        raise job.error
    if progress:
        progress(job.done, job.total)
    return destination


def _download_job(job: _Job, spec: ModelSpec, destination: Path, deadline_s: float | None) -> None:
    url = download_url(spec.weights)
    expected = expected_bytes(spec)

    def report(done: int, total: int | None) -> None:
        job.done, job.total = done, total

    def check(path: Path) -> None:
        weights.load_into(spec, weights.random_model(spec), path, safetensors=destination.suffix == ".safetensors")

    try:
        download(url, destination, max_bytes=int(expected * SIZE_SLACK[0]) + SIZE_SLACK[1],
                 sha256_prefix=hash_prefix(spec.weights.filename), progress=report, check=check,
                 deadline_s=deadline_s if deadline_s is not None else 30 + expected / MIN_RATE)
        for failed in (urllib.parse.urlsplit(url).netloc, spec.weights.filename):
            weights.FAILED.pop(failed, None)
    except Exception as error:  # whatever happened, the waiting sessions get one clear message
        job.error = error if isinstance(error, WeightsError) else \
            WeightsError(Text("weights.download_failed", url=url, reason=first_line(error)))
        weights.FAILED[urllib.parse.urlsplit(url).netloc if job.error.unreachable else spec.weights.filename] = job.error
    finally:
        with _JOBS_LOCK:
            del _JOBS[destination]
        job.finished.set()


class _StallTimeout:
    """A connection that connects within the opener's timeout, then waits `stall_s` per read."""

    def __init__(self, *args, stall_s: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stall_s = stall_s

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.stall_s)


class _HTTPConnection(_StallTimeout, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_StallTimeout, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, stall_s: float) -> None:
        super().__init__()
        self.stall_s = stall_s

    def http_open(self, request):
        return self.do_open(functools.partial(_HTTPConnection, stall_s=self.stall_s), request)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, stall_s: float) -> None:
        super().__init__()
        self.stall_s = stall_s

    def https_open(self, request):
        return self.do_open(functools.partial(_HTTPSConnection, stall_s=self.stall_s), request,
                            context=self._context)


def _resolve_within(url: str, seconds: float) -> None:
    """Look up the host a download will connect to (its proxy's, if one is set), in a thread:
    name lookups ignore socket timeouts, and an offline machine can wait on them for long."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    target = urllib.parse.urlsplit(proxy) if proxy and not urllib.request.proxy_bypass(parts.hostname) else parts
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(target.hostname, target.port or 443, type=socket.SOCK_STREAM)
        except OSError as error:
            failure.append(error)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise WeightsError(Text("weights.unreachable", url=url, reason=Text("weights.no_answer", host=target.hostname,
                                                                             seconds=seconds)), unreachable=True)
    if failure:
        raise failure[0]


def _content_length(headers) -> int | None:
    """The announced size, or None when it is missing or not a plain non-negative number."""
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def download(url: str, destination: Path, *, max_bytes: int, sha256_prefix: str | None = None,
             progress: ProgressCallback | None = None, check: Callable[[Path], None] | None = None,
             deadline_s: float = 600.0, stall_s: float = STALL_TIMEOUT_S, min_rate: float = MIN_RATE,
             grace_s: float = GRACE_S, connect_s: float = CONNECT_TIMEOUT_S, chunk: int = 1 << 20) -> None:
    """Stream url into a hidden partial file beside destination; publish it under destination's
    name only once it is complete, within max_bytes, matches sha256_prefix and passes check.
    A server that trickles is dropped once it falls below min_rate after grace_s, and any
    transfer at deadline_s."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.NamedTemporaryFile(dir=destination.parent, prefix=f".{destination.name}.", suffix=".partial",
                                     delete=False) as partial:
        partial_path = Path(partial.name)
    try:
        try:
            _resolve_within(url, connect_s)
        except OSError as error:
            raise WeightsError(Text("weights.unreachable", url=url, reason=first_line(error)),
                               unreachable=True) from error
        try:
            opener = urllib.request.build_opener(_HTTPHandler(stall_s), _HTTPSHandler(stall_s))
            with opener.open(url, timeout=connect_s) as response, partial_path.open("wb") as out:
                total = _content_length(response.headers)
                if total is not None and total > max_bytes:
                    raise WeightsError(Text("weights.too_large", url=url, offered=total / 2**20,
                                            expected=max_bytes / 2**20))
                digest, done = hashlib.sha256(), 0
                while block := response.read1(chunk):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if done > max_bytes:
                        raise WeightsError(Text("weights.too_large", url=url, offered=done / 2**20,
                                                expected=max_bytes / 2**20))
                    elapsed = time.monotonic() - started
                    if elapsed > deadline_s or (elapsed > grace_s and done < min_rate * (elapsed - grace_s)):
                        raise WeightsError(Text("weights.too_slow", url=url, done=done / 2**20, seconds=elapsed))
                    if progress:
                        progress(done, total)
        except urllib.error.HTTPError as error:
            raise WeightsError(Text("weights.download_failed", url=url, reason=first_line(error))) from error
        except urllib.error.URLError as error:  # could not connect or send the request
            raise WeightsError(Text("weights.unreachable", url=url, reason=first_line(error.reason)),
                               unreachable=True) from error
        except (OSError, http.client.HTTPException, ValueError) as error:  # what else a broken server does
            raise WeightsError(Text("weights.download_failed", url=url, reason=first_line(error))) from error
        if (total is not None and done != total) or done == 0:
            raise WeightsError(Text("weights.truncated", url=url, done=done, total=total or "?"))
        if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
            raise WeightsError(Text("weights.checksum", file=destination.name, expected=sha256_prefix,
                                    actual=digest.hexdigest()[:len(sha256_prefix)]))
        if check:
            try:
                check(partial_path)
            except WeightsError as error:
                raise WeightsError(Text("weights.unusable", error=error)) from error
        partial_path.replace(destination)
    finally:
        partial_path.unlink(missing_ok=True)
