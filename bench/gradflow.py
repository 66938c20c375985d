"""One gradient-flow analysis of the 34-layer residual/plain pair (both backward passes and
the residual decomposition) on a batch of 4 crops, vs a bare forward of the same batch."""
from __future__ import annotations

import torch

from bench.common import Result, seconds
from explorer import backend, gradflow, images, zoo

SAMPLE = "assets/samples/cat.jpg"


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    image = images.load(open(SAMPLE, "rb").read())
    x = images.augmented_batch(image.image, zoo.get("resnet34").preprocess, 4).to(device)
    config = gradflow.FlowConfig(pair="34", bn="eval")
    residual, plain = (m.to(device) for m in gradflow.build_twins(config))

    def bare():
        with torch.no_grad():
            residual(x).cpu()
            plain(x).cpu()

    analysis = seconds(lambda: gradflow.compare_twins(config, x), repeats=3)
    return [Result.at_most("gradient_flow_pair_34 [4 crops]", analysis, "s", 15.0),
            Result.at_most("gradient_flow_pair_34/forward_pair", analysis / seconds(bare, repeats=3), "ratio", 8.0)]
