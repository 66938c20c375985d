"""Seconds per attribution method on ResNet-18 and VGG16 (page defaults) on the current device."""
from __future__ import annotations

import torch

from bench.common import Result
from explorer import attribution, backend, images, inference

SAMPLE = "assets/samples/cat.jpg"
TARGETS = {"gradcam": 2.0, "guided_gradcam": 3.0, "saliency": 2.0, "integrated_gradients": 30.0,
           "smoothgrad": 15.0, "occlusion": 60.0}  # seconds on a 2-core CPU


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    image = images.load(open(SAMPLE, "rb").read())
    results = []
    for key in ("resnet18", "vgg16"):
        loaded = inference.load(key, device)
        for method, budget in TARGETS.items():
            outcome = attribution.explain(loaded, image, attribution.Settings(method))
            results.append(Result.at_most(f"attribution_{method} [{key}]", outcome.seconds, "s", budget))
    return results
