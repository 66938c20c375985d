"""Feature visualisation: an image optimised to excite one channel (a unit, a layer, a class).

The recipe of Olah, Mordvintsev and Schubert, "Feature Visualization" (Distill, 2017): the image
is parameterised in a decorrelated space — its Fourier coefficients, scaled by 1/frequency so that
no frequency is favoured, and colours decorrelated with the square root of natural images' colour
covariance (measured on the bundled sample photos) — squashed into [0, 1] by a sigmoid, and
jittered, scaled and rotated at random before every step, so that the optimiser cannot excite
the channel with high-frequency patterns that only work pixel-exactly. Without these
(`regularise=False`) the same optimisation gives the adversarial noise the article starts from.

Every step runs the network only up to the tap (a hook stops the pass there; at a ReLU the
objective is read at its input, so a channel that starts at zero still has a gradient), on the shared
model through `LoadedModel.run`, one step at a time: its lock (so other sessions' work on the same
network goes between two steps), its state restored, hooks removed, the CPU if the accelerator
runs out of memory. The parameters are frozen for each step and never get a .grad. A run whose
step or whole is more work than the server's limits (EXPLORER_MAX_STEP_GMACS,
EXPLORER_MAX_RUN_TMACS) is refused before it starts: a closed tab stops a run between steps.
Seeded: the same request gives the same picture.

Example:
    >>> from explorer import featurevis, inference, zoo
    >>> loaded = inference.load("resnet18")
    >>> tap = next(t for t in zoo.taps("resnet18") if t.name == "layer3.1")
    >>> result = featurevis.visualise(loaded, tap, [7], featurevis.Settings(steps=64, size=96))[0]
    >>> result.activation_end > result.activation_start
    True
"""
from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from . import backend, costs, images, inference, samples, zoo
from .cache import memoize
from .i18n import Text
from .taps import Tap, hooked

OBJECTIVES = ("channel", "unit", "layer", "class")  # texts "features.objective.<name>"
STEP_CHOICES = (16, 32, 64, 128, 256, 512)
SIZE_CHOICES = (64, 96, 128, 160, 224)  # pixels
DEFAULT_CHANNELS, MOST_CHANNELS = 4, 8  # optimised together, as one batch
LEARNING_RATE = 0.05  # Adam, as in the article's code
FOURIER_SCALE = 0.01  # standard deviation of the initial coefficients
PAD, JITTER = 8, 4  # pixels: padding before, and largest shift of, each step's random transform
SCALES = (0.97, 1.03)  # range of each step's random scale
DEGREES = 5.0  # largest random rotation


@dataclass(frozen=True)
class Settings:
    """What is optimised, how long and at what size; hashable (a cache key)."""
    objective: str = "channel"
    steps: int = 128
    size: int = 128  # pixels, square
    seed: int = 0
    regularise: bool = True  # the decorrelated parameterisation and the random transforms


@dataclass(frozen=True)
class Visualisation:
    channel: int  # the channel (or class) optimised
    image: np.ndarray  # size × size × 3, uint8
    activation_start: float  # the objective on the starting image, untransformed
    activation_end: float  # the objective on the result, untransformed
    curve: tuple[float, ...]  # the objective at every step (on the transformed image)
    seconds: float
    step_seconds: tuple[float, ...]  # each optimisation step's, waits for the model included
    run: backend.Run | None = None


class _Reached(Exception):
    """Raised by the tap's hook: nothing after the tap is needed."""


@memoize
def colour_sqrt() -> Tensor:
    """The square root of the RGB covariance of the sample photos, scaled so that its largest
    column has unit norm: maps decorrelated colours to correlated ones, as natural images are."""
    pixels = []
    for path in samples.every_path():
        with open(path, "rb") as file:
            picture = images.load(file.read(), path.name).image
        pixels.append(torch.from_numpy(np.asarray(picture.convert("RGB"), np.float64).reshape(-1, 3) / 255))
    values, vectors = torch.linalg.eigh(torch.cov(torch.cat(pixels).T))
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    return (root / root.norm(dim=0).max()).float()


def _frequency_scale(size: int) -> Tensor:
    """1 / frequency for each coefficient of an rfft2 of a size × size image (the DC term kept)."""
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    return 1.0 / torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / size) * size


