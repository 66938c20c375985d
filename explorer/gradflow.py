"""Residual vs plain: gradients and activations through depth, measured.

All experiments run on private models (built here, or a copy) or restore every bit of
state they touch, so the shared, cached models never change.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from . import backend, i18n, images, inference, rng, zoo
from .architectures.cifar import CifarBlock, cifar_net
from .cache import memoize
from .modelstate import preserved
from .layouts import last_norm
from .taps import Tap, hooked

PAIRS = {  # key -> (residual builder, plain builder, input size); named by `pair_names`
    "cifar20": (lambda: cifar_net(20, True), lambda: cifar_net(20, False), 32),
    "cifar56": (lambda: cifar_net(56, True), lambda: cifar_net(56, False), 32),
    "cifar110": (lambda: cifar_net(110, True), lambda: cifar_net(110, False), 32),
    "18": (zoo.get("resnet18").build, zoo.get("plain18").build, 224),
    "34": (zoo.get("resnet34").build, zoo.get("plain34").build, 224),
}


def pair_names(pair: str) -> tuple[str, str]:
    """(residual, plain) network names of a pair in the active language."""
    if pair.startswith("cifar"):
        depth = int(pair.removeprefix("cifar"))
        return f"CIFAR ResNet-{depth}", i18n.t("gradflow.cifar_plain", depth=depth)
    return zoo.get(f"resnet{pair}").name, zoo.get(f"plain{pair}").name
# Named by texts "gradflow.bn.<key>" and "gradflow.init.<key>".
BN_MODES = ("eval", "train", "none")
INITS = ("default", "zero")


@dataclass(frozen=True)
class FlowConfig:
    pair: str = "34"
    bn: str = "eval"
    init: str = "default"
    seed: int = 0


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (BasicBlock, Bottleneck, CifarBlock))]


def build_twins(config: FlowConfig) -> tuple[nn.Module, nn.Module]:
    """(residual, plain) from the same initial weights for every layer they share: fresh copies
    each call (callers move and train them) of the last two pairs built."""
    return tuple(copy.deepcopy(model) for model in _built_twins(config.pair, config.init, config.seed,
                                                                 config.bn == "none"))


@memoize(most=2)  # both BatchNorm modes of one pair: the lecture's card, a switch on the page
def _built_twins(pair: str, init: str, seed: int, without_batchnorm: bool) -> tuple[nn.Module, nn.Module]:
    residual_builder, plain_builder, _ = PAIRS[pair]
    with rng.seeded(seed):
        residual = residual_builder()
        plain = plain_builder()
    plain.load_state_dict({k: v for k, v in residual.state_dict().items() if k in plain.state_dict()})
    if init == "zero":  # only the residual net has residual branches to silence
        for _, block in _blocks(residual):
            nn.init.zeros_(block.get_submodule(last_norm(block)).weight)
    if without_batchnorm:
        for model in (residual, plain):
            _remove_batchnorm(model)
    return residual.eval(), plain.eval()


def _remove_batchnorm(model: nn.Module) -> None:
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, name, nn.Identity())


def set_bn_mode(model: nn.Module, batch_statistics: bool) -> None:
    """Eval mode everywhere (no dropout), BatchNorm on batch statistics if asked."""
    model.eval()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.train(batch_statistics)


@dataclass(frozen=True)
class Profile:
    points: tuple[str, ...]  # block (or layer) outputs, in forward order
    output_grad: tuple[float, ...]  # ||d score / d output||
    activation_std: tuple[float, ...]
    convs: tuple[str, ...]
    weight_grad: tuple[float, ...]  # ||d score / d W|| per convolution
    target: int

    @property
    def first_conv_grad(self) -> float:
        return self.weight_grad[0]


def measure_points(model: nn.Module, key: str | None = None) -> list[Tap]:
    """Where to measure: residual/plain blocks; for other registered nets their main block,
    module or ReLU outputs."""
    blocks = _blocks(model)
    if blocks:
        return [Tap(name, name, "block") for name, _ in blocks]
    taps = [t for t in zoo.taps(key) if t.parent is None and t.kind in ("block", "concat")] or \
        [t for t in zoo.taps(key) if t.parent is None and t.kind == "relu"]
    return taps


def profile(model: nn.Module, x: Tensor, points: Sequence[Tap], batch_statistics: bool = False,
            target: int | None = None) -> Profile:
    """One forward and one backward of the target logit (summed over the batch)."""
    outputs: dict[str, Tensor] = {}
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]

    def keep(tap: Tap, tensor: Tensor) -> Tensor:
        outputs[tap.name] = tensor
        return tensor.clone()  # later in-place ops must not rewrite the tensor we differentiate

    with preserved(model), hooked(model, points, keep), torch.enable_grad():
        set_bn_mode(model, batch_statistics)
        for parameter in model.parameters():
            parameter.requires_grad_(True)
        logits = model(x)
        chosen = int(logits.mean(0).argmax()) if target is None else target
        names = list(outputs)
        grads = torch.autograd.grad(logits[:, chosen].sum(), [outputs[n] for n in names] +
                                    [m.weight for _, m in convs], allow_unused=True)
    norm = lambda g: 0.0 if g is None else float(g.norm())
    return Profile(tuple(names), tuple(norm(g) for g in grads[:len(names)]),
                   tuple(float(outputs[n].detach().std()) for n in names),
                   tuple(n for n, _ in convs), tuple(norm(g) for g in grads[len(names):]), chosen)


@dataclass(frozen=True)
class SingleFlow:
    profile: Profile
    run: backend.Run


def single_flow(loaded: inference.LoadedModel, image: images.LoadedImage) -> SingleFlow:
    """Gradient flow through a shared network (eval mode, its own weights) for one image."""
    x = images.preprocess(image.image, loaded.spec.preprocess)
    found, run = loaded.run(lambda model, device: profile(model, x.to(device),
                                                           measure_points(model, loaded.spec.key)))
    return SingleFlow(found, run)


@dataclass(frozen=True)
class BlockSplit:
    block: str
    through_shortcut: float  # ||J_shortcut^T g||
    through_residual: float  # ||J_F^T g||
    total: float  # ||dL/dx|| at the block input


def decompose(model: nn.Module, x: Tensor, batch_statistics: bool = False,
              target: int | None = None) -> list[BlockSplit]:
    """For each residual block y = relu(F(x) + s(x)): how much of dL/dx arrives through the
    shortcut s and how much through F, given g = dL/d(F(x) + s(x))."""
    blocks = _blocks(model)
    inputs: dict[str, Tensor] = {}
    residuals: dict[str, Tensor] = {}
    input_taps = [Tap(f"{n}/x", n, "block", io="input") for n, _ in blocks]
    residual_taps = [Tap(f"{n}/F", f"{n}.{last_norm(b)}", "branch")
                     for n, b in blocks]

    def keep(tap: Tap, tensor: Tensor) -> Tensor | None:
        block = tap.name.rsplit("/", 1)[0]
        (inputs if tap.io == "input" else residuals)[block] = tensor
        return None if tap.io == "input" else tensor.clone()

    with preserved(model), hooked(model, input_taps + residual_taps, keep), torch.enable_grad():
        set_bn_mode(model, batch_statistics)
        x = x.detach().requires_grad_(True)
        logits = model(x)
        chosen = int(logits.mean(0).argmax()) if target is None else target
        names = [n for n, _ in blocks]
        sums = torch.autograd.grad(logits[:, chosen].sum(), [residuals[n] for n in names], retain_graph=True)
        splits = []
        for (name, block), g in zip(blocks, sums):
            source = inputs[name]
            through_f, = torch.autograd.grad(residuals[name], source, g, retain_graph=True)
            shortcut = _shortcut(block, source)
            through_s = g if shortcut is source else torch.autograd.grad(shortcut, source, g, retain_graph=True)[0]
            splits.append(BlockSplit(name, float(through_s.norm()), float(through_f.norm()),
                                     float((through_s + through_f).norm())))
    return splits


def _shortcut(block: nn.Module, x: Tensor) -> Tensor:
    if isinstance(block, CifarBlock):
        return block.shortcut(x)
    return block.downsample(x) if block.downsample is not None else x


# ---------------------------------------------------------------- a short training run

def synthetic_dataset(size: int = 2048, seed: int = 0) -> tuple[Tensor, Tensor]:
    """10 classes of 32x32 oriented colour gratings with noise: learnable, but not in one step."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (size,), generator=generator)
    coordinates = torch.stack(torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij"))  # [2,32,32]
    angle = labels.float() * math.pi / 10 + 0.15 * torch.randn(size, generator=generator)
    frequency = 0.35 + 0.1 * torch.rand(size, generator=generator)
    phase = 2 * math.pi * torch.rand(size, generator=generator)
    direction = torch.stack([torch.cos(angle), torch.sin(angle)], 1)  # [N, 2]
    wave = torch.sin(frequency[:, None, None] * torch.einsum("nc,chw->nhw", direction, coordinates)
                     + phase[:, None, None])  # [N, 32, 32]
    tint = torch.stack([torch.cos(labels * 0.7), torch.sin(labels * 1.3), torch.cos(labels * 2.1)], 1)
    images = wave[:, None] * (0.6 + 0.4 * tint[:, :, None, None]) + 0.5 * torch.randn(size, 3, 32, 32,
                                                                                         generator=generator)
    return images, labels


@dataclass(frozen=True)
class TrainStep:
    step: int
    loss: dict[str, float]  # "residual", "plain"
    conv_grad: dict[str, tuple[float, ...]]  # per convolution, in order
    seconds_left: float = 0.0  # at the pace measured so far


def train(config: FlowConfig, steps: int = 300, batch: int = 64, lr: float = 0.05) -> Iterator[TrainStep]:
    """Train the twins side by side from the same init on the same batches (SGD, momentum 0.9,
    weight decay 1e-4 as in the paper; BatchNorm on batch statistics), yielding each step."""
    models = dict(zip(("residual", "plain"), build_twins(config)))
    optimisers = {k: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
                  for k, m in models.items()}
    images, labels = synthetic_dataset(seed=config.seed)
    order = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    for step in range(1, steps + 1):
        index = torch.randint(0, len(labels), (batch,), generator=order)
        losses, grads = {}, {}
        for name, model in models.items():
            set_bn_mode(model, True)  # training always normalises with batch statistics
            loss = nn.functional.cross_entropy(model(images[index]), labels[index])
            optimisers[name].zero_grad(set_to_none=True)
            loss.backward()
            grads[name] = tuple(float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Conv2d))
            optimisers[name].step()
            losses[name] = float(loss.detach())
        pace = (time.perf_counter() - started) / step
        yield TrainStep(step, losses, grads, pace * (steps - step))


