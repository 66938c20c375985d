"""Taps: the layers a person talks about, and capture of their outputs in one pass.

A tap names a layer the way the papers do (conv1, pool5, conv5_3, inception_3a/3x3,
layer2.1/residual) and points at the torch module whose output (or, for a residual
block's identity shortcut, whose input) it is; each network's taps are laid out in
layouts.py. `capture` runs one forward pass (and optionally one backward) with hooks that
are always removed again.
"""
from __future__ import annotations

import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterator, Mapping, Sequence

import torch
from torch import Tensor, nn

from .hooks import Hooks
from .modelstate import preserved

KINDS = ("conv", "relu", "norm", "pool", "fc", "block", "branch", "concat", "output")


@dataclass(frozen=True)
class Tap:
    name: str
    module: str  # dotted path for model.get_submodule
    kind: str
    parent: str | None = None  # the tap this one is a part of (branches, residual parts)
    io: str = "output"  # "input" taps read what flows into the module (identity shortcuts)


@contextmanager
def hooked(model: nn.Module, taps: Sequence[Tap],
           on_tensor: Callable[[Tap, Tensor], Tensor | None]) -> Iterator[None]:
    """Call on_tensor(tap, tensor) for every tap during forward passes inside the block;
    a tensor it returns replaces a module's output downstream.

    Hooks are removed on exit, exceptions included, so a shared model never keeps them.
    """
    def pre_hook(tap: Tap):
        def hook(_module, args):
            on_tensor(tap, args[0])  # inputs are never replaced
        return hook

    def post_hook(tap: Tap):
        def hook(_module, _args, output):
            replacement = on_tensor(tap, _first_tensor(output))
            return replacement if isinstance(output, Tensor) else None
        return hook

    with Hooks() as hooks:
        for tap in taps:
            module = model.get_submodule(tap.module)
            if tap.io == "input":
                hooks.before(module, pre_hook(tap))
            else:
                hooks.after(module, post_hook(tap))
        yield


def _first_tensor(output) -> Tensor:
    return output if isinstance(output, Tensor) else output[0]


@dataclass(frozen=True)
class Record:
    """What one pass saw: per-tap outputs (and gradients) on the CPU, logits, timing."""
    outputs: Mapping[str, Tensor]
    grads: Mapping[str, Tensor]
    logits: Tensor  # [1000], CPU
    target: int | None  # the class whose score was backpropagated
    seconds: float
    device: str

    @property
    def nbytes(self) -> int:
        tensors = list(self.outputs.values()) + list(self.grads.values()) + [self.logits]
        return sum(t.numel() * t.element_size() for t in tensors)


def _cpu_copy(tensor: Tensor) -> Tensor:
    # A copy, taken now: torchvision's ReLU(inplace=True) and `out += identity` would
    # otherwise rewrite a conv or bn output after the hook has seen it.
    return tensor.detach().to("cpu", copy=True)


def _keepable(tensor: Tensor) -> bool:
    """A CPU tensor that owns its whole storage can be kept as it is, not copied: copying every
    tap was half of what capturing ResNet-50 added to its pass. A view into a larger buffer (a
    channel split, a batch) is copied, so a record never holds more than it counts."""
    return tensor.device.type == "cpu" and tensor.untyped_storage().nbytes() == tensor.numel() * tensor.element_size()


# Per network, the taps whose tensor a later op rewrites in place (a ResNet block's bn3 output
# before `out += identity`): found by the tensor's version counter after a pass, then copied.
_rewritten: weakref.WeakKeyDictionary[nn.Module, set[str]] = weakref.WeakKeyDictionary()


class OverBudget(Exception):
    """Raised by `capture` as soon as what it has kept passes `most_bytes`."""


def capture(model: nn.Module, x: Tensor, taps: Sequence[Tap], grads: bool = False,
            target: int | None = None, most_bytes: int | None = None) -> Record:
    """One forward pass of x ([1, 3, H, W]) recording every tap; with grads, one backward
    pass of the target logit (default: the predicted class) recording d(logit)/d(tap).
    With most_bytes, OverBudget stops the pass once the tensors kept pass it, so a request
    for too much never holds more than that.

    The model is left as it was (`preserved`), and its parameters' .grad are never written:
    the backward pass asks autograd for the gradient of the input only; tap gradients arrive
    through tensor hooks.
    """
    rewritten = _rewritten.setdefault(model, set())
    record, changed = _capture(model, x, taps, grads, target, most_bytes, rewritten)
    if changed:  # a tensor kept as it was has been rewritten since: learn it, and capture again
        rewritten.update(changed)
        record, _ = _capture(model, x, taps, grads, target, most_bytes, rewritten)
    return record


def _capture(model: nn.Module, x: Tensor, taps: Sequence[Tap], grads: bool, target: int | None,
             most_bytes: int | None, rewritten: set[str]) -> tuple[Record, set[str]]:
    """One pass of `capture`; also the taps kept uncopied whose tensor was rewritten in place."""
    outputs: dict[str, Tensor] = {}
    tap_grads: dict[str, Tensor] = {}
    uncopied: list[tuple[str, Tensor, int]] = []
    # An identity shortcut sees the very tensor the previous block's tap saw: keep it once.
    # A weak reference proves it is the same live tensor (a freed one's address can be
    # reused), without keeping a copied original alive, which would cost fresh allocations.
    copies: dict[int, tuple[weakref.ref, int, Tensor]] = {}
    kept = 0

    def counted(copy: Tensor) -> Tensor:
        nonlocal kept
        kept += copy.numel() * copy.element_size()
        if most_bytes is not None and kept > most_bytes:
            raise OverBudget
        return copy

    def keep(tap: Tap, tensor: Tensor) -> Tensor | None:
        if tap.name in outputs:
            raise RuntimeError(f"tap {tap.name} ({tap.module}) fired twice in one pass")
        seen = copies.get(id(tensor))
        if seen and seen[0]() is tensor and seen[1] == tensor._version:
            outputs[tap.name] = seen[2]
        elif tap.name not in rewritten and _keepable(tensor):
            outputs[tap.name] = counted(tensor.detach()[0])
            uncopied.append((tap.name, tensor, tensor._version))
            copies[id(tensor)] = (weakref.ref(tensor), tensor._version, outputs[tap.name])
        else:
            outputs[tap.name] = counted(_cpu_copy(tensor[0]))
            copies[id(tensor)] = (weakref.ref(tensor), tensor._version, outputs[tap.name])
        if not (grads and tensor.requires_grad):
            return None
        tensor.register_hook(lambda g, name=tap.name: tap_grads.__setitem__(name, counted(_cpu_copy(g[0]))))
        # Downstream gets a clone: an in-place ReLU on the tensor itself would make its
        # hook receive the gradient after the ReLU instead of at this tap.
        return tensor.clone() if tap.io == "output" else None

    start = time.perf_counter()
    with preserved(model, buffers=False), hooked(model, taps, keep), torch.set_grad_enabled(grads):  # eval only
        model.eval()
        if grads:
            x = x.detach().requires_grad_(True)
        logits = model(x)[0]
        chosen = int(logits.argmax()) if target is None else target
        if grads:
            torch.autograd.grad(logits[chosen], x)
    record = Record(outputs=MappingProxyType(outputs), grads=MappingProxyType(tap_grads),
                    logits=_cpu_copy(logits), target=chosen if grads else None,
                    seconds=time.perf_counter() - start, device=str(x.device))
    return record, {name for name, tensor, version in uncopied if tensor._version != version}
