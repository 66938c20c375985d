"""Torch's process-wide random generator, which every session on the server shares.

Builders (torchvision's, timm's, ours) initialise their layers from the global generator, and
some captum methods draw their noise from it. A network without published weights is its
builder's initialisation under a fixed seed, identical for every visitor only if nothing else
draws from the generator while it is built. So the rule is: every draw from the global
generator happens inside `seeded`, and code that needs a layer's shape but not its
initialisation builds it with `torch.nn.utils.skip_init` or on the meta device.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import torch

_GLOBAL = threading.Lock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw from the global generator under `seed`, alone, and leave the caller's generator as
    it was. Serialised: two threads drawing at once would interleave their draws.

    Example::

        with rng.seeded(42):
            model = torchvision.models.resnet18()  # the same weights on every run, in every thread
    """
    with _GLOBAL, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
