"""GoogLeNet as in Szegedy et al. (2014), Table 1, on torchvision's skeleton.

torchvision's GoogLeNet adds BatchNorm to every convolution and uses a 3x3 kernel in
the branch the paper calls 5x5 (torchvision issue #906). This build restores the
paper's 5x5 kernels and plain biased convolutions + ReLU, without auxiliary heads.
The paper's LRN layers have no parameters and are left out, as torchvision does.
"""
from torch import nn
from torchvision.models.googlenet import GoogLeNet, Inception, InceptionAux


class ConvReLU(nn.Module):
    """The paper's convolution: biased, followed by ReLU, no normalisation."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=True, **kwargs)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.conv(x))


class PaperInception(Inception):
    """torchvision's module with ConvReLU units and the paper's 5x5 kernel (padding 2)."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, conv_block=None):
        super().__init__(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, ConvReLU)
        self.branch3[1] = ConvReLU(ch5x5red, ch5x5, kernel_size=5, padding=2)


def googlenet_paper() -> GoogLeNet:
    model = GoogLeNet(aux_logits=False, transform_input=False, init_weights=False,
                      blocks=[ConvReLU, PaperInception, InceptionAux])
    for module in model.modules():  # the paper's Gaussian-like init; no BN to keep scales sane
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model
