"""Decoding and validating uploads, and preparing them the way each network expects."""
from __future__ import annotations

import hashlib
import math
import io
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms.v2 import functional as TF
from torchvision.transforms.v2 import InterpolationMode

from .i18n import Text
from .zoo import Preprocess

MAX_BYTES = 20 * 1024 * 1024  # the image uploader's own limit in the browser (sidebar), checked here too
MAX_PIXELS = 40_000_000  # about 6300 x 6300; larger files are almost always a mistake or a bomb
MAX_ASPECT = 4.0  # beyond this only the central part can reach the centre crop anyway
MAX_KEPT_SIDE = 2048  # a decoded image is kept no larger: networks resize to at most 342 px
UPSCALE_NOTED = 1.5  # a shorter side stretched more than this is said: the network sees a blur
MAX_FRAMES_COUNTED = 64  # a file may declare 170,000 pages; walking them all takes minutes
_DECODING = threading.BoundedSemaphore(2)  # large decodes at once: bounds the memory they take together
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "MPO")


class ImageError(ValueError):
    """An upload that cannot be used; the message is for people."""


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # RGB, upright
    digest: str  # sha256 of the uploaded bytes: the cache key
    format: str
    original_mode: str
    original_size: tuple[int, int]
    notes: tuple[Text, ...] = ()  # rendered in the reader's language


def read_file(path: Path) -> bytes:
    """A file's bytes, read no further than the size limit (a device or a huge file is refused
    after MAX_BYTES + 1 bytes, not read to its end)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise ImageError(Text("images.unopenable", name=path.name, reason=error.strerror or type(error).__name__)) from None
    if len(data) > MAX_BYTES:
        raise ImageError(Text("images.too_large_file", name=path.name, limit=MAX_BYTES // 2**20))
    return data


def load(data: bytes, name: str = "upload") -> LoadedImage:
    """Decode bytes into an upright RGB image of at most MAX_KEPT_SIDE pixels a side, or raise
    ImageError saying why not. Time and memory are bounded whatever the file declares."""
    if not data:
        raise ImageError(Text("images.empty", name=name))
    if len(data) > MAX_BYTES:
        raise ImageError(Text("images.too_many_bytes", name=name, mb=len(data) / 2**20, limit=MAX_BYTES // 2**20))
    with _DECODING:
        return _decode(data, name)


def _decode(data: bytes, name: str) -> LoadedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_header(image, name)
            frames = _count_frames(image)
            image.seek(0)
            image.load()
            original_mode, original_format = image.mode, image.format or ""
            image = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        declared = re.search(r"\((\d+) pixels\)", str(error))
        size = Text("images.megapixels", count=int(declared[1]) / 1e6) if declared else Text("images.too_many")
        raise ImageError(Text("images.bomb", name=name, size=size, limit=MAX_PIXELS / 1e6)) from None
    except UnidentifiedImageError:
        raise ImageError(Text("images.unreadable", name=name, formats=", ".join(FORMATS[:-1]))) from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(Text("images.damaged", name=name, detail=str(error) or type(error).__name__)) from None
    notes = []
    if frames > MAX_FRAMES_COUNTED:
        notes.append(Text("images.first_frame_many", format=original_format, frames=MAX_FRAMES_COUNTED))
    elif frames > 1:
        notes.append(Text("images.first_frame", format=original_format, frames=frames))
    rgb, note = to_rgb(image)
    notes += [note] if note else []
    kept = _kept_size(rgb)
    if kept != rgb.size:
        notes.append(Text("images.downscaled", width=rgb.width, height=rgb.height, new_width=kept[0],
                          new_height=kept[1]))
        rgb = rgb.resize(kept, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return LoadedImage(rgb, hashlib.sha256(data).hexdigest(), original_format, original_mode,
                       image.size, tuple(notes))


def _count_frames(image: Image.Image) -> int:
    """Frames (pages) of the file, counted no further than MAX_FRAMES_COUNTED + 1, and without
    decoding any: seeking a GIF, APNG or WebP frame composites every frame before it onto the
    canvas (a 1.6 KB GIF of 70 frames on a 6300² canvas took 7–16 s), while their `n_frames` only
    parses the file (at most ~1 s for 20 MB of frames). TIFF pages are walked by seeking, which
    reads each page's directory and no pixels, because its `n_frames` walks all of them."""
    if image.format != "TIFF":
        return min(getattr(image, "n_frames", 1), MAX_FRAMES_COUNTED + 1)
    count = 1
    try:
        while count <= MAX_FRAMES_COUNTED:
            image.seek(count)
            count += 1
    except EOFError:
        pass
    return count


