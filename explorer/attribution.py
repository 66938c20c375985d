"""Why the network said what it said: captum's attribution methods on the shared models.

Each call prepares the model (eval mode, gradients on, in-place ReLUs off: captum's guided
backpropagation and hooks need them out of place), counts the model evaluations captum makes
(progress, and a place where a cancelled run stops), and restores every bit of that state
(`modelstate.preserved`). `explain` does it on a shared network through `LoadedModel.run`; the
long methods let other sessions' work on the network through between their passes.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import numpy as np
import torch
from captum.attr import (GuidedGradCam, IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,
                         Occlusion, Saliency)
from torch import Tensor, nn
from torchvision.transforms.v2 import functional as TF

from . import backend, costs, images, inference, rng, zoo
from .modelstate import preserved
from .zoo import Preprocess

BASELINES = ("black", "blurred", "noise")  # named by texts "attribution.baselines.<key>"
Progress = Callable[[int, int], None]  # (model evaluations done, expected)


@dataclass(frozen=True)
class Settings:
    method: str
    tap: str | None = None  # Grad-CAM layer (a tap name)
    steps: int = 32  # Integrated Gradients
    baseline: str = "black"
    samples: int = 16  # SmoothGrad
    noise: float = 0.15  # SmoothGrad std, relative to the input's range
    window: int = 56  # Occlusion
    stride: int = 28


@dataclass(frozen=True)
class Attribution:
    settings: Settings
    target: int
    heat: np.ndarray  # HxW, >= 0, what is drawn
    raw: Tensor = field(repr=False)  # captum's output (input- or layer-shaped)
    seconds: float = 0.0
    evaluations: int = 0
    run: backend.Run | None = None  # where it ran (explain), None for a bare `attribute`


def default_tap(key: str) -> str:
    """The last spatial tap that is larger than 1x1: Grad-CAM's usual last conv layer."""
    return [t for t in costs.spatial_taps(key) if t.kind != "pool"][-1].name


SMOOTHGRAD_SEED = 0  # the same noise on every run: one map per (network, image, settings)
Runner = Callable[..., Tensor]  # (model, x, settings, target, layer, preprocess) -> captum's attributions


@dataclass(frozen=True)
class Control:
    """A setting a page offers for a method: a field of `Settings`, labelled by the text
    "attribution.<text or field>", drawn as a slider (low, high, step), a choice among `options`
    (named by texts "attribution.<field>s.<option>"), or the layer (kind "tap"). `default` computes
    its start from the values chosen above it; without one it starts at Settings' default."""
    field: str
    kind: str = "slider"
    text: str = ""
    low: float = 0
    high: float = 0
    step: float = 0
    options: tuple[str, ...] = ()
    default: Callable[[dict[str, object]], object] | None = None


@dataclass(frozen=True)
class Method:
    """One attribution method as a row: how captum runs it (`run`), the images its passes push
    through the network and how many go in one pass, its settings, and whether it is slow (tens
    to thousands of passes: run only when asked, after an estimate of its time; between its
    passes other sessions may use the network, as captum adds no hooks of its own there and
    holds no graph through the model). Named by the text "attribution.method.<key>"."""
    run: Runner
    images: Callable[[Settings, int], int] = lambda _settings, _size: 1  # (settings, input size) -> images
    batch: int = 1  # images per captum pass
    extra_passes: int = 0  # passes beside the batched ones (Occlusion's unoccluded image)
    controls: tuple[Control, ...] = ()
    slow: bool = False
    gradients: bool = True  # a pass goes back to the input (Occlusion only runs forward)

    @property
    def needs_layer(self) -> bool:
        return any(control.kind == "tap" for control in self.controls)


def expected_images(settings: Settings, size: int) -> int:
    """How many images captum pushes through the network for one attribution."""
    return TABLE[settings.method].images(settings, size)


def expected_evaluations(settings: Settings, size: int) -> int:
    """How many forward passes captum will make, for progress bars."""
    method = TABLE[settings.method]
    batched = expected_images(settings, size) - method.extra_passes
    return math.ceil(batched / method.batch) + method.extra_passes


