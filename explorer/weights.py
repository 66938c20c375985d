"""Where a network's weights come from, and loading them safely.

Order: the folder named by EXPLORER_WEIGHTS_DIR, then the torch hub and Hugging Face
caches (or the installed package that ships a network's weights), then a download (`downloads.fetch`:
when a network is picked in the app, by `make weights`, or the sidebar's button), else a
seeded random initialisation that is the same on every run.
"""
from __future__ import annotations

import io
import os
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn.utils import skip_init

from . import rng
from .i18n import Text
from .zoo import REGISTRY, ModelSpec, WeightsSource, get, meta_model

ProgressCallback = Callable[[int, int | None], None]  # (bytes so far, total or None)


class WeightsError(RuntimeError):
    """A checkpoint that cannot be fetched or loaded; the message is for people. `unreachable`:
    the server could not be reached at all (offline), which is not retried automatically."""

    def __init__(self, message: object, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class WeightsStatus:
    pretrained: bool
    source: str  # weights name ("IMAGENET1K_V1") or "" for random
    location: str  # checkpoint path, or how the random weights were made
    warning: Text | None = None  # a checkpoint was found but refused

    @property
    def label(self) -> str:
        return _label(self.source if self.pretrained else None)

    @property
    def yours(self) -> bool:
        """Weights a person uploaded (`with_user_weights`)."""
        return self.source.startswith("yours:")

    @property
    def uploaded_file(self) -> str:
        """The name of the uploaded file (its source is "yours:<content digest>:<file>", so two
        students' files of the same name are two sets of weights, and two cache keys)."""
        return self.source.split(":", 2)[2] if self.yours else ""


def seed_for(key: str) -> int:
    return zlib.crc32(key.encode())


def candidate_paths(source: WeightsSource) -> list[Path]:
    """Where a checkpoint may already lie, in the order they are tried."""
    paths = list(_fixed_places(source, os.environ.get("EXPLORER_WEIGHTS_DIR"), torch.hub.get_dir()))
    if source.library == "timm":
        from huggingface_hub import try_to_load_from_cache

        repo = source.url.split("huggingface.co/")[1].split("/resolve/")[0]
        cached = try_to_load_from_cache(repo, "model.safetensors")
        if isinstance(cached, str):
            paths.append(Path(cached))
    return paths


@lru_cache(maxsize=1024)
def _fixed_places(source: WeightsSource, weights_dir: str | None, hub_dir: str) -> tuple[Path, ...]:
    """The places that follow from the settings alone, once per setting: every session asks where
    the first trained network is (`trained_network`), and building these paths for every registered
    network was most of that lookup's time. A package's own file is looked up once per process."""
    paths = [Path(weights_dir) / source.filename] if weights_dir else []
    if source.bundled is not None:
        bundled = source.bundled()
        return (*paths, bundled) if bundled else tuple(paths)
    return (*paths, hub_path(source, hub_dir))


def hub_path(source: WeightsSource, hub_dir: str | None = None) -> Path:
    """The file name torchvision's loader looks for under $TORCH_HOME/hub/checkpoints."""
    return Path(hub_dir or torch.hub.get_dir()) / "checkpoints" / source.filename


def find_checkpoint(spec: ModelSpec) -> Path | None:
    if spec.weights is None:
        return None
    return next((p for p in candidate_paths(spec.weights) if p.is_file()), None)


def _label(source: str | None) -> str:
    return f"pretrained:{source}" if source else "random"


def checkpoint_label(spec: ModelSpec) -> str:
    """What loading the network gives, for tables and the CLI: "pretrained:<weights name>" when its
    checkpoint is on disk, else "random" (WeightsStatus.label once loaded)."""
    return _label(spec.weights.name if find_checkpoint(spec) else None)


def read_state_dict(path: Path, safetensors: bool | None = None) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or torch.load with weights_only (no pickled code runs), keyed
    by parameter names."""
    try:
        if safetensors if safetensors is not None else path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any decoding failure means the same thing to a user
        raise WeightsError(Text("weights.unreadable", file=path.name, error=type(error).__name__)) from error
    return _checked_state(state, path.name)


def _checked_state(state: object, file: str) -> dict[str, torch.Tensor]:
    """A mapping of parameter names to plain tensors, or the sentence saying what it is instead.
    Nothing here reads a tensor's values: a tensor that claims more values than its storage holds
    (stride 0, overlapping strides — a 45 KB file "holding" gigabytes) is refused before anything
    could expand it, and so are sparse, meta and quantised tensors."""
    if not isinstance(state, dict):
        raise WeightsError(Text("weights.no_state_dict", file=file))
    odd_key = next((key for key in state if not isinstance(key, str)), None)
    if odd_key is not None:
        raise WeightsError(Text("weights.bad_keys", file=file, entry=repr(odd_key)[:40]))
    odd_value = next((key for key, value in state.items() if not isinstance(value, torch.Tensor)), None)
    if odd_value is not None:
        raise WeightsError(Text("weights.not_tensors", file=file, entry=_short(odd_value)))
    for key, tensor in state.items():
        if tensor.layout != torch.strided or tensor.device.type != "cpu" or tensor.is_quantized:
            raise WeightsError(Text("weights.not_plain", file=file, entry=_short(key),
                                    kind=f"{tensor.layout} on {tensor.device.type}".replace("torch.", "")))
        if tensor.numel() * tensor.element_size() > tensor.untyped_storage().nbytes():
            raise WeightsError(Text("weights.not_dense", file=file, entry=_short(key),
                                    shape="×".join(map(str, tensor.shape))))
    return state


def _short(name: str, limit: int = 80) -> str:
    """A key or a name as a message quotes it: a 10 MB key name is not a sentence."""
    return name if len(name) <= limit else f"{name[:limit]}… ({len(name):,} characters)"


# ---------------------------------------------------------------- weights a person uploads

UPLOAD_TYPES = ("safetensors", "pth", "pt", "bin")
MAX_CLASS_NAMES = 100_000
MAX_CLASS_NAME_CHARS = 200
MAX_CLASS_FILE_BYTES = 10 * 2**20
# The largest state dict read: room for the largest network one request may build (zoo.MAX_PARAMS
# float32 parameters, 763 MiB at 200 M) and its buffers; .streamlit/config.toml's maxUploadSize.
MAX_WEIGHTS_BYTES = 1 * 2**30
MAX_HEADER_BYTES = 16 * 2**20  # a safetensors header: ~100 KB for the largest networks here
MAX_ARCHIVE_ENTRIES = 100_000  # a torch.save archive holds one entry per storage


def _check_container(data: bytes, file: str, safetensors: bool) -> None:
    """Refuse what would make the reader allocate more than the file holds, before it runs: a
    safetensors header larger than any network's, a torch archive whose entries declare more
    bytes than the file could hold (torch.save stores them uncompressed: a zip bomb does not), or
    the pre-1.6 pickle format, whose storages declare their own sizes."""
    if safetensors:
        declared = int.from_bytes(data[:8], "little") if len(data) >= 8 else 0
        if declared > MAX_HEADER_BYTES:
            raise WeightsError(Text("weights.header_too_large", file=file, declared=declared / 2**20,
                                    limit=MAX_HEADER_BYTES / 2**20))
        return
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise WeightsError(Text("weights.legacy_format", file=file))
    try:
        with zipfile.ZipFile(buffer) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise WeightsError(Text("weights.unreadable_upload", file=file, error=first_line(error)[:160])) from error
    declared = sum(entry.file_size for entry in entries)
    if len(entries) > MAX_ARCHIVE_ENTRIES or declared > 2 * len(data) + 2**20:
        raise WeightsError(Text("weights.archive_sizes", file=file, entries=len(entries), declared=declared / 2**20,
                                size=len(data) / 2**20))


def read_upload(data: bytes, file: str) -> dict[str, torch.Tensor]:
    """An uploaded state dict, read in memory (nothing is written to disk and nothing in it runs:
    safetensors, or torch.load with weights_only). A training checkpoint's {"state_dict": ...} or
    {"model": ...} is unwrapped and DataParallel's "module." prefixes dropped."""
    suffix = file.rsplit(".", 1)[-1].lower()
    if suffix not in UPLOAD_TYPES:
        raise WeightsError(Text("weights.upload_type", file=file, types=", ".join(UPLOAD_TYPES)))
    if len(data) > MAX_WEIGHTS_BYTES:
        raise WeightsError(Text("weights.file_too_large", file=file, size=len(data) / 2**20,
                                limit=MAX_WEIGHTS_BYTES / 2**20))
    _check_container(data, file, suffix == "safetensors")
    try:
        if suffix == "safetensors":
            from safetensors.torch import load

            state = load(data)
        else:
            buffer = io.BytesIO(data)
            state = torch.load(buffer, map_location="cpu", weights_only=True)
    except Exception as error:  # refused pickles, cut files, lying headers: one sentence each
        raise WeightsError(Text("weights.unreadable_upload", file=file, error=first_line(error)[:160])) from error
    if isinstance(state, dict):
        wrapped = [value for key, value in state.items() if key in ("state_dict", "model") and isinstance(value, dict)]
        state = wrapped[0] if len(wrapped) == 1 else state
        if state and all(isinstance(key, str) and key.startswith("module.") for key in state):
            state = {key.removeprefix("module."): value for key, value in state.items()}
    return _checked_state(state, file)


def read_file(path: Path, limit: int) -> bytes:
    """A weights or class-name file from disk (the CLI), read no further than `limit` bytes: a
    device (/dev/zero) or a FIFO is refused before it is opened, so nothing grows or hangs."""
    if not path.is_file():
        raise WeightsError(Text("weights.not_a_file", file=path.name))
    with path.open("rb") as opened:
        data = opened.read(limit + 1)
    if len(data) > limit:
        raise WeightsError(Text("weights.file_too_large", file=path.name, size=path.stat().st_size / 2**20,
                                limit=limit / 2**20))
    return data


def read_class_names(data: bytes, file: str) -> tuple[str, ...]:
    """One class name per line (UTF-8; blank lines and surrounding spaces dropped)."""
    if len(data) > MAX_CLASS_FILE_BYTES:  # the browser's limit, for a client that ignores it
        raise WeightsError(Text("weights.class_file_too_large", file=file, size=len(data) / 2**20,
                                limit=MAX_CLASS_FILE_BYTES / 2**20))
    try:
        names = tuple(line.strip() for line in data.decode("utf-8").splitlines() if line.strip())
    except UnicodeDecodeError as error:
        raise WeightsError(Text("weights.class_file", file=file)) from error
    if not names or len(names) > MAX_CLASS_NAMES:
        raise WeightsError(Text("weights.class_file", file=file))
    long = next((name for name in names if len(name) > MAX_CLASS_NAME_CHARS), None)
    if long is not None:
        raise WeightsError(Text("weights.class_name_long", file=file, name=_short(long, 40),
                                limit=MAX_CLASS_NAME_CHARS))
    return names


def with_user_weights(spec: ModelSpec, state: dict[str, torch.Tensor], file: str,
                      classes: tuple[str, ...] | None = None, digest: str = "") -> tuple[nn.Module, WeightsStatus]:
    """The network with an uploaded state dict: its classifier resized to the file's number of
    classes, then every tensor checked and loaded strictly; a class-name list must match."""
    model = random_model(spec)
    head = classifier_path(model)
    layer = model.get_submodule(head)
    weight = state.get(f"{head}.weight")
    if weight is not None and weight.dim() >= 2 and weight.shape[0] != layer.weight.shape[0]:
        if weight.shape[0] > MAX_CLASS_NAMES:
            raise WeightsError(Text("weights.too_many_classes", file=file, classes=weight.shape[0],
                                    limit=MAX_CLASS_NAMES))
        parent, _, name = head.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, name, _resized(layer, weight.shape[0]))
    apply_state_dict(model, state, spec.name)
    outputs = output_count(model)
    if classes is not None and len(classes) != outputs:
        raise WeightsError(Text("weights.class_count", classes=len(classes), outputs=outputs, file=file))
    if spec.finalize:
        spec.finalize(model)
    return model.eval(), WeightsStatus(True, f"yours:{digest[:16]}:{file}", "uploaded, kept in memory")


