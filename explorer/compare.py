"""Several networks side by side: one table, stage-aligned taps, latency (the closing claims are in claims.py)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TypeVar

import torch

from . import backend, costs, inference, weights, zoo
from .i18n import t

MOST_NETWORKS = 8  # side by side on one page
PRESETS = {  # named by texts "compare.preset.<key>"
    "lecture": ["alexnet", "zfnet", "vgg16", "googlenet", "resnet50"],
    "efficient": ["alexnet", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_large", "shufflenet_v2_x1_0"],
    "resnet_depths": ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"],
    "vgg_depths": ["vgg11", "vgg13", "vgg16", "vgg19"],
    "alexnet_zfnet": ["alexnet2012", "zfnet"],
}
CUSTOM = "custom"  # what the preset box reads when the chosen networks are no preset's


T = TypeVar("T")
MOST_SIDE_BY_SIDE = 5  # networks' top-5 columns one table holds at 1366 px


def balanced_groups(items: Sequence[T], most: int) -> list[list[T]]:
    """`items` in order, in as few groups of at most `most` as there can be, their sizes within one
    of each other (8 at most 5 → 4 + 4, not 5 + 3)."""
    count = -(-len(items) // most)
    return [list(items[i * len(items) // count:(i + 1) * len(items) // count]) for i in range(count)]


def preset_of(keys: Sequence[str]) -> str:
    """The preset these networks are, in this order, else CUSTOM."""
    return next((name for name, networks in PRESETS.items() if list(keys) == networks), CUSTOM)


STAGES = {"first_conv": None, "1/4": 4, "1/8": 8, "1/16": 16, "1/32": 32}  # label -> cumulative stride


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    params: int
    macs: int
    depth: int
    input_size: tuple[int, int, int]
    file_mb: float
    peak_activation_mb: float
    top1: float | None
    top5: float | None
    protocol: str  # how top1/top5 were measured (zoo.PROTOCOLS)
    weights: str

    def as_dict(self, latencies: Sequence[Latency] = ()) -> dict:
        """Keyed like the table's columns, which pages head with texts "column.<key>"; a number not
        known (no top-5 published, latency not measured) is NaN, which a table shows empty."""
        known = lambda value: float("nan") if value is None else value
        measured = dict(zip(LATENCY_BATCHES, latencies))
        milliseconds = {f"latency{batch}": measured[batch].seconds * 1000 if batch in measured else float("nan")
                        for batch in LATENCY_BATCHES}
        largest = max(LATENCY_BATCHES)
        return {"network": self.name, "params": self.params, "macs": self.macs, "depth": self.depth,
                "input": "×".join(map(str, self.input_size)), "file_mb": self.file_mb,
                "peak_mb": self.peak_activation_mb, "top1": known(self.top1), "top5": known(self.top5),
                "protocol": t(f"zoo.protocol.{self.protocol}"), "weights": self.weights, **milliseconds,
                "images_per_s": largest / measured[largest].seconds if largest in measured else float("nan")}


def row(key: str, like_with_like: bool = True) -> Row:
    """Everything the table says about one network, from the costs module and the registry; its
    accuracy like with like (zoo.ModelSpec.accuracy) unless asked otherwise."""
    spec, total = zoo.get(key), costs.summary(key)
    weights_label = weights.checkpoint_label(spec)
    top1, top5, protocol = spec.accuracy(like_with_like)
    return Row(key, spec.name, total.params, total.macs, total.depth, spec.input_size,
               costs.file_bytes(key) / 2**20, costs.peak_activation_bytes(key) / 2**20, top1, top5, protocol,
               weights_label)


@dataclass(frozen=True)
class Latency:
    seconds: float  # median of the timed passes
    run: backend.Run  # where they ran: the model's device, or the CPU after running out of memory


def _timed(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x).cpu()
    return time.perf_counter() - start


def latency(loaded: inference.LoadedModel, batch: int, repeats: int = 3) -> Latency:
    """Median seconds of a forward pass of `batch` images on the model's device."""
    def work(model: torch.nn.Module, device: torch.device) -> float:
        x = torch.zeros(batch, *loaded.spec.input_size, device=device)
        with torch.no_grad():
            model.eval()
            model(x[:1])  # warm-up: first calls allocate and pick kernels
            return statistics.median(_timed(model, x) for _ in range(repeats))

    seconds, run = loaded.run(work)
    return Latency(seconds, run)


