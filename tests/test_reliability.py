"""What classrooms do to the app: the bad-input corpus, memory, failures, security."""
import builtins
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import images, inference
from explorer.ui import cache, sidebar
from harness import apptest
from harness.paths import ROOT, SAMPLES
from harness.paths import encoded
from harness.memory import rss_mb
from tests.data import make_bad_inputs

CORPUS = make_bad_inputs.cases()


@pytest.fixture(scope="module")
def corpus():
    return make_bad_inputs.generate()


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_every_bad_input_through_the_core(case, corpus):
    data = (make_bad_inputs.FOLDER / case.name).read_bytes()
    if case.error:
        with pytest.raises(images.ImageError, match=re.escape(case.error)) as raised:
            images.load(data, case.name)
        assert case.name in str(raised.value) and "Traceback" not in str(raised.value)
        return
    start = time.perf_counter()
    loaded = images.load(data, case.name)
    seconds = time.perf_counter() - start
    assert loaded.image.mode == "RGB"
    x = images.preprocess(loaded.image, inference.zoo.get("alexnet").preprocess)
    assert x.shape == (1, 3, 224, 224) and torch.isfinite(x).all()
    pixels = np.asarray(loaded.image)
    if case.check == "upright":
        assert loaded.image.size == (300, 150) and pixels[75, 20, 0] > 200 and pixels[75, 20, 1] < 80
    if case.check == "first_frame":
        assert pixels[0, 0, 0] > 200 and pixels[0, 0, 2] < 60 and "3 frames" in str(loaded.notes[0])
    if case.check == "canvas_frames":  # frames counted without compositing them (7–16 s before)
        assert f"more than {images.MAX_FRAMES_COUNTED} frames" in str(loaded.notes[0]) and seconds < 3.0, seconds
    if case.check == "many_pages":  # counted no further than a bound, in far less than a second
        assert f"more than {images.MAX_FRAMES_COUNTED} frames" in str(loaded.notes[0])
    if case.check == "white_background":
        assert pixels[0, 40].tolist() == [255, 255, 255] and pixels[0, 0].tolist() == [0, 0, 255]


def test_every_bad_input_through_the_app_which_stays_usable(corpus):
    app = apptest.start("squeezenet1_1")
    app.radio(key="image_source").set_value("Upload").run()
    accepted = [c for c in CORPUS if c.name.rsplit(".", 1)[1] in sidebar.UPLOAD_TYPES]
    assert {c.name for c in CORPUS} - {c.name for c in accepted} == {"drawing.svg"}  # refused by the uploader
    for case in accepted:
        app.file_uploader(key="upload").set_value((case.name, (make_bad_inputs.FOLDER / case.name).read_bytes(),
                                                   "application/octet-stream"))
        app.run()
        assert not apptest.errors(app), case.name
        errors = [re.sub(r"\\(.)", r"\1", e.value) for e in app.error]
        if case.error:
            assert any(case.error in e and "sample image" in e for e in errors), (case.name, errors)
        else:
            assert not errors and case.name in apptest.texts(app), case.name
    app.file_uploader(key="upload").set_value(("cat.jpg", (SAMPLES / "cat.jpg").read_bytes(), "image/jpeg"))
    app.run()
    assert not app.error and len(app.get("image")) == 3


def test_file_names_are_shown_literally():
    name = "**bold** [click](https://example.com) <b>x</b>.png"
    app = apptest.upload(apptest.start("squeezenet1_1"), encoded(Image.new("RGB", (40, 40), "red"), "PNG"), name)
    assert not apptest.errors(app)
    raw = "\n".join(c.value for c in app.caption)
    assert r"\*\*bold\*\* \[click\]\(https\:" in raw and "<b>" not in raw.replace(r"\<b\>", "")


def test_uploads_never_write_files(monkeypatch):
    writes = []
    real_open = builtins.open

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+") and "artifacts" not in str(file):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    apptest.upload(apptest.start("squeezenet1_1"), (SAMPLES / "coffee.jpg").read_bytes(), "coffee.jpg")
    assert writes == []


def test_checkpoints_are_only_read_as_tensors_and_no_html_is_allowed():
    sources = {p: p.read_text() for p in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("explorer/**/*.py")]}
    for path, text in sources.items():
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, path
        assert "unsafe_allow_html=True" not in text, path


def test_hundred_uploads_keep_memory_bounded():
    budget = 48 * 2**20
    records = cache.results()
    saved, records.max_bytes = records.max_bytes, budget
    try:
        app = apptest.start("alexnet")
        app.radio(key="image_source").set_value("Upload").run()
        generator = np.random.default_rng(0)

        def upload(i):
            pixels = generator.integers(0, 255, (96, 128, 3), dtype=np.uint8)
            app.file_uploader(key="upload").set_value((f"img{i}.jpg", encoded(Image.fromarray(pixels), "JPEG"),
                                                       "image/jpeg"))
            app.run()

        for i in range(10):
            upload(i)
        warm = rss_mb()
        for i in range(10, 100):
            upload(i)
        assert not apptest.errors(app)
        assert records.bytes <= budget and len(records) < 90  # evicted, not kept
        assert rss_mb() - warm < 200
    finally:
        records.max_bytes = saved


def test_out_of_memory_on_the_accelerator_shows_a_message_and_a_result(monkeypatch):
    """A fake accelerator ("meta") whose every capture runs out of memory."""
    from explorer import taps as taps_module

    real_capture = taps_module.capture

    def capture(model, x, *args, **kwargs):
        if x.device.type == "meta":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_capture(model, x, *args, **kwargs)

    monkeypatch.setattr(inference, "capture", capture)
    loaded = cache.loaded_model("shufflenet_v2_x0_5")
    monkeypatch.setattr(loaded, "device", torch.device("meta"))
    cache.results().forget(lambda cached: cached[0] != "model")  # every result, not the patched network
    app = apptest.start("shufflenet_v2_x0_5")
    assert not apptest.errors(app)
    assert any("ran out of memory; this result was computed on the CPU" in w.value for w in app.warning)
    assert len(app.get("plotly_chart")) == 1  # the top-5 still shows
    cache.results().clear()


def test_a_corrupt_checkpoint_is_reported_and_the_app_works(tmp_path, monkeypatch):
    from explorer import weights, zoo

    spec = zoo.get("squeezenet1_0")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = weights.hub_path(spec.weights)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint at all")
    cache.forget_models()
    try:
        app = apptest.start("squeezenet1_0")
        assert not apptest.errors(app)
        assert any("not a readable checkpoint" in w.value and "random weights" in w.value for w in app.warning)
        assert app.title[0].value == "SqueezeNet 1.0"
    finally:
        cache.forget_models()


def test_a_failed_download_shows_a_message_and_the_app_works(monkeypatch):
    from deploy.serve import free_port

    from explorer import weights

    monkeypatch.delenv("EXPLORER_OFFLINE")
    monkeypatch.setattr(weights, "FAILED", {})
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    app = apptest.start("squeezenet1_1")  # the automatic download fails; the button tries again
    download = next(b for b in app.button if b.label == "Download pretrained weights")
    download.click().run()
    assert not apptest.errors(app)
    assert any("cannot be reached" in e.value and "EXPLORER_WEIGHTS_DIR" in e.value for e in app.error)
    assert app.title[0].value == "SqueezeNet 1.1" and len(app.get("plotly_chart")) == 1
