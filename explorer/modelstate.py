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


@contextmanager
def preserved(model: nn.Module, buffers: bool = True) -> Iterator[nn.Module]:
    """Restore modes, in-place flags, requires_grad, parameter gradients, buffers (BatchNorm
    running statistics) and hooks of every submodule when the block ends. Work that never
    runs the model in train mode may skip the buffers (`buffers=False`), which are the costly part."""
    modules = list(model.modules())
    modes = [m.training for m in modules]
    inplace = {m: m.inplace for m in modules if isinstance(getattr(m, "inplace", None), bool)}
    hooks = {(index, name): dict(table) for index, m in enumerate(modules) for name in _HOOK_DICTS
             if (table := m.__dict__.get(name))}  # only the few modules that have hooks
    parameters = list(model.parameters())
    flags = [p.requires_grad for p in parameters]
    grads = [p.grad for p in parameters]
    saved_buffers = [(b, b.detach().clone()) for b in model.buffers() if buffers and b.device.type != "meta"]
    try:
        yield model
    finally:
        for index, (module, mode) in enumerate(zip(modules, modes)):  # set only what changed: this is per request
            if module.training != mode:
                module.training = mode
            for name in _HOOK_DICTS:
                table = module.__dict__.get(name)
                saved = hooks.get((index, name), {})
                if table is not None and table.keys() != saved.keys():
                    table.clear()
                    table.update(saved)
        for module, value in inplace.items():
            module.inplace = value
        for parameter, flag, grad in zip(parameters, flags, grads):
            if parameter.requires_grad != flag:
                parameter.requires_grad_(flag)
            if parameter.grad is not grad:
                parameter.grad = grad
        with torch.no_grad():
            for buffer, saved in saved_buffers:
                buffer.copy_(saved)


def hook_count(model: nn.Module) -> int:
    """Hooks on the model's modules: zero on a shared model between two pieces of work."""
    return sum(len(getattr(m, name)) for m in model.modules() for name in _HOOK_DICTS[:4] if hasattr(m, name))
