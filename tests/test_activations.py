"""Activations: shapes the papers give, pre/post-ReLU values, rankings, composed grids."""
import pytest
import torch
from torch import nn

from explorer import activations, figures, inference, notation, zoo


@pytest.fixture(scope="module")
def vgg16_record(cat_image):
    return inference.analyse(inference.load("vgg16", torch.device("cpu")), cat_image).record


def test_vgg16_blocks_have_the_papers_shapes(vgg16_record):
    shapes = {name: tuple(t.shape) for name, t in vgg16_record.outputs.items()}
    for block, (channels, size) in enumerate([(64, 224), (128, 112), (256, 56), (512, 28), (512, 14)], 1):
        convs = [n for n in shapes if n.startswith(f"conv{block}_")]
        assert convs and all(shapes[n] == (channels, size, size) for n in convs)
    assert shapes["pool5"] == (512, 7, 7) and shapes["fc6"] == (4096,) and shapes["fc8"] == (1000,)


def test_alexnet2012_shapes_of_the_paper(cat_image):
    record = inference.analyse(inference.load("alexnet2012", torch.device("cpu")), cat_image).record
    expected = {"conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13),
                "conv3": (384, 13, 13), "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6),
                "fc6": (4096,), "fc7": (4096,), "fc8": (1000,)}
    assert {n: tuple(record.outputs[n].shape) for n in expected} == expected


def test_conv_taps_hold_negative_values_and_relu_taps_none(vgg16_record):
    for name, tensor in vgg16_record.outputs.items():
        if name.startswith("conv"):
            assert tensor.min() < 0, name
        if name.startswith("relu"):
            assert tensor.min() >= 0, name


def test_channel_rankings():
    maps = torch.zeros(4, 2, 2)
    maps[1] = 5.0  # highest mean
    maps[2, 0, 0] = 100.0  # highest single response
    maps[3] = torch.tensor([[1.0, 1.0], [1.0, -50.0]])  # most positions active, negative mean
    assert activations.top_channels(maps, 1, "mean") == [2]  # 25 > 5
    assert activations.top_channels(maps, 2, "mean") == [2, 1]
    assert activations.top_channels(maps, 1, "max") == [2]
    assert activations.top_channels(maps, 1, "active") == [1]  # all 4 positions > 0
    assert activations.top_channels(maps, None) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        activations.channel_scores(maps, "median")


def test_a_grid_of_512_channels_is_one_image_of_the_expected_size():
    maps = torch.randn(512, 14, 14)
    image = figures.channel_grid(maps, list(range(512)), columns=32)
    tile = figures.tile_size(14)  # 14 px maps are enlarged to the minimum tile
    assert tile == figures.TILE_MIN
    assert image.size == (32 * (tile + figures.GAP), 16 * (tile + figures.LABEL_H + figures.GAP))
    assert image.mode == "RGB"


def test_grid_colours_follow_the_chosen_scale():
    maps = torch.stack([torch.zeros(4, 4), torch.full((4, 4), 10.0)])
    maps[0, 0, 0], maps[1, 0, 0] = 1.0, 11.0
    shared = figures.channel_grid(maps, [0, 1], shared_scale=True, columns=2)
    separate = figures.channel_grid(maps, [0, 1], shared_scale=False, columns=2)
    top = figures.LABEL_H + figures.TILE_MIN - 1  # a pixel of the zero/ten region in each tile
    right = figures.TILE_MIN + figures.GAP + 5
    assert shared.getpixel((5, top)) == tuple(figures.VIRIDIS[0])
    assert shared.getpixel((right, top)) == tuple(figures.VIRIDIS[232])  # 10/11 of the range
    assert separate.getpixel((5, top)) == separate.getpixel((right, top)) == tuple(figures.VIRIDIS[0])


def test_tap_stats_measure_relu_sparsity(vgg16_record):
    stats = {s.name: s for s in activations.tap_stats(vgg16_record.outputs, zoo.taps("vgg16"))}
    assert stats["conv1_1"].zeros == 0.0 and 0 < stats["relu1_1"].zeros < 1
    assert stats["relu1_1"].mean > 0 and stats["pool5"].height == 7 and stats["fc6"].height is None
    assert stats["conv5_3"].channels == 512


def test_rectifier_zeros_agree_with_the_relu_taps_and_leave_no_hooks(vgg16_record, cat_image):
    """VGG16 taps each of its 15 ReLUs (13 conv, fc6, fc7): counting after every ReLU call must give
    the taps' own zero shares, in order."""
    from explorer import modelstate

    loaded = inference.load("vgg16", torch.device("cpu"))
    zeros = activations.rectifier_zeros(loaded, cat_image)
    relu_taps = [t for t in zoo.taps("vgg16") if t.kind == "relu"]
    expected = [float((vgg16_record.outputs[t.name] == 0).float().mean()) for t in relu_taps]
    assert zeros.key == "vgg16" and len(zeros.shares) == len(relu_taps) == 15
    assert zeros.shares == pytest.approx(expected, abs=1e-6)
    assert modelstate.hook_count(loaded.model) == 0


def test_first_layer_kernels_are_rgb_tiles():
    path, conv = activations.first_conv(zoo.meta_model("alexnet2012"))
    assert path == "features.0" and conv.kernel_size == (11, 11)
    kernels = activations.rgb_kernels(nn.Conv2d(3, 8, 7))
    assert kernels.shape == (8, 7, 7, 3) and kernels.min() == 0 and kernels.amax(dim=(1, 2, 3)).eq(1).all()
    image = figures.kernel_grid(kernels, zoom=4, columns=4)
    assert image.size == (4 * (28 + figures.GAP), 2 * (28 + figures.GAP))


def test_overlay_blends_the_map_onto_the_picture():
    import numpy as np
    picture = np.full((8, 8, 3), 200, np.uint8)
    assert np.array_equal(np.asarray(figures.overlay(picture, torch.rand(2, 2), 0.0)), picture)
    opaque = np.asarray(figures.overlay(picture, torch.rand(2, 2), 1.0))
    assert opaque.shape == (8, 8, 3) and not np.array_equal(opaque, picture)


def test_numbers_read_without_scientific_notation():
    assert [notation.readable(v) for v in (2671.3, 1.1234, 0.05, 3.4e-8, 0.0)] == \
        ["2,671", "1.12", "0.05", "3.40 × 10⁻⁸", "0"]