LATENCY_BATCHES = (1, 16)


def latencies(keys: Sequence[str], load: Callable[[str], inference.LoadedModel]
              ) -> Iterator[tuple[str, tuple[Latency, ...]]]:
    """(network, its latency at each of LATENCY_BATCHES), one network at a time, so a caller can
    show progress and stop between networks keeping those measured."""
    for key in keys:
        loaded = load(key)
        yield key, tuple(latency(loaded, batch) for batch in LATENCY_BATCHES)


def tap_shape(key: str, tap: str) -> str:
    """A tap's output shape as the papers write it ("96×55×55")."""
    return "×".join(map(str, costs.summary(key).tap(tap).shape))


def alexnet_beside_zfnet(keys: Sequence[str]) -> str | None:
    """The AlexNet build to set beside ZFNet when both are chosen (the 2012 paper's if chosen)."""
    if "zfnet" not in keys:
        return None
    return next((key for key in ("alexnet2012", "alexnet") if key in keys), None)


def zfnet_changes(alexnet: str) -> dict[str, str]:
    """The shapes that show ZFNet's three changes to AlexNet (texts "compare.zfnet_changes")."""
    return {"alex_conv1": tap_shape(alexnet, "conv1"), "zf_conv1": tap_shape("zfnet", "conv1"),
            "alex_pool2": tap_shape(alexnet, "pool2"), "zf_pool2": tap_shape("zfnet", "pool2"),
            **{tap: tap_shape("zfnet_wide", tap) for tap in ("conv3", "conv4", "conv5")}}


def latency_images(repeats: int = 3) -> int:
    """Images `latency` pushes through one network for every batch size the page measures."""
    return sum(1 + repeats * batch for batch in LATENCY_BATCHES)  # a one-image warm-up, then the repeats


def probe(loaded: inference.LoadedModel) -> tuple[float, ...]:
    """A warm pass at each of LATENCY_BATCHES, the yardstick of the estimate: the faster of two,
    as a batch size's first pass (kernels picked for its shapes) takes up to 2.7× longer here.
    Each batch is timed, not scaled from one image: here a batch of 16 runs at 0.3× a single
    image's pace per image (ShuffleNet) to 1.4× (ResNet-50), so no one ratio would do."""
    def work(model: torch.nn.Module, device: torch.device) -> tuple[float, ...]:
        x = torch.zeros(max(LATENCY_BATCHES), *loaded.spec.input_size, device=device)
        with torch.no_grad():
            model.eval()
            return tuple(min(_timed(model, x[:batch]) for _ in range(2)) for batch in LATENCY_BATCHES)

    return loaded.run(work)[0]


def estimated_latency_seconds(probes: Sequence[tuple[float, ...]], repeats: int = 3) -> float:
    """Before measuring: what `latencies` will take for networks with these probes — per batch
    size a one-image warm-up (at the single image's pace) and `repeats` timed passes."""
    return sum(seconds[0] + repeats * batch_seconds for seconds in probes for batch_seconds in seconds)


def stage_taps(key: str) -> dict[str, str]:
    """A tap per resolution stage: the first convolution, then the last main tap whose units
    are 4, 8, 16, 32 input pixels apart — comparable depths across networks."""
    main = costs.spatial_taps(key)
    found = {"first_conv": main[0].name}
    for label, stride in STAGES.items():
        at_stride = [t.name for t in main if t.jump == stride]
        if stride and at_stride:
            found[label] = at_stride[-1]
    return found
