"""Delete one block at a time: the lecture's "a residual network chooses which layers work".

Veit, Wilber & Belongie ("Residual Networks Behave Like Ensembles of Relatively Shallow Networks",
NeurIPS 2016, Fig. 3) deleted single blocks of a trained ResNet (a block's output replaced by its
input, y = x, as if the residual branch returned zero) and the error barely moved; deleting a layer
of a trained VGG left it at chance. Here the same lesion runs live on a trained network with
identity shortcuts (EfficientNet-Lite0's inverted residuals on a machine without downloads): does
the trained network still name the same class? The plain half stays the paper's: on the random
ResNet-34 / Plain-34 twins, deleting one block moved neither twin's logits much (cosine 0.77–1.0
for both), so random weights cannot decide it.

Only a block whose output has its input's shape can be deleted: the first block of a stage (a
projection shortcut, a stride) cannot, in either twin.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.models._efficientnet_blocks import DepthwiseSeparableConv, InvertedResidual
from torch import Tensor, nn
from torchvision.models.mobilenetv2 import InvertedResidual as TorchvisionInvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck

from . import images, inference, samples
from .backend import Run
from .hooks import Hooks

# torchvision's and timm's blocks (EfficientNet-Lite0's are timm's); a plain twin's subclass BasicBlock
BLOCKS = (BasicBlock, Bottleneck, TorchvisionInvertedResidual, DepthwiseSeparableConv, InvertedResidual)


@dataclass(frozen=True)
class Lesion:
    """One block deleted, measured on a batch of images against the intact network."""
    block: str
    top1_kept: int  # images whose top-1 class is still the intact network's
    images: int
    similarity: float  # mean cosine similarity of the lesioned logits to the intact ones


def deletable_blocks(model: nn.Module, x: Tensor) -> list[str]:
    """The blocks (residual, inverted-residual, or a plain twin's) whose output has the shape of
    their input, in forward order, found in one pass on `x`."""
    shapes: dict[str, bool] = {}

    def keep_shapes(name: str):
        def hook(_module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:  # None: output kept
            shapes.setdefault(name, inputs[0].shape == output.shape)
        return hook

    with Hooks() as hooks, torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, BLOCKS):
                hooks.after(module, keep_shapes(name))
        model(x)
    return [name for name, same in shapes.items() if same]


def delete_each(model: nn.Module, x: Tensor, blocks: list[str] | None = None) -> list[Lesion]:
    """For each deletable block in turn, the network's logits on `x` with that block's output
    replaced by its input (y = x), against the intact network's. `model` is left as it was."""
    blocks = deletable_blocks(model, x) if blocks is None else blocks
    with torch.no_grad():
        intact = model(x)
        found = []
        for name in blocks:
            with Hooks() as hooks:
                hooks.after(model.get_submodule(name), lambda _m, inputs, _output: inputs[0])
                lesioned = model(x)
            found.append(Lesion(name, int((lesioned.argmax(1) == intact.argmax(1)).sum()), len(x),
                                float(nn.functional.cosine_similarity(lesioned, intact, dim=1).mean())))
    return found


@dataclass(frozen=True)
class Study:
    """Every deletable block of one network deleted in turn, on the bundled sample photos."""
    key: str
    lesions: tuple[Lesion, ...]
    run: Run

    @property
    def kept_share(self) -> float:
        """Of every (block deleted, photo) pair, the share whose top-1 class stayed the intact one's."""
        return sum(lesion.top1_kept for lesion in self.lesions) / max(1, sum(lesion.images for lesion in self.lesions))

    @property
    def worst(self) -> Lesion:
        return min(self.lesions, key=lambda lesion: (lesion.top1_kept, lesion.similarity))


def on_samples(loaded: inference.LoadedModel) -> Study:
    """`delete_each` on every sample photo as the network sees it (one batch), through the shared
    model's `run` (the hooks are its own while they are on)."""
    x = torch.cat([images.preprocess(images.load(path.read_bytes()).image, loaded.spec.preprocess)
                   for path in samples.every_path()])
    found, run = loaded.run(lambda model, device: delete_each(model, x.to(device)))
    return Study(loaded.spec.key, tuple(found), run)
