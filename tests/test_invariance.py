"""Global average pooling is more shift-stable than flattened maps (fixed image, seeded weights)."""
import pytest
import torch

from explorer import attribution, claims, images, invariance, inference, zoo


def test_pooled_features_are_more_shift_stable_than_flattened_ones(cat_image):
    loaded = inference.load("resnet50", torch.device("cpu"))
    tap = next(t for t in zoo.taps("resnet50") if t.name == attribution.default_tap("resnet50"))
    probe = invariance.probe(loaded, cat_image, tap)
    assert (probe.key, probe.tap) == ("resnet50", tap.name)
    shifts = probe.shifts
    assert [s.pixels for s in shifts] == list(range(0, 33, 4))
    assert shifts[0].pooled == shifts[0].flattened == 1.0 or abs(shifts[0].pooled - 1) < 1e-5
    pooled = [s.pooled for s in shifts[1:]]
    flattened = [s.flattened for s in shifts[1:]]
    assert sum(pooled) / len(pooled) > sum(flattened) / len(flattened)
    assert claims.translation_invariance(shifts, shifts, claims.Subject("ResNet-50", trained=True)).verdict == "holds"
    # seeded weights here: pooling is architecture, so random weights decide it too
    untrained = claims.translation_invariance(shifts, shifts, claims.Subject("ResNet-50", trained=False))
    assert untrained.verdict == "holds" and "comes from the architecture" in untrained.why


def test_shifted_crops_move_by_the_asked_pixels(cat_image):
    batch = invariance.shifted_batch(cat_image.image, zoo.get("resnet18").preprocess, [0, 4])
    assert batch.shape == (2, 3, 224, 224)
    assert torch.allclose(batch[0, :, :, 4:], batch[1, :, :, :-4])


def _shapes():
    """Every bundled sample (landscape, square, portrait) and a few extreme shapes."""
    from PIL import Image
    from explorer import samples

    found = {name: images.load(samples.path(name).read_bytes()).image for name in samples.FILES}
    found |= {f"{w}x{h}": Image.new("RGB", (w, h), (90, 120, 150)) for w, h in ((60, 400), (400, 60), (40, 40))}
    return found


@pytest.mark.parametrize("pre", sorted({spec.preprocess for spec in zoo.REGISTRY.values()}, key=repr), ids=repr)
def test_every_preprocessing_and_image_shape_gives_whole_shifted_crops(pre):
    shapes = _shapes()
    assert {"Astronaut", "Launchpad"} <= set(shapes)  # square and portrait samples exist
    for name, image in shapes.items():
        batch = invariance.shifted_batch(image, pre, invariance.SHIFTS)
        assert batch.shape == (len(invariance.SHIFTS), 3, pre.crop, pre.crop), name
        pair = invariance.shifted_batch(image, pre, [0, 4])
        assert torch.allclose(pair[0, :, :, 4:], pair[1, :, :, :-4]), name


def test_the_probe_runs_on_the_square_and_portrait_samples():
    loaded = inference.load("resnet50", torch.device("cpu"))
    tap = next(t for t in zoo.taps("resnet50") if t.name == attribution.default_tap("resnet50"))
    shapes = _shapes()
    for name in ("Astronaut", "Launchpad"):
        image = images.LoadedImage(shapes[name], name, "JPEG", "RGB", shapes[name].size)
        assert len(invariance.probe(loaded, image, tap, shifts=(0, 16)).shifts) == 2
