"""Translation invariance: how much a network's features change when the image shifts by k pixels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torchvision.transforms.v2 import functional as TF

from . import images, inference, zoo
from .taps import Tap, hooked


@dataclass(frozen=True)
class Shift:
    pixels: int
    pooled: float  # cosine similarity of globally average-pooled features to the unshifted ones
    flattened: float  # ... of the flattened maps before pooling


def shifted_batch(image, pre: zoo.Preprocess, shifts: Sequence[int]) -> torch.Tensor:
    """[len(shifts), 3, crop, crop]: crops of the resized image moved right by k pixels each."""
    resized = TF.pil_to_tensor(TF.resize(image, [pre.resize], antialias=True))
    top = (resized.shape[1] - pre.crop) // 2
    left = (resized.shape[2] - pre.crop) // 2 - max(shifts) // 2
    crops = torch.stack([resized[:, top:top + pre.crop, left + k:left + k + pre.crop] for k in shifts])
    return TF.normalize(TF.to_dtype(crops, torch.float32, scale=True), list(pre.mean), list(pre.std))


def probe(loaded: inference.LoadedModel, image: images.LoadedImage, tap: Tap,
          shifts: Sequence[int] = tuple(range(0, 33, 4))) -> list[Shift]:
    """Cosine similarity of the tap's features for shifted crops against the first crop."""
    x = shifted_batch(image.image, loaded.spec.preprocess, shifts).to(loaded.device)
    found = {}

    def keep(_tap, tensor) -> None:
        found["maps"] = tensor.detach().float().cpu()

    with loaded.lock, hooked(loaded.model, [tap], keep), torch.no_grad():
        loaded.model.eval()
        loaded.model(x)
    maps = found["maps"]  # [N, C, H, W]
    pooled, flattened = maps.mean((2, 3)), maps.flatten(1)
    cosine = lambda v: torch.nn.functional.cosine_similarity(v, v[:1].expand_as(v), dim=1)
    return [Shift(k, float(p), float(f)) for k, p, f in zip(shifts, cosine(pooled), cosine(flattened))]