def probe(loaded: inference.LoadedModel, method: str) -> float:
    """Seconds per image of one of captum's passes for `method` on this machine: a batch of its
    size (BATCHES) forward and, where gradients flow, back to the input, the mean of two passes
    after an untimed one (a batch shape's first pass picks its kernels and grows the allocator;
    the mean, not the faster, because a run's time is the sum of its passes, slow ones included).
    Timed, not scaled from the page's single-image pass, which was cold and recorded every
    layer: Integrated Gradients on ResNet-50 was promised 275 s and took 28.5 s."""
    batch, gradients = TABLE[method].batch, TABLE[method].gradients

    def work(model: nn.Module, device: torch.device) -> float:
        x = torch.zeros(batch, *loaded.spec.input_size, device=device)

        def one_pass() -> float:
            start = time.perf_counter()
            if not gradients:
                with torch.no_grad():
                    model(x)
            else:
                inputs = x.clone().requires_grad_(True)
                torch.autograd.grad(model(inputs)[:, 0].sum(), inputs)
            return time.perf_counter() - start

        with prepared(model, lambda: None):
            one_pass()
            return (one_pass() + one_pass()) / (2 * batch)

    return loaded.run(work)[0]


def estimated_seconds(settings: Settings, size: int, seconds_per_image: float) -> float:
    """Before running: the images captum will push through, at `probe`'s pace for the method."""
    return expected_images(settings, size) * seconds_per_image


@contextmanager
def prepared(model: nn.Module, on_evaluation: Callable[[], None],
             turn: inference.Turn | None = None) -> Iterator[None]:
    """Eval mode, gradients enabled, in-place ops off, an evaluation counter; all undone on exit.
    With a `turn`, before each pass but the first, sessions waiting for the model get it back as
    it was and then it is prepared again."""
    passes = [0]

    def before_pass(*_: object) -> None:
        on_evaluation()
        passes[0] += 1
        if turn is not None and passes[0] > 1 and turn.others_waiting():
            snapshot.restore()
            turn.give_way()
            prepare()

    def prepare() -> None:
        model.register_forward_pre_hook(before_pass)
        model.eval()
        for module in model.modules():
            if isinstance(getattr(module, "inplace", None), bool):
                module.inplace = False
        model.requires_grad_(True)

    with preserved(model) as snapshot, torch.enable_grad():
        prepare()
        yield


def baseline_for(x: Tensor, kind: str, pre: Preprocess, seed: int = 0) -> Tensor:
    """IG baselines in the network's normalised space."""
    mean = torch.tensor(pre.mean, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=x.device).view(1, 3, 1, 1)
    if kind == "black":
        return ((0 - mean) / std).expand_as(x).clone()
    if kind == "blurred":
        return TF.gaussian_blur(x, kernel_size=[31, 31], sigma=[10.0, 10.0])
    if kind == "noise":
        generator = torch.Generator().manual_seed(seed)
        return (torch.rand(x.shape, generator=generator).to(x.device) - mean) / std
    raise ValueError(f"unknown baseline {kind!r}; choose one of {', '.join(BASELINES)}")


def _heat(raw: Tensor, size: tuple[int, int]) -> np.ndarray:
    """Input-shaped attributions -> |sum over channels|; layer-shaped -> upsampled to the input."""
    values = raw.detach().float()
    if values.shape[-2:] != size:
        values = LayerAttribution.interpolate(values, size, interpolate_mode="bilinear")
    return values[0].sum(0).abs().cpu().numpy()


def attribute(model: nn.Module, x: Tensor, settings: Settings, target: int | None = None,
              on_progress: Progress | None = None, layer: nn.Module | None = None,
              preprocess: Preprocess | None = None, turn: inference.Turn | None = None) -> Attribution:
    """Run one captum method on x ([1, 3, H, W]) for the target class (default: the prediction).
    Grad-CAM needs `layer`; Integrated Gradients' baselines need the network's `preprocess`.
    Hooks and flags are set on the model itself and restored afterwards; for a shared network
    call `explain`, which runs this through the network's lock and out-of-memory fallback, and
    lets other sessions use the network between the passes of the slow methods."""
    size = x.shape[-2:]
    expected = expected_evaluations(settings, size[0]) + 1  # + the prediction pass
    count = [0]

    def evaluation() -> None:
        count[0] += 1
        if on_progress:
            on_progress(min(count[0], expected), expected)  # a rerun (cancel) raises from here

    start = time.perf_counter()
    method = TABLE[settings.method]
    with prepared(model, evaluation, turn if method.slow else None):
        if target is None:
            with torch.no_grad():
                target = int(model(x)[0].argmax())
        raw = method.run(model, x.detach().requires_grad_(True), settings, target, layer, preprocess)
    return Attribution(settings, target, _heat(raw, tuple(size)), raw.detach().cpu(),
                       time.perf_counter() - start, count[0])


