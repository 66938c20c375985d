"""Global average pooling is more shift-stable than flattened maps (fixed image, seeded weights)."""
import torch

from explorer import attribution, claims, invariance, inference, zoo


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
    assert claims.translation_invariance(shifts).verdict == "holds"


def test_shifted_crops_move_by_the_asked_pixels(cat_image):
    batch = invariance.shifted_batch(cat_image.image, zoo.get("resnet18").preprocess, [0, 4])
    assert batch.shape == (2, 3, 224, 224)
    assert torch.allclose(batch[0, :, :, 4:], batch[1, :, :, :-4])
