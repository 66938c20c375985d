"""Activations page: capture overhead, grid rendering, bytes sent per page view."""
from __future__ import annotations

import torch

from bench.common import Result, interleaved_medians, seconds
from explorer import backend, figures, images, inference, weights, zoo
from explorer.taps import capture

NETWORKS = ("alexnet", "vgg16", "resnet50", "googlenet")
SAMPLE = "assets/samples/cat.jpg"


def capture_overhead(device: torch.device, repeats: int = 5) -> list[Result]:
    """Capturing every tap on the shared model, through `LoadedModel.run` as the pages do, vs a
    bare forward pass of the same input on a private copy (median of interleaved runs)."""
    image = images.load(open(SAMPLE, "rb").read())
    results = []
    for key in NETWORKS:
        loaded = inference.load(key, device)
        private = weights.load(loaded.spec)[0].to(device)
        x = images.preprocess(image.image, loaded.spec.preprocess).to(device)
        taps = zoo.taps(key)

        def bare():
            with torch.no_grad():
                private(x)[0].cpu()  # the same sync to the CPU that capture makes

        captured = lambda: loaded.run(lambda model, on: capture(model, x.to(on), taps))
        medians = interleaved_medians({"bare": bare, "capture": captured}, repeats)
        results.append(Result.at_most(f"capture_all_taps/forward [{key}]",
                                      medians["capture"] / medians["bare"], "ratio", 1.3))
    return results


def grid_render(device: torch.device) -> list[Result]:
    """Rendering a 512-channel tap from a cached record: ranking, grid, PNG."""
    image = images.load(open(SAMPLE, "rb").read())
    record = inference.analyse(inference.load("vgg16", device), image).record
    maps = record.outputs["conv5_3"]
    render = lambda: figures.png_bytes(figures.channel_grid(maps, list(range(maps.shape[0]))))
    return [Result.at_most("grid_render_512_channels [vgg16 conv5_3]", seconds(render), "s", 0.15)]


def run(device: torch.device | None = None) -> list[Result]:
    device = device or backend.choose_device()
    return capture_overhead(device) + grid_render(device)
