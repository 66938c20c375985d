"""Theoretical receptive fields, propagated through every torch function of a forward pass.

Each tensor carries, per spatial axis, its receptive field `rf` (input pixels one unit
sees), `jump` (input pixels between neighbouring units, the cumulative stride) and
`start` (input coordinate of the first unit's centre). Convolutions and pooling apply
the usual layer arithmetic,
    rf' = rf + (k_eff - 1) * jump,   jump' = jump * s,   start' = start + ((k_eff - 1) / 2 - p) * jump;
every other operation passes its inputs' field on, and where tensors meet (a residual
sum, an Inception concatenation) the output takes the largest field: a unit of the
merged map sees the union of what its branches see, and branches are centre-aligned.
The same pass counts weight layers (conv, linear) along the longest path: the depth
the papers quote ("22 layers" for GoogLeNet).
Because it follows the ops actually run, one rule covers chains, residual nets and
Inception modules alike; on the meta device it costs no arithmetic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

CONVOLUTIONS = {"conv2d"}
POOLS = {"max_pool2d", "_max_pool2d", "max_pool2d_with_indices", "avg_pool2d"}
ADAPTIVE_POOLS = {"adaptive_avg_pool2d", "adaptive_max_pool2d", "_adaptive_max_pool2d"}


@dataclass(frozen=True)
class Field:
    rf: tuple[int, int]  # (height, width)
    jump: tuple[int, int]
    start: tuple[float, float]
    depth: int = 0  # weight layers (conv, linear) on the longest path from the input

    @property
    def size(self) -> int:
        """One number for a tap: the larger axis (they differ only inside 1xn / nx1 pairs)."""
        return max(self.rf)


INPUT_FIELD = Field((1, 1), (1, 1), (0.0, 0.0), 0)


def _pair(value, default) -> tuple[int, int]:
    value = default if value is None else value
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[-1])) if len(value) else default


def _window(field: Field, kernel, stride, padding, dilation) -> Field:
    rf, jump, start = [], [], []
    for axis in range(2):
        reach = (kernel[axis] - 1) * dilation[axis] + 1
        rf.append(field.rf[axis] + (reach - 1) * field.jump[axis])
        start.append(field.start[axis] + ((reach - 1) / 2 - padding[axis]) * field.jump[axis])
        jump.append(field.jump[axis] * stride[axis])
    return Field(tuple(rf), tuple(jump), tuple(start), field.depth)


def _argument(args, kwargs, index: int, name: str, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _rule(name: str, args, kwargs, field: Field) -> Field:
    if name == "linear":
        return replace(field, depth=field.depth + 1)
    if name in CONVOLUTIONS:
        weight = _argument(args, kwargs, 1, "weight")
        kernel = tuple(weight.shape[-2:])
        dilation = _pair(_argument(args, kwargs, 5, "dilation"), (1, 1))
        padding = _argument(args, kwargs, 4, "padding", 0)
        if isinstance(padding, str):  # "same" keeps the size, "valid" pads nothing
            padding = tuple((d * (k - 1)) // 2 for k, d in zip(kernel, dilation)) if padding == "same" else (0, 0)
        moved = _window(field, kernel, _pair(_argument(args, kwargs, 3, "stride"), (1, 1)),
                        _pair(padding, (0, 0)), dilation)
        return replace(moved, depth=field.depth + 1)
    if name in POOLS:
        kernel = _pair(_argument(args, kwargs, 1, "kernel_size"), None)
        stride = _pair(_argument(args, kwargs, 2, "stride") or kernel, kernel)
        dilation = _pair(_argument(args, kwargs, 4, "dilation"), (1, 1)) if "max" in name else (1, 1)
        return _window(field, kernel, stride, _pair(_argument(args, kwargs, 3, "padding"), (0, 0)), dilation)
    if name in ADAPTIVE_POOLS:
        size_in = args[0].shape[-2:]
        size_out = _pair(_argument(args, kwargs, 1, "output_size"), None)
        size_out = tuple(i if o is None else o for i, o in zip(size_in, size_out))
        kernel = tuple(math.ceil(i / o) for i, o in zip(size_in, size_out))
        stride = tuple(i // o for i, o in zip(size_in, size_out))
        return _window(field, kernel, stride, (0, 0), (1, 1))
    return field


class ReceptiveFieldMode(TorchFunctionMode):
    """Inside `with`, every tensor made from `source` gets a Field; read it with `field(t)`."""

    def __init__(self, source: torch.Tensor) -> None:
        super().__init__()
        self._fields: dict[int, Field] = {id(source): INPUT_FIELD}
        self._alive = [source]  # ids stay unique only while the tensors live

    def field(self, tensor: torch.Tensor) -> Field | None:
        return self._fields.get(id(tensor))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        known = [self._fields[id(t)] for t in tree_flatten((args, kwargs))[0]
                 if isinstance(t, torch.Tensor) and id(t) in self._fields]
        if not known:
            return result
        widest = max(known, key=lambda f: (f.size, f.jump))
        deepest = max(f.depth for f in known)  # a merge is as deep as its longest branch
        field = _rule(getattr(func, "__name__", ""), args, kwargs, replace(widest, depth=deepest))
        for tensor in tree_flatten(result)[0]:
            if isinstance(tensor, torch.Tensor):
                self._fields[id(tensor)] = field
                self._alive.append(tensor)
        return result