class _Parameterisation(nn.Module):
    """A batch of images from free parameters: Fourier coefficients in decorrelated colour space
    (regularised) or raw pixels, each squashed into [0, 1] by a sigmoid."""

    def __init__(self, count: int, size: int, regularise: bool, seeds: Sequence[int],
                 start: Tensor | None = None) -> None:
        super().__init__()
        self.size, self.regularise = size, regularise
        self.register_buffer("scale", _frequency_scale(size))
        self.register_buffer("colours", colour_sqrt())
        shape = (3, size, size // 2 + 1, 2) if regularise else (3, size, size)  # coefficients or pixels
        noise = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(seed)) for seed in seeds])
        self.values = nn.Parameter(noise * (FOURIER_SCALE if regularise else 0.1))
        if start is not None:  # begin from a picture (DeepDream): invert the parameterisation
            with torch.no_grad():
                self.values.copy_(self._inverse(start.expand(count, -1, -1, -1)))

    def _inverse(self, picture: Tensor) -> Tensor:
        logits = torch.logit(picture.clamp(0.01, 0.99))
        if not self.regularise:
            return logits
        decorrelated = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(self.colours), logits)
        spectrum = torch.fft.rfft2(decorrelated * 4) / self.scale
        return torch.view_as_real(spectrum)

    def forward(self) -> Tensor:
        if not self.regularise:
            return torch.sigmoid(self.values)
        spectrum = torch.view_as_complex(self.values) * self.scale
        decorrelated = torch.fft.irfft2(spectrum, s=(self.size, self.size)) / 4
        return torch.sigmoid(torch.einsum("ij,bjhw->bihw", self.colours, decorrelated))


def _random_transforms(batch: Tensor, generators: Sequence[torch.Generator]) -> Tensor:
    """Each image padded, then shifted, scaled and rotated at random by its own generator
    (so that an image's path does not depend on the others in the batch)."""
    count, _, size, _ = batch.shape
    padded = nn.functional.pad(batch, (PAD,) * 4, mode="reflect")
    thetas = []
    for generator in generators:
        draw = torch.rand(4, generator=generator)
        scale = SCALES[0] + (SCALES[1] - SCALES[0]) * float(draw[0])
        angle = math.radians(DEGREES * (2 * float(draw[1]) - 1))
        shift = (2 * draw[2:] - 1) * JITTER * 2 / size  # pixels of the padded image, in the grid's units
        cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
        thetas.append([[cos, -sin, float(shift[0])], [sin, cos, float(shift[1])]])
    theta = torch.tensor(thetas, dtype=batch.dtype, device=batch.device)
    grid = nn.functional.affine_grid(theta, [count, 3, size, size], align_corners=False)
    return nn.functional.grid_sample(padded, grid * size / (size + 2 * PAD), padding_mode="reflection",
                                     align_corners=False)


