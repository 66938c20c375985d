"""What one analysis may keep (issue 27.3): every leaf layer of efficientnet_b7 is 3.3 GB of
activations for one image, which one link used to keep in the shared cache. The pass stops as
soon as its copies pass the limit, and the page says what it would have kept and how to ask for less."""
import threading
import time

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer import costs, images, inference, taps, zoo
from harness import apptest
from harness.paths import SAMPLES
from harness.memory import rss_mb


@pytest.fixture(scope="module")
def cat():
    return images.load((SAMPLES / "cat.jpg").read_bytes(), "cat.jpg")


def test_the_meta_pass_counts_what_a_real_recording_keeps(cat):
    for key in ("googlenet", "efficientnet_b0"):
        loaded = inference.load(key)
        for chosen in (zoo.taps(key), zoo.leaf_taps(key)):
            record = inference.analyse(loaded, cat, chosen).record
            kept = sum(t.numel() * t.element_size() for t in {id(t): t for t in record.outputs.values()}.values())
            every = sum(t.numel() * t.element_size() for t in record.outputs.values())
            assert costs.record_bytes(key, tuple(chosen)) == every and kept <= every


def test_a_recording_over_the_limit_stops_at_the_limit(cat, monkeypatch):
    loaded = inference.load("efficientnet_b0")
    needed = costs.record_bytes("efficientnet_b0", tuple(zoo.leaf_taps("efficientnet_b0")))
    monkeypatch.setattr(inference, "MAX_RECORD_BYTES", 20 * 2 ** 20)
    with pytest.raises(inference.TooMuchToRecord) as refused:
        inference.analyse(loaded, cat, zoo.leaf_taps("efficientnet_b0"))
    message = str(refused.value)
    assert f"keeps {needed / 2 ** 20:,.0f} MB of activations, more than the 20 MB" in message
    assert "EXPLORER_MAX_RECORD_MB" in message and "Every layer" in message
    assert inference.analyse(loaded, cat).record.outputs  # its blocks, 4 MB, still fine
    x = torch.zeros(1, 3, 224, 224)
    with pytest.raises(taps.OverBudget):
        taps.capture(loaded.model, x, zoo.leaf_taps("efficientnet_b0"), most_bytes=2 ** 20)


def test_a_link_to_every_layer_of_efficientnet_b7_is_refused_without_holding_gigabytes():
    peak, sampling = [rss_mb()], threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak.append(rss_mb())
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    app = AppTest.from_file(apptest.APP, default_timeout=300)
    app.query_params.update(net="efficientnet_b7", leaves="True")
    before = rss_mb()
    sampler.start()
    try:
        app.switch_page("pages/activations.py").run()
    finally:
        sampling.set()
        sampler.join()
    assert not apptest.errors(app)
    warnings = " ".join(w.value for w in app.warning)
    assert "keeps 3,298 MB of activations, more than the 512 MB this server keeps" in warnings
    # the network (266 MB), the limit, one pass's working memory: 3.3 GB more before
    assert max(peak) - before < 1500, (before, max(peak))
    app.toggle(key="every_leaf").set_value(False).run()  # asking for less is one click away
    assert not apptest.errors(app) and "3,298 MB" not in " ".join(w.value for w in app.warning)
