"""AlexNet exactly as in Krizhevsky, Sutskever & Hinton (2012).

torchvision's AlexNet follows the later "one weird trick" variant (64/192/384/256/256
kernels, no LRN, no groups). This one keeps the paper's two-GPU layout: conv2, conv4
and conv5 only see the kernel maps of their own GPU, i.e. groups=2.
"""
from torch import nn

# The paper normalises by (k + alpha * sum(a^2))^beta with alpha=1e-4 over n=5 maps;
# nn.LocalResponseNorm divides alpha by n, so it needs n * 1e-4.
LRN_SIZE, LRN_ALPHA, LRN_BETA, LRN_K = 5, 5 * 1e-4, 0.75, 2.0


def paper_lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(LRN_SIZE, alpha=LRN_ALPHA, beta=LRN_BETA, k=LRN_K)


class AlexNet2012(nn.Module):
    """227x227x3 -> 1000 logits; 60,965,224 parameters."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),  # 96x55x55
            nn.ReLU(inplace=True),
            paper_lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # overlapping pool -> 96x27x27
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),  # 256x27x27
            nn.ReLU(inplace=True),
            paper_lrn(),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256x13x13
            nn.Conv2d(256, 384, kernel_size=3, padding=1),  # conv3 sees both GPUs
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 256x6x6 = 9216
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
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


def init_like_paper(model: nn.Module) -> None:
    """Zero-mean Gaussian weights with std 0.01 and zero biases (Section 5 of the paper).

    The paper sets some biases to 1 to feed ReLUs positive inputs; with untrained
    weights that only shifts every map, so zero keeps random activations readable.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, mean=0.0, std=0.01)
            nn.init.zeros_(module.bias)
