"""Where a network's weights come from, and loading them safely.

Order: the folder named by EXPLORER_WEIGHTS_DIR, then the torch hub and Hugging Face
caches, then (only when asked: `fetch`, `make weights`, the sidebar button) a download,
else a seeded random initialisation that is the same on every run.
"""
from __future__ import annotations

import os
import tempfile
import threading
import urllib.request
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn

from .i18n import Text
from .zoo import REGISTRY, ModelSpec, WeightsSource

ProgressCallback = Callable[[int, int | None], None]  # (bytes so far, total or None)
DOWNLOAD_TIMEOUT_S = 30.0


class WeightsError(RuntimeError):
    """A checkpoint that cannot be fetched or loaded; the message is for people."""


@dataclass(frozen=True)
class WeightsStatus:
    pretrained: bool
    source: str  # weights name ("IMAGENET1K_V1") or "" for random
    location: str  # checkpoint path, or how the random weights were made
    warning: Text | None = None

    @property
    def label(self) -> str:
        return f"pretrained:{self.source}" if self.pretrained else "random"


def seed_for(key: str) -> int:
    return zlib.crc32(key.encode())


def candidate_paths(source: WeightsSource) -> list[Path]:
    """Where a checkpoint may already lie, in the order they are tried."""
    paths = []
    if os.environ.get("EXPLORER_WEIGHTS_DIR"):
        paths.append(Path(os.environ["EXPLORER_WEIGHTS_DIR"]) / source.filename)
    if source.bundled is not None:
        bundled = source.bundled()
        return paths + ([bundled] if bundled else [])
    paths.append(hub_path(source))
    if source.library == "timm":
        from huggingface_hub import try_to_load_from_cache

        repo = source.url.split("huggingface.co/")[1].split("/resolve/")[0]
        cached = try_to_load_from_cache(repo, "model.safetensors")
        if isinstance(cached, str):
            paths.append(Path(cached))
    return paths


def hub_path(source: WeightsSource) -> Path:
    """The file name torchvision's loader looks for under $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints" / source.filename


def find_checkpoint(spec: ModelSpec) -> Path | None:
    if spec.weights is None:
        return None
    return next((p for p in candidate_paths(spec.weights) if p.is_file()), None)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or torch.load with weights_only (no pickled code runs)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any decoding failure means the same thing to a user
        raise WeightsError(Text("weights.unreadable", file=path.name, error=type(error).__name__)) from error
    if not isinstance(state, dict):
        raise WeightsError(Text("weights.no_state_dict", file=path.name))
    return state


def apply_state_dict(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """Load strictly, but say in a sentence how a checkpoint fails to fit."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # strict=False still refuses tensors of the wrong shape
        raise WeightsError(Text("weights.shapes", name=name)) from error
    if result.missing_keys or result.unexpected_keys:
        example = (result.missing_keys or result.unexpected_keys)[0]
        raise WeightsError(Text("weights.keys", name=name, missing=len(result.missing_keys),
                                unexpected=len(result.unexpected_keys), example=example))


_GLOBAL_RNG = threading.Lock()  # builders draw from torch's process-wide generator


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build under a fixed seed without disturbing the caller's generator. Serialised: two
    sessions building networks at once would otherwise interleave their draws and get
    different weights for the same seed."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def random_model(spec: ModelSpec) -> nn.Module:
    """The builder's own initialisation under a per-network seed: the same on every run."""
    with seeded(seed_for(spec.key)):
        return spec.build()


def load(spec: ModelSpec) -> tuple[nn.Module, WeightsStatus]:
    """The network in eval mode on the CPU, with the best weights found locally."""
    model = random_model(spec)
    status = WeightsStatus(False, "", f"seeded random init (seed {seed_for(spec.key)})")
    path = find_checkpoint(spec)
    if path is not None:
        try:
            apply_state_dict(model, _adapted(spec, model, read_state_dict(path), path), spec.name)
            status = WeightsStatus(True, spec.weights.name, str(path))
        except WeightsError as error:
            model = random_model(spec)
            status = WeightsStatus(False, "", status.location,
                                   warning=Text("weights.fallback", path=path, error=error))
    if spec.finalize:
        spec.finalize(model)
    return model.eval(), status


def _adapted(spec: ModelSpec, model: nn.Module, state: dict, path: Path) -> dict:
    """A checkpoint saved under another library's names, renamed for our network."""
    if spec.weights.adapt is None:
        return state
    try:
        return spec.weights.adapt(model, state)
    except ValueError as error:
        raise WeightsError(Text("weights.keys_other", file=path.name, name=spec.name, error=str(error))) from error


def first_visit_network(preferred: str = "alexnet") -> str:
    """The network a first visit opens: the preferred one if its weights are on this machine,
    else the first registered one that has weights (on a fresh offline machine EfficientNet-
    Lite0, whose weights ship with a package): a newcomer sees a trained network's answer."""
    if find_checkpoint(REGISTRY[preferred]) is not None:
        return preferred
    return next((key for key, spec in REGISTRY.items() if find_checkpoint(spec) is not None), preferred)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


def download_url(source: WeightsSource) -> str | None:
    """The checkpoint URL, or the same file on a mirror named by EXPLORER_WEIGHTS_MIRROR (None for
    weights that ship with a package)."""
    if source.url is None:
        return None
    mirror = os.environ.get("EXPLORER_WEIGHTS_MIRROR")
    return f"{mirror.rstrip('/')}/{source.filename}" if mirror else source.url


def fetch(spec: ModelSpec, progress: ProgressCallback | None = None,
          timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download the checkpoint into the torch hub cache (where `load` finds it) and check
    that it loads into the network; return its path."""
    if spec.weights is None:
        raise WeightsError(Text("weights.unpublished", name=spec.name))
    existing = find_checkpoint(spec)
    if existing is not None:
        return existing
    if spec.weights.url is None:
        raise WeightsError(Text("weights.package_missing", name=spec.name))
    destination = hub_path(spec.weights)
    download(download_url(spec.weights), destination, progress, timeout)
    try:
        apply_state_dict(random_model(spec), read_state_dict(destination), spec.name)
    except WeightsError as error:
        destination.unlink(missing_ok=True)
        raise WeightsError(Text("weights.unusable", error=error)) from error
    return destination


def download(url: str, destination: Path, progress: ProgressCallback | None = None,
             timeout: float = DOWNLOAD_TIMEOUT_S, chunk: int = 1 << 20) -> None:
    """Stream url to destination through a temporary file, so a broken download leaves nothing."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers["Content-Length"]) if response.headers["Content-Length"] else None
            with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as partial:
                done = 0
                while block := response.read(chunk):
                    partial.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        Path(partial.name).replace(destination)
    except OSError as error:  # URLError, timeouts and refused connections are OSErrors
        if "partial" in locals():
            Path(partial.name).unlink(missing_ok=True)
        raise WeightsError(Text("weights.download_failed", url=url, reason=_first_line(error))) from error
