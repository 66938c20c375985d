"""Seeded draws that do not depend on what other sessions draw meanwhile.

Builders (torchvision's, timm's, ours) initialise their layers from torch's process-wide
generator, and captum's SmoothGrad draws its noise from it. A network without published
weights is its builder's initialisation under a fixed seed, identical for every visitor only if
nothing else draws from that generator while it is built. One lock around every draw made that
true but serialised unrelated work: building one large network stalled another session's small
one, and SmoothGrad on VGG19 stalled everyone's builds.

So `seeded` gives each caller a private generator instead, with a `TorchFunctionMode` (torch's
own extension point; its mode stack is per thread) that hands that generator to every random
function called without one. A seed gives the same numbers as `torch.manual_seed` on the
global generator would, so weights are what they were, while nothing is shared between threads.
Code that needs a layer's shape but not its initialisation builds it on the meta device.
"""
from __future__ import annotations

import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode

# Every torch function that samples from a generator and takes one as `generator=` (all of them do
# in torch ≥ 2.3). nn.init's are named too: a mode is switched off while the function it was handed
# runs, so the Tensor methods they call inside are not seen again.
_INITIALISERS = tuple(f for name, f in inspect.getmembers(torch.nn.init, inspect.isfunction)
                      if not name.startswith("_") and "generator" in inspect.signature(f).parameters)
RANDOM_FUNCTIONS: frozenset[Callable[..., Any]] = frozenset({*_INITIALISERS,
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.normal, torch.bernoulli, torch.multinomial,
    torch.poisson, torch.rand_like, torch.randn_like, torch.randint_like,
    torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.bernoulli_, torch.Tensor.random_,
    torch.Tensor.exponential_, torch.Tensor.geometric_, torch.Tensor.log_normal_, torch.Tensor.cauchy_,
    torch.Tensor.bernoulli, torch.Tensor.multinomial,
})


class _PrivateGenerator(TorchFunctionMode):
    """Passes `generator` to random functions that were called without one (on this thread only),
    and tells `on_draw` each tensor they filled."""

    def __init__(self, generator: torch.Generator, on_draw: Callable[[torch.Tensor], None] | None) -> None:
        super().__init__()
        self.generator, self.on_draw = generator, on_draw

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func not in RANDOM_FUNCTIONS:
            return func(*args, **kwargs)
        if kwargs.get("generator") is None:
            kwargs["generator"] = self.generator
        drawn = func(*args, **kwargs)
        if self.on_draw is not None and isinstance(drawn, torch.Tensor):
            self.on_draw(drawn)
        return drawn


@contextmanager
def seeded(seed: int, on_draw: Callable[[torch.Tensor], None] | None = None) -> Iterator[torch.Generator]:
    """Within the block, this thread's draws come from a private CPU generator seeded with
    `seed`: the same numbers `torch.manual_seed(seed)` would give, whatever other threads draw
    meanwhile, and the global generator is left untouched. Yields the generator. `on_draw` is
    given every tensor drawn (a builder's progress; an exception it raises stops the block).

    Example::

        with rng.seeded(42):
            model = torchvision.models.resnet18()  # the same weights on every run, in every thread
    """
    generator = torch.Generator().manual_seed(seed)
    with _PrivateGenerator(generator, on_draw):
        yield generator