def _objective(settings: Settings, channels: Sequence[int]) -> Callable[[Tensor], Tensor]:
    """Per image of the batch: the value to maximise, from the tap's output (logits for a class)."""
    index = torch.as_tensor(list(channels))

    def value(output: Tensor) -> Tensor:
        if settings.objective == "layer":
            return output.pow(2).flatten(1).mean(1)
        if settings.objective == "class":
            return output[torch.arange(len(channels)), index]
        picked = output[torch.arange(len(channels)), index]  # [B, H, W]
        if settings.objective == "unit":
            return picked[:, picked.shape[1] // 2, picked.shape[2] // 2]
        return picked.flatten(1).mean(1)
    return value


def _forward_to(model: nn.Module, tap: Tap | None, x: Tensor) -> Tensor:
    """The tap's output for x, computing nothing after it (the logits when tap is None)."""
    if tap is None:
        return model(x)
    reached: list[Tensor] = []

    def stop(_tap: Tap, tensor: Tensor) -> None:
        reached.append(tensor)
        raise _Reached

    with hooked(model, [tap], stop):
        try:
            model(x)
        except _Reached:
            pass
    if not reached:
        raise ValueError(f"tap {tap.name} ({tap.module}) did not fire")
    return reached[0]


def _optimised_at(model: nn.Module, tap: Tap | None) -> Tap | None:
    """Where the optimiser reads the objective: a rectifier's input rather than its output, whose
    gradient is zero wherever the starting image leaves the channel at zero (a dead start); the
    results are still measured at the tap itself."""
    if tap is not None and tap.io == "output" and isinstance(model.get_submodule(tap.module), (nn.ReLU, nn.ReLU6)):
        return dataclasses.replace(tap, io="input")
    return tap


def visualise(loaded: inference.LoadedModel, tap: Tap | None, channels: Sequence[int], settings: Settings,
              start: images.LoadedImage | None = None,
              on_step: Callable[[int, int], None] | None = None) -> list[Visualisation]:
    """One optimised image per channel of `tap` (per class for the "class" objective; the tap is
    then ignored), optimised together as one batch; `start` begins from a picture instead of
    noise (for the "layer" objective, DeepDream). on_step(step, steps) reports progress."""
    if settings.objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    if tap is None and settings.objective != "class":
        raise ValueError("only the class objective needs no tap")
    target = None if settings.objective == "class" else tap
    objective = _objective(settings, channels)
    seeds = [settings.seed * 1_000_003 + channel for channel in channels]
    pre = loaded.spec.preprocess
    initial = None
    if start is not None:
        initial = torch.from_numpy(images.input_views(start.image, pre).cropped).permute(2, 0, 1)[None].float() / 255
        initial = nn.functional.interpolate(initial, size=(settings.size, settings.size), mode="bilinear",
                                            antialias=True, align_corners=False)

    picture: _Parameterisation | None = None
    optimiser: torch.optim.Optimizer | None = None
    generators = [torch.Generator().manual_seed(seed + 1) for seed in seeds]

    def frozen(model: nn.Module) -> None:  # per slice: LoadedModel.run restores the model after each
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)

    def measure(model: nn.Module, device: torch.device) -> tuple[Tensor, Tensor]:
        nonlocal picture, optimiser
        frozen(model)
        if picture is None:
            picture = _Parameterisation(len(channels), settings.size, settings.regularise, seeds, initial)
            optimiser = torch.optim.Adam(picture.parameters(), lr=LEARNING_RATE)
        _move(picture, optimiser, device)
        with torch.no_grad():
            current = picture()
            return objective(_forward_to(model, target, _normalised(current, pre))).detach().cpu(), current.cpu()

    def step(model: nn.Module, device: torch.device) -> Tensor:
        frozen(model)
        _move(picture, optimiser, device)
        batch = picture()
        if settings.regularise:
            batch = _random_transforms(batch, generators)
        values = objective(_forward_to(model, _optimised_at(model, target), _normalised(batch, pre)))
        optimiser.zero_grad(set_to_none=True)
        (-values.sum()).backward()
        optimiser.step()
        return values.detach().cpu()

    # One slice per step, each through LoadedModel.run: between steps the model's (fair) lock lets
    # other sessions' work through, and the caller's on_step runs outside it (where a closed tab stops).
    began = time.perf_counter()
    (first, _), run = loaded.run(measure)
    curve, step_seconds, fell_back = [], [], run.fell_back
    for number in range(1, settings.steps + 1):
        stepped = time.perf_counter()
        values, run = loaded.run(step)
        step_seconds.append(time.perf_counter() - stepped)
        fell_back = fell_back or run.fell_back
        curve.append(values)
        if on_step is not None:
            on_step(number, settings.steps)
    (last, final_images), run = loaded.run(measure)
    seconds = time.perf_counter() - began
    run = dataclasses.replace(run, seconds=seconds, fell_back=fell_back or run.fell_back)
    pixels = (final_images.permute(0, 2, 3, 1).numpy() * 255).round().clip(0, 255).astype(np.uint8)
    history = torch.stack(curve, 1) if curve else torch.zeros(len(channels), 0)
    return [Visualisation(channel, pixels[i], float(first[i]), float(last[i]), tuple(float(v) for v in history[i]),
                          seconds, tuple(step_seconds), run)
            for i, channel in enumerate(channels)]


def _normalised(batch: Tensor, pre: "zoo.Preprocess") -> Tensor:
    mean = torch.tensor(pre.mean, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=batch.device).view(1, 3, 1, 1)
    return (batch - mean) / std


def _move(picture: nn.Module, optimiser: torch.optim.Optimizer, device: torch.device) -> None:
    """The picture and Adam's moments onto the device a slice runs on: a slice after an
    out-of-memory fallback runs on the CPU."""
    picture.to(device)
    for state in optimiser.state.values():
        for name, value in state.items():
            if isinstance(value, Tensor) and value.device != device and name != "step":
                state[name] = value.to(device)


