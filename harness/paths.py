"""Where things are: the repository, the sample photos, what tests leave for a person to look at."""
from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from explorer.samples import DIRECTORY as SAMPLES

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots, server logs, texts to compare
PAGES = sorted(str(page.relative_to(ROOT)) for page in (ROOT / "pages").glob("*.py"))  # every page file

__all__ = ["ARTIFACTS", "PAGES", "ROOT", "SAMPLES", "encoded"]


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    """The image as the bytes of a file in `fmt` (Pillow's format name and save options)."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()
