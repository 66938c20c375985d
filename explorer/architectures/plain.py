"""ResNets with every shortcut removed: the "plain" networks of He et al. (2015), Table 2.

Layers, widths and initialisation are torchvision's; the only difference is that a
block returns relu(F(x)) instead of relu(F(x) + x), so the projection shortcuts that
torchvision would build for the first block of a stage are never created.
"""
from torch import Tensor
from torchvision.models.resnet import BasicBlock, ResNet


class PlainBasicBlock(BasicBlock):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.downsample = None  # a plain net has no shortcut to project

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))


def plain18() -> ResNet:
    return ResNet(PlainBasicBlock, [2, 2, 2, 2])


def plain34() -> ResNet:
    return ResNet(PlainBasicBlock, [3, 4, 6, 3])
