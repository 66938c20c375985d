"""A loaded network and one analysis of one image: what every page starts from."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from . import backend, images, weights, zoo
from .taps import Record, Tap, capture


@dataclass
class LoadedModel:
    spec: zoo.ModelSpec
    model: nn.Module  # shared between sessions: only touched under `lock`
    status: weights.WeightsStatus
    device: torch.device
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, device: torch.device) -> nn.Module:
        """The shared model, or a private copy on another device (the out-of-memory fallback)."""
        return self.model if device == self.device else copy.deepcopy(self.model).to(device)


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

    def work(device: torch.device) -> Record:
        return capture(loaded.on(device), x.to(device), chosen, grads=grads, target=target)

    with loaded.lock:
        record, run = backend.run_with_fallback(work, loaded.device)
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
