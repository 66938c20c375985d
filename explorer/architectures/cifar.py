"""The ResNet paper's CIFAR-10 networks (He et al. 2015, Section 4.2) and their plain twins.

6n+2 layers: a 3x3 conv with 16 filters, three stages of n blocks with 16, 32 and 64
filters (the first block of stages 2 and 3 has stride 2), global average pooling and a
10-way fully connected layer. Shortcuts are the paper's option A: identity, with the
extra channels zero-padded and the map subsampled when the shape changes, so residual
and plain twins have exactly the same parameters.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class CifarBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, residual: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.residual, self.stride, self.extra = residual, stride, out_channels - in_channels

    def shortcut(self, x: Tensor) -> Tensor:
        """Option A: subsample and zero-pad the channels; no parameters."""
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra)) if self.extra else x

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x) if self.residual else out)


class CifarNet(nn.Module):
    def __init__(self, blocks_per_stage: int, residual: bool, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, width = [], 16
        for index, out in enumerate((16, 32, 64)):
            stages.append(nn.Sequential(*[
                CifarBlock(width if i == 0 else out, out, 2 if index > 0 and i == 0 else 1, residual)
                for i in range(blocks_per_stage)]))
            width = out
        self.stage1, self.stage2, self.stage3 = stages
        self.fc = nn.Linear(64, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(x)))  # 16x32x32
        x = self.stage3(self.stage2(self.stage1(x)))  # 64x8x8
        return self.fc(x.mean((2, 3)))


def cifar_net(depth: int, residual: bool) -> CifarNet:
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNets have 6n+2 layers; {depth} is not of that form")
    return CifarNet((depth - 2) // 6, residual)
