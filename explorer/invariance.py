"""Translation invariance: how much a network's features change when the image shifts by k pixels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from . import attribution, backend, images, inference, zoo
from .taps import Tap, hooked

SHIFTS = tuple(range(0, 33, 4))


@dataclass(frozen=True)
class Shift:
    pixels: int
    pooled: float  # cosine similarity of globally average-pooled features to the unshifted ones
    flattened: float  # ... of the flattened maps before pooling


@dataclass(frozen=True)
class ShiftProbe:
    key: str  # the network measured
    tap: str
    shifts: tuple[Shift, ...]
    run: backend.Run


def resize_for_shifts(width: int, height: int, pre: zoo.Preprocess, widest: int) -> int:
    """The shorter-side size to resize to: the network's own, or a little more when the resized
    image would be narrower than the crop plus the largest shift (square and portrait images)."""
    size = pre.resize
    while (size if width <= height else int(size * width / height)) < pre.crop + widest:
        size += 1
    return size


def shifted_batch(image, pre: zoo.Preprocess, shifts: Sequence[int]) -> torch.Tensor:
    """[len(shifts), 3, crop, crop]: crops of the image, resized as the network does, whose
    window moves right by k pixels each; every window lies inside the image."""
    image = images.limit_aspect(image)
    widest = max(shifts)
    size = resize_for_shifts(*image.size, pre, widest)
    resized = TF.pil_to_tensor(TF.resize(image, [size], interpolation=InterpolationMode(pre.interpolation),
                                         antialias=True))
    height, width = resized.shape[1:]
    top = (height - pre.crop) // 2
    left = min(max(0, (width - pre.crop - widest) // 2), width - pre.crop - widest)
    crops = torch.stack([resized[:, top:top + pre.crop, left + k:left + k + pre.crop] for k in shifts])
    return TF.normalize(TF.to_dtype(crops, torch.float32, scale=True), list(pre.mean), list(pre.std))


def probe(loaded: inference.LoadedModel, image: images.LoadedImage, tap: Tap,
          shifts: Sequence[int] = SHIFTS) -> ShiftProbe:
    """Cosine similarity of the tap's features for shifted crops against the first crop."""
    x = shifted_batch(image.image, loaded.spec.preprocess, shifts)

    def work(model: nn.Module, device: torch.device) -> torch.Tensor:
        found = {}

        def keep(_tap, tensor) -> None:
            found["maps"] = tensor.detach().float().cpu()

        with hooked(model, [tap], keep), torch.no_grad():
            model.eval()
            model(x.to(device))
        return found["maps"]  # [N, C, H, W]

    maps, run = loaded.run(work)
    pooled, flattened = maps.mean((2, 3)), maps.flatten(1)
    cosine = lambda v: torch.nn.functional.cosine_similarity(v, v[:1].expand_as(v), dim=1)
    return ShiftProbe(loaded.spec.key, tap.name,
                      tuple(Shift(k, float(p), float(f)) for k, p, f in zip(shifts, cosine(pooled), cosine(flattened))),
                      run)


def probe_default_tap(loaded: inference.LoadedModel, image: images.LoadedImage) -> ShiftProbe:
    """`probe` at the network's last spatial block, the tap Grad-CAM explains by default."""
    key = loaded.spec.key
    return probe(loaded, image, next(tap for tap in zoo.taps(key) if tap.name == attribution.default_tap(key)))
