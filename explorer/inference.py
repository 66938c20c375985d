"""A loaded network and one analysis of one image: what every page starts from."""
from __future__ import annotations

import copy
import hashlib
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

import torch
from torch import nn

from . import backend, costs, i18n, images, weights, zoo
from .hooks import Hooks
from .i18n import Text
from .modelstate import preserved
from .taps import OverBudget, Record, Tap, capture

T = TypeVar("T")


class FairLock:
    """A lock taken in the order it was asked for. Hand-written because `threading.Lock` is not
    fair: a long run that releases it between its steps and asks again at once usually gets it
    back before the thread that was waiting, so another session's short request could wait for
    the whole run instead of one step."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._next_ticket = self._serving = 0

    def __enter__(self) -> "FairLock":
        with self._turn:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turn.wait_for(lambda: self._serving == ticket)
        return self

    def __exit__(self, *_: object) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()

    def locked(self) -> bool:
        return self.queued > 0

    @property
    def queued(self) -> int:
        """Threads holding or waiting for the lock."""
        with self._turn:
            return self._next_ticket - self._serving


@dataclass
class LoadedModel:
    """A network shared by every session. All work on it goes through `run`."""
    spec: zoo.ModelSpec
    model: nn.Module  # touched only inside `run`
    status: weights.WeightsStatus
    device: torch.device
    lock: FairLock = field(default_factory=FairLock)
    classes: tuple[str, ...] | None = None  # an uploaded class list; None: ImageNet's, or numbers
    outputs: int = field(init=False)  # the classifier's outputs, found once: pages ask every run

    def __post_init__(self) -> None:
        self.outputs = weights.output_count(self.model)

    @property
    def nbytes(self) -> int:
        """What the network's tensors hold, as the results cache counts it."""
        return sum(t.numel() * t.element_size() for t in (*self.model.parameters(), *self.model.buffers()))

    @property
    def class_names(self) -> tuple[str, ...]:
        """The names of the network's outputs: the uploaded list, ImageNet's for 1000 outputs (in
        the active language), else "class 0", "class 1", …"""
        if self.classes is not None:
            return self.classes
        return imagenet_names() if self.outputs == 1000 else tuple(f"class {i}" for i in range(self.outputs))

    def run(self, work: Callable[[nn.Module, torch.device], T]) -> tuple[T, backend.Run]:
        """work(model, device) with this model to itself: the model lock, the accelerator lock,
        every bit of the model's state restored afterwards (modes, flags, buffers, hooks), and,
        if the accelerator runs out of memory, the same work on a CPU copy, which the Run says."""
        def on(device: torch.device) -> T:
            model = self.model if device == self.device else copy.deepcopy(self.model).to(device)
            with preserved(model):
                return work(model, device)

        with self.lock:
            return backend.run_with_fallback(on, self.device)


@dataclass(frozen=True)
class Turn:
    """Handed to a long piece of work inside `LoadedModel.run` on `device`: between two of its
    passes, with the model put back as `run` found it, `give_way` lets the sessions queued for the
    model (first come, first served) use it, then takes it back. Sessions waiting only for the
    accelerator are not seen (a plain lock), which matters little: there the passes are short."""
    loaded: LoadedModel
    device: torch.device

    def others_waiting(self) -> bool:
        return self.loaded.lock.queued > 1

    def give_way(self) -> None:
        accelerator = backend.device_lock(self.device)  # taken inside the model lock: let go first, take last
        accelerator.__exit__(None, None, None)
        self.loaded.lock.__exit__()
        self.loaded.lock.__enter__()
        accelerator.__enter__()


def load(key: str, device: torch.device | None = None, on_progress: weights.Progress | None = None,
         trained: bool = True) -> LoadedModel:
    """The shared network for `key` (see `weights.load`), on `device` (default the best here);
    with `trained` False, untrained even where its weights are here (what training changed)."""
    spec = zoo.get(key)
    device = device or backend.choose_device()
    model, status = weights.load(spec, on_progress, trained)
    return LoadedModel(spec, model.to(device), status, device)