def input_size(config: FlowConfig) -> int:
    return PAIRS[config.pair][2]


@dataclass(frozen=True)
class TwinResult:
    config: FlowConfig
    residual: Profile
    plain: Profile
    splits: tuple[BlockSplit, ...]
    run: backend.Run | None = None

    @property
    def first_conv_ratio(self) -> float:
        return self.residual.first_conv_grad / max(self.plain.first_conv_grad, 1e-30)


def twins_on_image(config: FlowConfig, image: images.LoadedImage, crops: int,
                   target: int | None = None) -> TwinResult:
    """`compare_twins` on `crops` augmented crops of an image, at the pair's input size."""
    x = images.augmented_batch(image.image, zoo.get("resnet34").preprocess, crops, size=input_size(config))
    return compare_twins(config, x, target)


def compare_twins(config: FlowConfig, x: Tensor, target: int | None = None,
                  device: torch.device | None = None) -> TwinResult:
    """Both twins on the same batch, the same target (the residual net's prediction by default),
    on `device` (default: the best one) under its lock, on the CPU if it runs out of memory."""
    def work(on: torch.device) -> TwinResult:
        residual, plain = (m.to(on) for m in build_twins(config))
        batch, batch_statistics = x.to(on), config.bn == "train"
        first = profile(residual, batch, measure_points(residual), batch_statistics, target)
        second = profile(plain, batch, measure_points(plain), batch_statistics, first.target)
        return TwinResult(config, first, second, tuple(decompose(residual, batch, batch_statistics, first.target)))

    result, run = backend.run_with_fallback(work, device or backend.choose_device())
    return TwinResult(result.config, result.residual, result.plain, result.splits, run)
