"""Decoding uploads: every mode to upright RGB, every bad file to a readable ImageError."""
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import get_model_weights

from explorer import images, zoo
from harness.paths import ROOT
from harness.paths import encoded


def _gradient(width=64, height=48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    rgb = np.stack([np.tile(x, (height, 1)), np.tile(x[::-1], (height, 1)),
                    np.full((height, width), 90, np.uint8)], axis=-1)
    return Image.fromarray(rgb)


@pytest.mark.parametrize("key", ["alexnet", "vgg16", "inception_v3", "resnet50", "mobilenet_v3_small"])
def test_preprocess_equals_torchvisions_own_transform(key, cat_image):
    reference = get_model_weights(key).DEFAULT.transforms()(cat_image.image).unsqueeze(0)
    ours = images.preprocess(cat_image.image, zoo.get(key).preprocess)
    assert ours.shape == reference.shape and torch.allclose(ours, reference, atol=1e-6)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_supported_formats_decode_to_rgb(fmt):
    loaded = images.load(encoded(_gradient(), fmt), f"x.{fmt.lower()}")
    assert loaded.image.mode == "RGB" and loaded.image.size == (64, 48) and loaded.format == fmt


@pytest.mark.parametrize("mode", ["L", "1", "P", "CMYK", "LA", "RGBA"])
def test_every_8_bit_mode_becomes_rgb(mode):
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    loaded = images.load(encoded(_gradient().convert(mode), fmt), f"x.{fmt.lower()}")
    assert loaded.image.mode == "RGB" and loaded.image.size == (64, 48)
    assert loaded.original_mode == mode


@pytest.mark.parametrize("dtype, fmt", [(np.uint16, "PNG"), (np.int32, "TIFF"), (np.float32, "TIFF")])
def test_high_bit_depth_is_scaled_to_8_bits_not_clipped(dtype, fmt):
    ramp = np.tile(np.linspace(0, 65535, 64), (48, 1)).astype(dtype)
    loaded = images.load(encoded(Image.fromarray(ramp), fmt), f"deep.{fmt.lower()}")
    red = np.asarray(loaded.image)[..., 0]
    assert loaded.image.mode == "RGB" and red.min() == 0 and red.max() == 255
    assert 120 <= red[0, 32] <= 135  # the middle of the ramp is mid-grey
    assert any("8 bits" in str(note) for note in loaded.notes)


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    loaded = images.load(encoded(rgba, "PNG"))
    assert np.asarray(loaded.image)[0, 0].tolist() == [255, 255, 255]
    assert any("white" in str(note) for note in loaded.notes)


def test_exif_orientation_is_applied():
    upright = Image.new("RGB", (40, 20), "white")
    upright.paste((255, 0, 0), (0, 0, 10, 20))  # red band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: viewers turn it 90 degrees clockwise
    data = encoded(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif, quality=95)
    loaded = images.load(data, "rotated.jpg")
    assert loaded.image.size == (40, 20)
    assert np.asarray(loaded.image)[10, 2, 0] > 200 and np.asarray(loaded.image)[10, 2, 1] < 60


def test_animated_gif_uses_the_first_frame_and_says_so():
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    loaded = images.load(data, "anim.gif")
    assert np.asarray(loaded.image)[0, 0, 0] > 200 and "2 frames" in str(loaded.notes[0])


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is text", "not an image"),
    (b"%PDF-1.4\n1 0 obj << >> endobj\n", "not an image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not an image"),
])
def test_bad_bytes_raise_a_readable_error(data, message):
    with pytest.raises(images.ImageError, match=message):
        images.load(data, "upload.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files_raise_a_readable_error(fmt):
    data = encoded(_gradient(256, 256), fmt)
    with pytest.raises(images.ImageError, match="damaged or cut short"):
        images.load(data[: len(data) // 2], f"cut.{fmt.lower()}")


def test_too_many_pixels_are_refused_before_decoding():
    png = encoded(Image.new("L", (1, 1)), "PNG")
    # rewrite the IHDR chunk to claim 20000 x 20000 pixels, with a valid CRC
    ihdr = b"IHDR" + (20000).to_bytes(4, "big") * 2 + png[24:29]
    bomb = png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]
    with pytest.raises(images.ImageError, match="declares 400 megapixels, too many to decode safely"):
        images.load(bomb, "bomb.png")


def test_oversized_upload_is_refused():
    with pytest.raises(images.ImageError, match="limit is 20 MB"):
        images.load(b"\xff" * (images.MAX_BYTES + 1), "huge.jpg")


@pytest.mark.parametrize("size", [(1, 1), (3, 10000), (10000, 3)])
def test_tiny_and_extreme_aspect_images_still_preprocess(size):
    loaded = images.load(encoded(Image.new("RGB", size, (10, 200, 30)), "PNG"))
    x = images.preprocess(loaded.image, zoo.get("resnet18").preprocess)
    assert x.shape == (1, 3, 224, 224) and torch.isfinite(x).all()


def test_a_small_image_stretched_by_the_network_is_said_and_a_large_one_is_not(cat_image):
    pre = zoo.get("resnet18").preprocess  # shorter side to 256
    tiny = images.load(encoded(Image.new("RGB", (40, 60), (10, 200, 30)), "PNG")).image
    note = images.upscale_note(tiny, pre, "ResNet-18")
    assert str(note) == ("This image is 40×60 px: ResNet-18 stretches its shorter side to 256 px (6.4× larger), "
                         "so the network sees a blurred picture.")
    assert images.upscale_note(Image.new("RGB", (171, 400)), pre, "ResNet-18") is None  # 1.497×: a mild stretch
    assert images.upscale_note(cat_image.image, pre, "ResNet-18") is None


def test_input_views_show_mean_subtraction(cat_image):
    pre = zoo.get("vgg16").preprocess
    views = images.input_views(cat_image.image, pre)
    assert views.cropped.shape == views.mean.shape == views.mean_subtracted.shape == (224, 224, 3)
    assert views.mean[0, 0].tolist() == [124, 116, 104]  # ImageNet RGB mean x 255
    # a pixel equal to the mean shows as mid-grey; brighter ones above it
    difference = views.cropped.astype(int) - views.mean.astype(int)
    assert ((views.mean_subtracted.astype(int) - 128) * difference >= -255).all()


def _sixteen_bit_png(width: int, height: int) -> bytes:
    """A 16-bit grayscale gradient PNG, compressed row by row (small on disk, large decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + np.linspace(0, 65535, width).astype(">u2").tobytes()
    compressor = zlib.compressobj(6)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def test_a_forty_megapixel_sixteen_bit_upload_is_decoded_in_bounded_memory_and_kept_small(tmp_path):
    """Peak memory of the decode (a child process's peak RSS, before and after) and what is kept."""
    path = tmp_path / "big.png"
    path.write_bytes(_sixteen_bit_png(6300, 6300))
    script = ("import resource, sys; from explorer import images; "
              "data = open(sys.argv[1], 'rb').read(); before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
              "loaded = images.load(data, 'big.png'); "
              "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
              "print((after - before) // 1024, *loaded.image.size, [str(n) for n in loaded.notes])")
    result = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    extra_mb, width, height, notes = result.stdout.split(" ", 3)
    assert int(extra_mb) < 450  # float64 conversion alone was 318 MB, with temporaries ~800 MB
    assert (int(width), int(height)) == (images.MAX_KEPT_SIDE, images.MAX_KEPT_SIDE)
    assert "scaled to 8 bits" in notes and "6300×6300" in notes


def test_alexnet_crops_are_224_patches_of_the_256_square_and_their_mirrors(cat_image):
    import numpy as np

    crops, different = images.alexnet_crops(cat_image.image, 16, seed=1)
    assert crops.shape == (16, 224, 224, 3) and crops.dtype == np.uint8
    assert different == 33 * 33 * 2 == 2178  # offsets 0..32 per side (the paper's 2,048 counts 32 of them)
    again, _ = images.alexnet_crops(cat_image.image, 16, seed=1)
    assert np.array_equal(crops, again) and len({c.tobytes() for c in crops}) == 16
