"""ZFNet (Zeiler & Fergus 2013, Fig. 3) and its wider Table 3 variant.

Against AlexNet: conv1 is 7x7 with stride 2 instead of 11x11/4, conv2 has stride 2,
and (in the wider variant) conv3-5 have 512/1024/512 maps. Pooling uses Caffe's
ceil rounding, which gives the paper's 110 -> 55 and 26 -> 13 sizes.
"""
from torch import nn

from .alexnet2012 import init_like_paper, paper_lrn


class ZFNet(nn.Module):
    """224x224x3 -> 1000 logits; 62,357,608 parameters with the default widths."""

    def __init__(self, widths: tuple[int, int, int] = (384, 384, 256), num_classes: int = 1000,
                 dropout: float = 0.5) -> None:
        super().__init__()
        c3, c4, c5 = widths
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1),  # 96x110x110
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 96x55x55
            paper_lrn(),  # the paper's contrast normalisation across feature maps
            nn.Conv2d(96, 256, kernel_size=5, stride=2),  # 256x26x26
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # 256x13x13
            paper_lrn(),
            nn.Conv2d(256, c3, kernel_size=3, padding=1),  # c3x13x13
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),  # c5x6x6
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(c5 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        init_like_paper(self)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.flatten(1))


def zfnet() -> ZFNet:
    return ZFNet()


def zfnet_wide() -> ZFNet:
    return ZFNet(widths=(512, 1024, 512))