def _kept_size(image: Image.Image) -> tuple[int, int]:
    scale = min(1.0, MAX_KEPT_SIDE / max(image.size))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def _check_header(image: Image.Image, name: str) -> None:
    width, height = image.size
    if image.format not in FORMATS:
        raise ImageError(Text("images.wrong_format", name=name, format=image.format,
                              formats=", ".join(FORMATS[:-1])))
    if width < 1 or height < 1:
        raise ImageError(Text("images.no_pixels", name=name))
    if width * height > MAX_PIXELS:
        raise ImageError(Text("images.too_many_pixels", name=name, width=width, height=height,
                              limit=MAX_PIXELS / 1e6))


def to_rgb(image: Image.Image) -> tuple[Image.Image, Text | None]:
    """Any Pillow mode to 8-bit RGB; transparency is composited on white."""
    mode = image.mode
    if mode == "RGB":
        return image, None
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image)  # the decoded integers or floats, without a wider copy
        low, top = 0.0, 65535.0 if mode.startswith("I;16") or values.max() > 255 else 255.0
        if mode == "F":
            low, top = float(values.min()), float(values.max())
        span = max(top - low, 1e-12)
        gray = np.empty(values.shape, dtype=np.uint8)
        for row in range(0, values.shape[0], 256):  # in bands: float32 of 256 rows at a time
            band = values[row:row + 256].astype(np.float32)
            gray[row:row + 256] = np.clip((band - low) / span * 255.0 + 0.5, 0, 255)
        return Image.fromarray(gray).convert("RGB"), Text("images.scaled", mode=mode)
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB"), Text("images.transparent")
    return image.convert("RGB"), (Text("images.converted", mode=mode) if mode not in ("L", "P", "1") else None)


def limit_aspect(image: Image.Image) -> Image.Image:
    """Crop extreme panoramas to MAX_ASPECT around the centre: the shorter-side resize would
    otherwise make a huge intermediate image whose outer parts the centre crop discards."""
    width, height = image.size
    long_limit = int(min(width, height) * MAX_ASPECT)
    if max(width, height) <= long_limit:
        return image
    new_w, new_h = min(width, long_limit), min(height, long_limit)
    left, top = (width - new_w) // 2, (height - new_h) // 2
    return image.crop((left, top, left + new_w, top + new_h))


def upscale_note(image: Image.Image, pre: Preprocess, network: str) -> Text | None:
    """Why a small picture looks blurred to the network: its shorter side is stretched to
    `pre.resize` before the crop, and past UPSCALE_NOTED the interpolation visibly smears."""
    factor = pre.resize / min(image.size)
    if factor < UPSCALE_NOTED:
        return None
    return Text("images.upscaled", width=image.width, height=image.height, network=network,
                resize=pre.resize, factor=factor)


def crop_for_network(image: Image.Image, pre: Preprocess) -> torch.Tensor:
    """Resize the shorter side, centre-crop: [3, crop, crop] uint8, what the network sees.

    Resizing the PIL image (Pillow's filter) is what torchvision's weight transforms do,
    so the network sees exactly the pixels it was evaluated on.
    """
    resized = TF.resize(limit_aspect(image), [pre.resize],
                        interpolation=InterpolationMode(pre.interpolation), antialias=True)
    return TF.pil_to_tensor(TF.center_crop(resized, [pre.crop]))