def explain(loaded: inference.LoadedModel, image: images.LoadedImage, settings: Settings,
            target: int | None = None, on_progress: Progress | None = None) -> Attribution:
    """`attribute` on a shared network, through its one way of being used (`LoadedModel.run`)."""
    x = images.preprocess(image.image, loaded.spec.preprocess)

    def work(model: nn.Module, device: torch.device) -> Attribution:
        layer = layer_of(model, loaded.spec.key, settings.tap) if TABLE[settings.method].needs_layer else None
        return attribute(model, x.to(device), settings, target, on_progress, layer, loaded.spec.preprocess,
                         inference.Turn(loaded, device))

    result, run = loaded.run(work)
    return replace(result, run=run)


def layer_of(model: nn.Module, key: str, tap: str | None) -> nn.Module:
    """The module behind a tap name (default: the Grad-CAM layer of `default_tap`)."""
    name = tap or default_tap(key)
    return model.get_submodule(next(t for t in zoo.taps(key) if t.name == name).module)


def _gradcam(model, x, _s: Settings, target, layer, _pre) -> Tensor:
    return LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)


def _guided_gradcam(model, x, _s: Settings, target, layer, _pre) -> Tensor:
    return GuidedGradCam(model, layer).attribute(x, target=target)


def _saliency(model, x, _s: Settings, target, _layer, _pre) -> Tensor:
    return Saliency(model).attribute(x, target=target, abs=True)


def _integrated_gradients(model, x, s: Settings, target, _layer, preprocess) -> Tensor:
    baseline = baseline_for(x.detach(), s.baseline, preprocess)
    return IntegratedGradients(model).attribute(x, baselines=baseline, target=target, n_steps=s.steps,
                                                internal_batch_size=TABLE["integrated_gradients"].batch)


def _smoothgrad(model, x, s: Settings, target, _layer, _pre) -> Tensor:
    spread = float(x.detach().max() - x.detach().min()) * s.noise
    with rng.seeded(SMOOTHGRAD_SEED):  # captum draws the noise from the global generator
        return NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=s.samples,
                                                      nt_samples_batch_size=TABLE["smoothgrad"].batch, stdevs=spread,
                                                      target=target)


def _occlusion(model, x, s: Settings, target, _layer, _pre) -> Tensor:
    return Occlusion(model).attribute(x, sliding_window_shapes=(3, s.window, s.window), strides=(3, s.stride, s.stride),
                                      baselines=0.0, target=target, perturbations_per_eval=TABLE["occlusion"].batch)


def _occluded_images(s: Settings, size: int) -> int:
    return len(range(0, size - s.window + 1, s.stride)) ** 2 + 1  # + the unoccluded image


_LAYER = Control("tap", kind="tap", text="layer")
TABLE: dict[str, Method] = {  # in the order the pages offer them
    "gradcam": Method(_gradcam, controls=(_LAYER,)),
    "guided_gradcam": Method(_guided_gradcam, images=lambda _s, _size: 2, controls=(_LAYER,)),
    "saliency": Method(_saliency),
    "integrated_gradients": Method(
        _integrated_gradients, images=lambda s, _size: s.steps, batch=8, slow=True,
        controls=(Control("steps", low=8, high=256, step=8), Control("baseline", kind="choice", options=BASELINES))),
    "smoothgrad": Method(
        _smoothgrad, images=lambda s, _size: s.samples, batch=4, slow=True,
        controls=(Control("samples", low=4, high=64, step=4), Control("noise", low=0.05, high=0.5, step=0.05))),
    "occlusion": Method(
        _occlusion, images=_occluded_images, batch=16, extra_passes=1, slow=True, gradients=False,
        controls=(Control("window", low=8, high=112, step=8),
                  Control("stride", low=4, high=112, step=4, default=lambda chosen: max(4, chosen["window"] // 2)))),
}
METHODS = tuple(TABLE)
SLOW_METHODS = frozenset(key for key, method in TABLE.items() if method.slow)
