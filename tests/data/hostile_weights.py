"""Hostile weight and class files, made in memory for one network (issue 27): each small on disk and
built to make a careless reader allocate, hang or show a traceback. `cases(state)` takes the
network's own state dict; every case names a fragment of the sentence a person must see."""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

import torch
from safetensors.torch import save as safetensors_save


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    data: bytes
    says: str  # a fragment of the refusal's sentence


def _saved(state: dict, **options) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer, **options)
    return buffer.getvalue()


def _zip_bomb(megabytes: int) -> bytes:
    """An archive whose one entry inflates to `megabytes` of zeros (about 1,000× its size)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("archive/data/0", "w", force_zip64=True) as entry:
            block = bytes(2**20)
            for _ in range(megabytes):
                entry.write(block)
    return buffer.getvalue()


def cases(state: dict[str, torch.Tensor], head: str) -> list[Case]:
    """`head`: the classifier's parameter prefix ("fc" for a ResNet)."""
    features = state[f"{head}.weight"].shape[1]
    with_head = lambda weight, bias: {**state, f"{head}.weight": weight, f"{head}.bias": bias}
    return [
        # a stride-0 head of 4 million classes: 16 GB once "resized" and copied
        Case("stride0_head", "head.pth", _saved(with_head(torch.zeros(1).expand(4_000_000, features),
                                                          torch.zeros(1).expand(4_000_000))),
             "claims more values than the file stores"),
        # one extra stride-0 tensor of 10^10 values: 40 GB for torch.isfinite
        Case("stride0_extra", "extra.pth", _saved({**state, "extra": torch.zeros(1).expand(10**10)}),
             "claims more values than the file stores"),
        Case("overlapping", "overlap.pth",
             _saved({**state, "extra": torch.zeros(200_000).as_strided((10**5, 10**5), (1, 1))}),
             "claims more values than the file stores"),
        Case("zip_bomb", "bomb.pth", _zip_bomb(400), "more than torch.save writes"),
        Case("legacy_pickle", "old.pth", _saved(state, _use_new_zipfile_serialization=False),
             "not a torch.save archive"),
        Case("huge_header", "header.safetensors", struct.pack("<Q", 10**12) + b"{}", "safetensors header"),
        Case("float64_overflow", "big.pth", _saved({**state, f"{head}.weight": torch.full_like(
            state[f"{head}.weight"], 1e300, dtype=torch.float64)}), "NaN or infinite"),
        Case("float8", "f8.pth", _saved({**state, f"{head}.weight": state[f"{head}.weight"].to(torch.float8_e4m3fn)}),
             "float8_e4m3fn"),
        Case("sparse_coo", "coo.pth", _saved({**state, f"{head}.bias": state[f"{head}.bias"].to_sparse()}),
             "not an ordinary one"),
        Case("sparse_csr", "csr.pth", _saved({**state, f"{head}.weight": state[f"{head}.weight"].to_sparse_csr()}),
             "not an ordinary one"),
        Case("meta", "meta.pth", _saved({**state, f"{head}.bias": torch.empty(state[f"{head}.bias"].shape,
                                                                             device="meta")}),
             "not an ordinary one"),
        Case("long_key", "key.safetensors", safetensors_save({**state, "k" * 2_000_000: torch.zeros(1)}),
             "characters"),
    ]
