"""Feature visualisation: one optimisation step vs a forward and backward pass of the same network
at the same size (the step's own cost: parameterisation, random transforms, Adam); 128 steps of one
ResNet-18 layer3 channel at 128 px (≤ 20 s on 2 CPU cores); and four pictures of a deep layer of the
network a first visit opens, as the page makes them (≤ 30 s)."""
from __future__ import annotations

import torch

from bench.common import Result, seconds
from explorer import backend, featurevis, inference

SIZE, STEPS = 128, 128
DEEP = ("efficientnet_lite0", "stage5.2", 4)  # network, tap, pictures


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    loaded = inference.load("resnet18", device)
    tap = featurevis.tap_of("resnet18", "layer3.1")
    x = torch.rand(1, 3, SIZE, SIZE, device=device)

    def forward_backward():
        def work(model, on):
            image = x.to(on).requires_grad_(True)
            torch.autograd.grad(model(image)[0].sum(), image)
        loaded.run(work)

    visualise = lambda steps: featurevis.visualise(loaded, tap, [7], featurevis.Settings(steps=steps, size=SIZE))
    full = seconds(lambda: visualise(STEPS), repeats=3)
    per_step = (full - seconds(lambda: visualise(0), repeats=3)) / STEPS  # the set-up and final measure aside
    key, name, pictures = DEEP
    deep = inference.load(key, device)
    deep_s = seconds(lambda: featurevis.visualise(deep, featurevis.tap_of(key, name), list(range(pictures)),
                                                  featurevis.Settings(steps=STEPS, size=SIZE)), repeats=1)
    return [Result.at_most(f"featurevis_step/forward_backward [resnet18 layer3.1, {SIZE} px]",
                           per_step / seconds(forward_backward), "ratio", 2.0),
            Result.at_most(f"featurevis_{STEPS}_steps [resnet18 layer3.1, {SIZE} px]", full, "s", 20.0),
            Result.at_most(f"featurevis_{STEPS}_steps [{key} {name}, {pictures} pictures, {SIZE} px]", deep_s, "s", 30.0)]
