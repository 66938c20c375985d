"""A loaded network and one analysis of one image: what every page starts from."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeVar

import torch
from torch import nn

from . import backend, images, weights, zoo
from .modelstate import preserved
from .taps import Record, Tap, capture

T = TypeVar("T")


@dataclass
class LoadedModel:
    """A network shared by every session. All work on it goes through `run`."""
    spec: zoo.ModelSpec
    model: nn.Module  # touched only inside `run`
    status: weights.WeightsStatus
    device: torch.device
    lock: threading.Lock = field(default_factory=threading.Lock)

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


def load(key: str, device: torch.device | None = None) -> LoadedModel:
    spec = zoo.get(key)
    device = device or backend.choose_device()
    model, status = weights.load(spec)
    return LoadedModel(spec, model.to(device), status, device)


@dataclass(frozen=True)
class Analysis:
    record: Record
    run: backend.Run


def analyse(loaded: LoadedModel, image: images.LoadedImage, taps: Sequence[Tap] | None = None,
            grads: bool = False, target: int | None = None) -> Analysis:
    """One pass of the image through the network, recording the given taps (default all)."""
    chosen = zoo.taps(loaded.spec.key) if taps is None else taps
    x = images.preprocess(image.image, loaded.spec.preprocess)
    record, run = loaded.run(lambda model, device: capture(model, x.to(device), chosen, grads=grads, target=target))
    return Analysis(record, run)


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    prob: float


def top_k(logits: torch.Tensor, k: int = 5) -> list[Prediction]:
    probs = torch.softmax(logits.float(), dim=0)
    values, indices = probs.topk(k)
    classes = zoo.imagenet_classes()
    return [Prediction(int(i), classes[int(i)], float(v)) for v, i in zip(values, indices)]