def preprocess(image: Image.Image, pre: Preprocess) -> torch.Tensor:
    """[1, 3, crop, crop] float32, normalised with the network's mean and std."""
    pixels = TF.to_dtype(crop_for_network(image, pre), torch.float32, scale=True)
    return TF.normalize(pixels, list(pre.mean), list(pre.std)).unsqueeze(0)


@dataclass(frozen=True)
class InputViews:
    cropped: np.ndarray  # HxWx3 uint8: the input as the network sees it
    mean: np.ndarray  # HxWx3 uint8: the mean the network subtracts
    mean_subtracted: np.ndarray  # HxWx3 uint8: input - mean, 0 shown as mid-grey


def input_views(image: Image.Image, pre: Preprocess) -> InputViews:
    """The three pictures of mean subtraction: input, mean image, and their difference."""
    pixels = crop_for_network(image, pre).permute(1, 2, 0).numpy()  # HxWx3
    mean = np.asarray(pre.mean, dtype=np.float32) * 255.0
    difference = pixels.astype(np.float32) - mean
    scale = max(float(np.abs(difference).max()), 1.0)
    shown = 127.5 + 127.5 * difference / scale  # symmetric, so zero stays mid-grey
    mean_image = np.broadcast_to(mean, pixels.shape)
    return InputViews(pixels, np.rint(mean_image).astype(np.uint8),
                      np.clip(np.rint(shown), 0, 255).astype(np.uint8))


def augmented_batch(image: Image.Image, pre: Preprocess, count: int, seed: int = 0,
                    size: int | None = None) -> torch.Tensor:
    """[count, 3, size, size]: the network's own centre crop first, then random resized crops
    and flips of the same image (seeded), normalised like `preprocess`."""
    size = size or pre.crop
    centre = TF.center_crop(TF.resize(limit_aspect(image), [round(size * pre.resize / pre.crop)],
                                      antialias=True), [size])
    crops = [TF.pil_to_tensor(centre)]
    generator = torch.Generator().manual_seed(seed)
    base = TF.pil_to_tensor(limit_aspect(image))
    height, width = base.shape[1:]
    for _ in range(count - 1):
        scale = 0.35 + 0.65 * float(torch.rand(1, generator=generator))
        side = max(1, int(min(height, width) * math.sqrt(scale)))
        top = int(torch.randint(0, height - side + 1, (1,), generator=generator))
        left = int(torch.randint(0, width - side + 1, (1,), generator=generator))
        crop = TF.resized_crop(base, top, left, side, side, [size, size], antialias=True)
        crops.append(TF.horizontal_flip(crop) if torch.rand(1, generator=generator) < 0.5 else crop)
    pixels = TF.to_dtype(torch.stack(crops), torch.float32, scale=True)
    return TF.normalize(pixels, list(pre.mean), list(pre.std))


ALEXNET_SIDE, ALEXNET_CROP = 256, 224


def alexnet_crops(image: Image.Image, count: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """AlexNet's training augmentation (Krizhevsky et al. 2012, section 4.1): the image rescaled
    to 256×256, then random 224×224 patches and their horizontal reflections. Returns `count`
    such patches (seeded) as [count, 224, 224, 3] uint8, and how many different patches there
    are: offsets 0 to 32 along each side, 33 × 33 × 2 = 2,178 (the paper's "factor of 2048"
    counts 32 × 32 × 2)."""
    square = TF.pil_to_tensor(TF.resize(TF.center_crop(limit_aspect(image), [min(image.size)]),
                                        [ALEXNET_SIDE, ALEXNET_SIDE], antialias=True))
    generator = torch.Generator().manual_seed(seed)
    offsets = ALEXNET_SIDE - ALEXNET_CROP + 1  # 0 to 32 inclusive
    patches = []
    for _ in range(count):
        top, left = (int(v) for v in torch.randint(0, offsets, (2,), generator=generator))
        patch = square[:, top:top + ALEXNET_CROP, left:left + ALEXNET_CROP]
        patches.append(TF.horizontal_flip(patch) if torch.rand(1, generator=generator) < 0.5 else patch)
    return torch.stack(patches).permute(0, 2, 3, 1).numpy(), offsets * offsets * 2