def classifier_path(model: nn.Module) -> str:
    """The layer that makes the class scores: the last Linear or convolution the network
    registers (SqueezeNet's is a 1×1 convolution; auxiliary heads come before it)."""
    return [path for path, module in model.named_modules() if isinstance(module, (nn.Linear, nn.Conv2d))][-1]


def output_count(model: nn.Module) -> int:
    layer = model.get_submodule(classifier_path(model))
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _resized(layer: nn.Module, outputs: int) -> nn.Module:
    """The classifier with `outputs` classes, uninitialised: the upload's tensors fill it."""
    if isinstance(layer, nn.Linear):
        return skip_init(nn.Linear, layer.in_features, outputs, bias=layer.bias is not None)
    if isinstance(layer, nn.Conv2d):  # SqueezeNet's classifier is a 1x1 convolution
        return skip_init(nn.Conv2d, layer.in_channels, outputs, layer.kernel_size, layer.stride, layer.padding,
                         bias=layer.bias is not None)
    raise WeightsError(Text("weights.head", kind=type(layer).__name__))


def apply_state_dict(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """Load strictly, but say in a sentence how a checkpoint fails to fit: names, then shapes, then
    number types (integers or exotic floats where the network has float32), then values (NaN, or
    infinities — also those a float64 1e300 becomes in float32). Names and shapes come first, so
    no value is read of a tensor the network could not take."""
    own = model.state_dict()
    missing, unexpected = [key for key in own if key not in state], [key for key in state if key not in own]
    if missing or unexpected:
        raise WeightsError(Text("weights.keys", name=name, missing=len(missing), unexpected=len(unexpected),
                                example=_short((missing or unexpected)[0])))
    wrong = next((key for key, tensor in state.items() if tensor.shape != own[key].shape), None)
    if wrong is not None:
        raise WeightsError(Text("weights.shapes", name=name))
    for key, tensor in state.items():
        if own[key].is_floating_point():
            if tensor.dtype not in LOADABLE_FLOATS:
                raise WeightsError(Text("weights.dtype", name=name, entry=_short(key),
                                        dtype=str(tensor.dtype)))
            if not torch.isfinite(tensor.to(own[key].dtype)).all():
                raise WeightsError(Text("weights.not_finite", name=name, entry=_short(key)))
    model.load_state_dict(state, strict=True)


LOADABLE_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def load_into(spec: ModelSpec, model: nn.Module, path: Path, safetensors: bool | None = None) -> None:
    """Read the checkpoint at path, rename it if it was saved under another library's names, check
    it and load it into model (after a refusal, start again from a fresh model)."""
    apply_state_dict(model, _adapted(spec, model, read_state_dict(path, safetensors), path), spec.name)


Progress = Callable[[float], None]  # the share of a network's parameters initialised so far


def random_model(spec: ModelSpec, on_progress: Progress | None = None) -> nn.Module:
    """The builder's own initialisation under a per-network seed: the same on every run.
    `on_progress` hears the share of parameters drawn so far (an exception it raises, such as a
    closed tab's stop, ends the build and frees what it had allocated)."""
    if on_progress is None:
        with rng.seeded(seed_for(spec.key)):
            return spec.build()
    total, drawn = max(1, sum(p.numel() for p in meta_model(spec.key).parameters())), [0]

    def on_draw(tensor: torch.Tensor) -> None:
        drawn[0] += tensor.numel()
        on_progress(min(1.0, drawn[0] / total))

    with rng.seeded(seed_for(spec.key), on_draw):
        return spec.build()


def load(spec: ModelSpec, on_progress: Progress | None = None, trained: bool = True
         ) -> tuple[nn.Module, WeightsStatus]:
    """The network in eval mode on the CPU, with the best weights found locally (with `trained`
    False, its seeded random initialisation even where weights are here); `on_progress` as for
    `random_model`."""
    model = random_model(spec, on_progress)
    seeded_init = f"seeded random init (seed {seed_for(spec.key)})"
    path = find_checkpoint(spec) if trained else None
    status = WeightsStatus(False, "", seeded_init)
    if path is not None:
        try:
            load_into(spec, model, path)
            status = WeightsStatus(True, spec.weights.name, str(path))
        except WeightsError as error:
            model = random_model(spec, on_progress)
            status = WeightsStatus(False, "", seeded_init, warning=Text("weights.fallback", path=path, error=error))
    if spec.finalize:
        spec.finalize(model)
    return model.eval(), status


def why_random(spec: ModelSpec, status: WeightsStatus) -> Text | None:
    """Why spec runs untrained (None if it does not), in one sentence: a refused checkpoint, none
    ever published, or none on this machine (and why none was downloaded, if one was tried)."""
    if status.pretrained:
        return None
    if status.warning is not None:
        return status.warning
    if spec.weights is None:
        return Text("weights.why.unpublished", name=spec.name)
    if spec.weights.url is None:
        return Text("weights.package_missing", name=spec.name)
    failure = offline_reason(spec)
    if failure is not None:
        return Text("weights.why.not_fetched", name=spec.name, file=spec.weights.filename, reason=failure)
    return Text("weights.why.not_found", name=spec.name, file=spec.weights.filename)


def _adapted(spec: ModelSpec, model: nn.Module, state: dict, path: Path) -> dict:
    """A checkpoint saved under another library's names, renamed for our network."""
    if spec.weights.adapt is None:
        return state
    try:
        return spec.weights.adapt(model, state)
    except ValueError as error:
        raise WeightsError(Text("weights.keys_other", file=path.name, name=spec.name, error=error.args[0])) from error


def trained_network(preferred: str = "alexnet") -> str:
    """The preferred network if its weights are on this machine, else the first registered one
    that has weights (on a fresh offline machine EfficientNet-Lite0, whose weights ship with a
    package): what a first visit opens, and what claims about trained networks are measured on."""
    if find_checkpoint(get(preferred)) is not None:
        return preferred
    return next((key for key, spec in REGISTRY.items() if find_checkpoint(spec) is not None), preferred)


FAILED: dict[str, WeightsError] = {}  # url host or file name -> why a download failed; until the server restarts


def first_line(error: BaseException) -> str:
    """An error as one line of a message (its type when it says nothing)."""
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


def download_url(source: WeightsSource) -> str | None:
    """The checkpoint URL, or the same file on a mirror named by EXPLORER_WEIGHTS_MIRROR (None for
    weights that ship with a package)."""
    if source.url is None:
        return None
    mirror = os.environ.get("EXPLORER_WEIGHTS_MIRROR")
    return f"{mirror.rstrip('/')}/{source.filename}" if mirror else source.url


def offline_reason(spec: ModelSpec, automatic: bool = True) -> Text | None:
    """Why a download of spec's weights is not attempted now, if it is not: EXPLORER_OFFLINE=1,
    or (for an automatic one) an earlier failure since the server started."""
    if os.environ.get("EXPLORER_OFFLINE", "") not in ("", "0"):
        return Text("weights.offline")
    url = download_url(spec.weights) if spec.weights and automatic else None
    if url is None:
        return None
    failure = FAILED.get(urllib.parse.urlsplit(url).netloc) or FAILED.get(spec.weights.filename)
    return Text("weights.failed_before", error=failure) if failure else None
