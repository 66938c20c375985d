"""Everything a piece of work may change on a model, put back afterwards.

The shared models serve every session. Work on them flips train/eval modes, switches
in-place ReLUs off (captum), turns gradients on, updates BatchNorm statistics (batch-
statistics experiments) and adds hooks; `preserved` restores all of it on exit, on an
exception or a cancelled run too, so the next user finds the model as it was.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

_HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs")


class Snapshot:
    """Modes, in-place flags, requires_grad, parameter gradients, buffers (BatchNorm running
    statistics) and hooks of every submodule, as they are now; `restore` puts them back, as often
    as asked (a long run hands the model back to other sessions between its passes). Work that
    never runs the model in train mode may skip the buffers (`buffers=False`), the costly part."""

    def __init__(self, model: nn.Module, buffers: bool = True) -> None:
        self._modules = list(model.modules())
        self._modes = [m.training for m in self._modules]
        self._inplace = {m: m.inplace for m in self._modules if isinstance(getattr(m, "inplace", None), bool)}
        self._hooks = {(index, name): dict(table) for index, m in enumerate(self._modules) for name in _HOOK_DICTS
                       if (table := m.__dict__.get(name))}  # only the few modules that have hooks
        self._parameters = list(model.parameters())
        self._flags = [p.requires_grad for p in self._parameters]
        self._grads = [p.grad for p in self._parameters]
        self._buffers = [(b, b.detach().clone()) for b in model.buffers() if buffers and b.device.type != "meta"]

    def restore(self) -> None:
        for index, (module, mode) in enumerate(zip(self._modules, self._modes)):  # set only what changed
            if module.training != mode:
                module.training = mode
            for name in _HOOK_DICTS:
                table = module.__dict__.get(name)
                saved = self._hooks.get((index, name), {})
                if table is not None and table.keys() != saved.keys():
                    table.clear()
                    table.update(saved)
        for module, value in self._inplace.items():
            module.inplace = value
        for parameter, flag, grad in zip(self._parameters, self._flags, self._grads):
            if parameter.requires_grad != flag:
                parameter.requires_grad_(flag)
            if parameter.grad is not grad:
                parameter.grad = grad
        with torch.no_grad():
            for buffer, saved in self._buffers:
                buffer.copy_(saved)


@contextmanager
def preserved(model: nn.Module, buffers: bool = True) -> Iterator[Snapshot]:
    """The model's `Snapshot` restored when the block ends, on an exception or a cancelled run too."""
    snapshot = Snapshot(model, buffers)
    try:
        yield snapshot
    finally:
        snapshot.restore()


def hook_count(model: nn.Module) -> int:
    """Hooks on the model's modules: zero on a shared model between two pieces of work."""
    return sum(len(getattr(m, name)) for m in model.modules() for name in _HOOK_DICTS[:4] if hasattr(m, name))
