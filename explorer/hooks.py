"""Forward hooks on a model for the length of a `with` block, always taken off (exceptions
included, a registration that failed halfway too), so a shared model never keeps one; and the
stack of the modules running now, which the costs and the graph both follow.

Example:
    >>> import torch, torchvision
    >>> model = torchvision.models.resnet18()
    >>> with Hooks() as hooks:
    ...     running = hooks.running(model, lambda path, _module: path.count(".") == 1)
    ...     hooks.after(model.layer1[0].conv1, lambda *_: seen.append(list(running)))
    ...     seen = []
    ...     _ = model(torch.zeros(1, 3, 64, 64))
    >>> seen, len(model.layer1[0].conv1._forward_hooks)
    ([['layer1.0']], 0)
"""
from __future__ import annotations

from typing import Callable

from torch import nn
from torch.utils.hooks import RemovableHandle


class Hooks:
    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []

    def before(self, module: nn.Module, hook: Callable) -> None:
        """hook(module, args) before each forward of `module`."""
        self._handles.append(module.register_forward_pre_hook(hook))

    def after(self, module: nn.Module, hook: Callable, always_call: bool = False) -> None:
        """hook(module, args, output) after each forward of `module` (a value it returns replaces
        the output); with `always_call`, also when the forward raised."""
        self._handles.append(module.register_forward_hook(hook, always_call=always_call))

    def running(self, model: nn.Module, include: Callable[[str, nn.Module], bool] = lambda _path, _module: True
                ) -> list[str]:
        """A list that holds, during a forward pass, the paths of the `include`d modules of `model`
        that are running, outermost first (the whole model is ""). Hooks registered after this
        call see a module on the stack in their `before` and already gone in their `after`."""
        stack: list[str] = []

        def leave(path: str) -> Callable:
            def hook(*_) -> None:  # None: a forward hook's value would replace the output
                if stack and stack[-1] == path:  # entered (a forward that failed early may not have)
                    stack.pop()
            return hook

        for path, module in model.named_modules():
            if include(path, module):
                self.before(module, lambda *_, entered=path: stack.append(entered))
                self.after(module, leave(path), always_call=True)
        return stack

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *_) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