PROBE_STEPS = 3
# What one run may ask, in multiply-adds (forward and backward: 3x the network's forward MACs, scaled
# by pictures and size), not in measured seconds: the same answer for every visitor, however busy
# the server is. Here 200 G is about 2 s a step (so a closed tab stops a run at once) and 60 T about
# ten minutes; VGG16, four 160-pixel pictures: 95 G a step, 0.9 s.
MAX_STEP_GMACS = float(os.environ.get("EXPLORER_MAX_STEP_GMACS", 200))
MAX_RUN_TMACS = float(os.environ.get("EXPLORER_MAX_RUN_TMACS", 60))


def step_macs(key: str, count: int, size: int) -> float:
    """Multiply-adds of one step for `count` pictures of `size` pixels: a forward and a backward
    pass (about twice the forward) of the whole network, an upper bound for a tap part-way."""
    side = zoo.get(key).input_size[-1]
    return 3 * count * (size / side) ** 2 * costs.summary(key).macs


def refusal(key: str, count: int, settings: Settings) -> Text | None:
    """Why a run is refused (too much a step, too much in all), None if it is not."""
    per_step = step_macs(key, count, settings.size)
    if per_step > MAX_STEP_GMACS * 1e9:
        return Text("features.step_too_long", gmacs=per_step / 1e9, most=MAX_STEP_GMACS)
    if per_step * settings.steps > MAX_RUN_TMACS * 1e12:
        return Text("features.run_too_long", tmacs=per_step * settings.steps / 1e12, most=MAX_RUN_TMACS)
    return None


@dataclass(frozen=True)
class Estimate:
    """What a run will take here, from a short measured one: its fixed part (the first and last
    measurements) and one step (the median of the probe's steps)."""
    fixed: float
    per_step: float

    def seconds(self, steps: int) -> float:
        return self.fixed + steps * self.per_step


def estimate(loaded: inference.LoadedModel, tap: Tap | None, count: int, settings: Settings) -> Estimate:
    """Measured by a run of PROBE_STEPS steps with `count` channels at the settings' size."""
    probe = Settings(settings.objective, PROBE_STEPS, settings.size, settings.seed, settings.regularise)
    measured = visualise(loaded, tap, list(range(count)), probe)[0]
    return Estimate(measured.seconds - sum(measured.step_seconds), statistics.median(measured.step_seconds))


def natural_means(loaded: inference.LoadedModel, tap: Tap) -> Tensor:
    """Each channel's mean activation at `tap` over the bundled sample photos (the yardstick for
    how strongly an optimised image excites it), as a [C] tensor."""
    pictures = []
    for path in samples.every_path():
        with open(path, "rb") as file:
            pictures.append(images.preprocess(images.load(file.read(), path.name).image, loaded.spec.preprocess))
    batch = torch.cat(pictures)

    def work(model: nn.Module, device: torch.device) -> Tensor:
        model.eval()
        with torch.no_grad():
            output = _forward_to(model, tap, batch.to(device))
        return output.flatten(2).mean(2).mean(0).cpu() if output.dim() == 4 else output.mean(0).cpu()

    return loaded.run(work)[0]


def high_frequency_share(image: np.ndarray) -> float:
    """The share of an image's spectral energy (mean removed, grey levels) above half the Nyquist
    frequency: low for smooth, natural-looking pictures, high for pixel noise."""
    grey = torch.from_numpy(image.astype(np.float64).mean(axis=2))
    power = torch.fft.fft2(grey - grey.mean()).abs() ** 2
    fy = torch.fft.fftfreq(grey.shape[0])[:, None]
    fx = torch.fft.fftfreq(grey.shape[1])[None, :]
    high = torch.sqrt(fx ** 2 + fy ** 2) > 0.25
    return float(power[high].sum() / power.sum().clamp_min(1e-12))


def opening_tap(key: str, spatial: Sequence[str]) -> str:
    """The layer the page opens on: three fifths of the way through the network's main spatial
    taps (AlexNet relu3, VGG16 relu4_1, GoogLeNet inception_4b, ResNet-50 layer3.1), where
    pictures show textures and object parts; the first layer's are flat colour fields."""
    main = [tap.name for tap in zoo.taps(key) if tap.parent is None and tap.name in spatial]
    return main[len(main) * 3 // 5] if main else spatial[0]


def tap_of(key: str, name: str) -> Tap | None:
    """The named tap of a network, None for "" (the class objective needs none); ValueError
    naming the taps there are otherwise."""
    if not name:
        return None
    found = {tap.name: tap for tap in zoo.taps(key)}
    if name not in found:
        raise ValueError(f"{key} has no tap {name!r}; its taps: {', '.join(found)}")
    return found[name]
