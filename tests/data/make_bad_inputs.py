"""Writes the bad-input corpus into tests/data/bad/: every file is made here, none is collected.

`python -m tests.data.make_bad_inputs` (re)creates it; the tests call `generate()` once.
Each entry says what a person must see: an error containing `error`, or a usable image
(with `check` naming what must hold of it).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.paths import encoded

FOLDER = Path(__file__).resolve().parent / "bad"


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    error: str | None = None  # substring of the ImageError, or None when the file must load
    check: str | None = None  # "upright", "first_frame", "canvas_frames", "many_pages", "tiny", "wide", "white_background"


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _streamed_png(width: int, height: int, bit_depth: int = 8) -> bytes:
    """A valid grayscale PNG of zeros, compressed row by row: huge when decoded, small on disk."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _many_pages_tiff(pages: int) -> bytes:
    """A little-endian TIFF whose IFD chain declares `pages` 1x1 grayscale pages sharing one
    strip: a few bytes per page on disk, and Pillow walks every IFD to count them."""
    tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
            (273, 4, 1, 8), (278, 3, 1, 1), (279, 4, 1, 1)]  # width ... strip byte counts
    size = 2 + 12 * len(tags) + 4
    body = bytearray(b"II*\x00" + struct.pack("<I", 9) + b"\x80")  # header, first IFD at 9, the strip at 8
    for page in range(pages):
        following = 9 + (page + 1) * size if page + 1 < pages else 0
        body += struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags)
        body += struct.pack("<I", following)
    return bytes(body)


def _photo(width: int = 320, height: int = 240) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    return Image.fromarray(np.stack([np.tile(x, (height, 1)), np.repeat(y, width, 1),
                                     np.full((height, width), 120, np.uint8)], -1))


def _rotated() -> bytes:
    """Stored sideways with EXIF orientation 6; upright it is wide, with a red band on the left."""
    upright = Image.new("RGB", (300, 150), "white")
    upright.paste((255, 0, 0), (0, 0, 60, 150))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif, quality=95)


def canvas_gif(side: int, frames: int) -> bytes:
    """A GIF of `frames` one-pixel frames on a side × side canvas: 1.6 KB for 70 frames on 6300²,
    and a decoder that composites each frame onto the canvas does 40 megapixels of work per frame."""
    out = bytearray(b"GIF89a" + struct.pack("<HH", side, side) + bytes([0x80, 0, 0]) + bytes(6))  # 2 colours
    out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for index in range(frames):
        out += b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 10 ms
        out += b"\x2c" + struct.pack("<HHHH", index % side, 0, 1, 1) + b"\x00"  # a 1×1 frame
        out += b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: one pixel of colour 0
    return bytes(out + b"\x3b")


def cases() -> list[Case]:
    jpeg, png = encoded(_photo(), "JPEG"), encoded(_photo(), "PNG")
    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "green", "blue")]
    palette = Image.new("P", (64, 64), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (0, 0, 32, 64))
    return [
        Case("zero-bytes.jpg", b"", error="empty"),
        Case("truncated.jpg", jpeg[: len(jpeg) // 3], error="cut short"),
        Case("truncated.png", png[: len(png) // 3], error="cut short"),
        Case("bomb.png", _streamed_png(40000, 40000, bit_depth=1), error="1,600 megapixels"),
        Case("huge-20000x20000.png", _streamed_png(20000, 20000), error="400 megapixels"),
        Case("one-pixel.png", encoded(Image.new("RGB", (1, 1), (200, 30, 30)), "PNG"), check="tiny"),
        Case("strip-3x10000.png", encoded(_photo(3, 10000), "PNG"), check="wide"),
        Case("sixteen-bit.png", encoded(Image.fromarray((np.asarray(_photo().convert("L"), np.uint16) * 257)), "PNG")),
        Case("cmyk.jpg", encoded(_photo().convert("CMYK"), "JPEG")),
        Case("palette-transparent.png", encoded(palette, "PNG", transparency=0), check="white_background"),
        Case("la.png", encoded(_photo().convert("LA"), "PNG")),
        Case("rgba.png", encoded(_photo().convert("RGBA"), "PNG")),
        Case("animated.gif", encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), check="first_frame"),
        Case("multipage.tif", encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:]), check="first_frame"),
        Case("canvas-6300-70-frames.gif", canvas_gif(6300, 70), check="canvas_frames"),
        Case("exif-rotated.jpg", _rotated(), check="upright"),
        Case("twenty-thousand-pages.tif", _many_pages_tiff(20_000), check="many_pages"),
        Case("notes.txt.jpg", b"Lecture notes: AlexNet has 8 layers.\n" * 20, error="not an image"),
        Case("slides.pdf.jpg", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
             error="not an image"),
        Case("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
             error="not an image"),
        Case("garbage-body.jpg", jpeg[:600] + bytes(range(256)) * 40, error="cut short"),
    ]


def generate(folder: Path = FOLDER) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    made = cases()
    for case in made:
        (folder / case.name).write_bytes(case.data)
    return made


if __name__ == "__main__":
    print("\n".join(f"{c.name}: {len(c.data)} bytes" for c in generate()))
