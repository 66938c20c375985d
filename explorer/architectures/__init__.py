"""Networks that torchvision and timm do not provide, built from their papers."""