def load_user(key: str, data: bytes, file: str, class_data: bytes | None = None, class_file: str = "",
              device: torch.device | None = None) -> LoadedModel:
    """The network with weights a person uploaded (and their class names): read in memory,
    checked, the classifier resized to the file's classes; WeightsError says what is wrong."""
    spec = zoo.get(key)
    digest = hashlib.sha256(data)
    if class_data is not None:  # the names are part of what every cached picture and chart shows
        digest.update(b"\0classes\0" + class_data)
    try:
        classes = weights.read_class_names(class_data, class_file) if class_data is not None else None
        model, status = weights.with_user_weights(spec, weights.read_upload(data, file), file, classes,
                                                  digest.hexdigest())
    except weights.WeightsError:
        raise
    except Exception as error:  # what torch cannot convert or load (float8 into float32 …): a sentence, no traceback
        raise weights.WeightsError(Text("weights.unusable_upload", file=file,
                                        error=weights.first_line(error)[:160])) from error
    device = device or backend.choose_device()
    return LoadedModel(spec, model.to(device), status, device, classes=classes)


# What one analysis may keep: every leaf layer of efficientnet_b7 is 3.3 GB; the largest tap set of a
# registered network, ResNet-152's, 160 MB. A teacher raises it with EXPLORER_MAX_RECORD_MB.
MAX_RECORD_BYTES = int(float(os.environ.get("EXPLORER_MAX_RECORD_MB", 512)) * 2 ** 20)


class TooMuchToRecord(ValueError):
    """An analysis that would keep more activations than MAX_RECORD_BYTES; the message is for people."""


@dataclass(frozen=True)
class Analysis:
    record: Record
    run: backend.Run


def analyse(loaded: LoadedModel, image: images.LoadedImage, taps: Sequence[Tap] | None = None,
            grads: bool = False, target: int | None = None) -> Analysis:
    """One pass of the image through the network, recording the given taps (default all);
    TooMuchToRecord, before more than MAX_RECORD_BYTES is held, if they would not fit."""
    chosen = zoo.taps(loaded.spec.key) if taps is None else taps
    x = images.preprocess(image.image, loaded.spec.preprocess)
    try:
        record, run = loaded.run(lambda model, device: capture(model, x.to(device), chosen, grads=grads, target=target,
                                                               most_bytes=MAX_RECORD_BYTES))
    except OverBudget:
        needed = costs.record_bytes(loaded.spec.key, tuple(chosen)) * (2 if grads else 1)
        raise TooMuchToRecord(str(Text("inference.too_much_to_record", name=loaded.spec.name, taps=len(chosen),
                                       needed=needed / 2 ** 20, limit=MAX_RECORD_BYTES / 2 ** 20))) from None
    return Analysis(record, run)


def _wait_for(device: torch.device) -> None:
    """Until the device has done what was queued (CUDA and MPS run asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def seconds_in(loaded: LoadedModel, kind: type[nn.Module], repeats: int = 5) -> tuple[float, float, backend.Run]:
    """(seconds spent in the modules of `kind`, seconds of the whole forward pass) for one image,
    the medians of `repeats` timed passes after an untimed one: where a network's time goes,
    which a MAC count does not say (LRN, pooling and activations count no MACs)."""
    def work(model: nn.Module, device: torch.device) -> tuple[float, float]:
        x = torch.zeros(1, *loaded.spec.input_size, device=device)
        entered: list[float] = []
        inside: list[float] = [0.0]
        forwards: list[float] = []

        def enter(*_) -> None:
            _wait_for(device)
            entered.append(time.perf_counter())

        def leave(*_) -> None:
            _wait_for(device)
            inside[-1] += time.perf_counter() - entered.pop()

        with Hooks() as hooks, torch.no_grad():
            for module in model.modules():
                if isinstance(module, kind):
                    hooks.before(module, enter)
                    hooks.after(module, leave)
            model.eval()
            model(x)  # untimed: the first pass picks kernels and grows the allocator
            for _ in range(repeats):
                inside.append(0.0)
                start = time.perf_counter()
                model(x)
                _wait_for(device)
                forwards.append(time.perf_counter() - start)
        return statistics.median(inside[1:]), statistics.median(forwards)

    (in_kind, forward), run = loaded.run(work)
    return in_kind, forward, run


def imagenet_names() -> tuple[str, ...]:
    """ImageNet's 1000 class names in the active language (`zoo.imagenet_classes` is torchvision's English)."""
    return i18n.class_names(zoo.imagenet_classes())


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    prob: float


def top_k(logits: torch.Tensor, k: int = 5, classes: Sequence[str] | None = None) -> list[Prediction]:
    """The k most probable classes, named from `classes` (default ImageNet's, in the active language)."""
    probs = torch.softmax(logits.float(), dim=0)
    values, indices = probs.topk(min(k, probs.numel()))
    classes = imagenet_names() if classes is None else classes
    return [Prediction(int(i), classes[int(i)], float(v)) for v, i in zip(values, indices)]
