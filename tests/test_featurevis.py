"""Feature visualisation: the optimised image excites its channel far beyond natural photos, the
same seed gives the same picture, the regularised picture is smooth, the shared model is left
as it was."""
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from explorer import costs, featurevis, inference, samples
from explorer.modelstate import hook_count
from harness.paths import ROOT
from harness.memory import rss_mb


@pytest.fixture(scope="module")
def alexnet():
    return inference.load("alexnet")


def typical_channels(natural: torch.Tensor) -> list[int]:
    """Channels at the 50th, 60th and 75th percentile of their mean response to the sample photos
    (those with a positive one). The channels natural photos already drive hardest are checked
    separately: they start high, so the same optimisation reaches a smaller multiple of it."""
    order = [int(i) for i in torch.argsort(natural, descending=True) if natural[i] > 0]
    return [order[len(order) * share // 100] for share in (50, 60, 75)]


@pytest.mark.parametrize("key, tap", [("efficientnet_lite0", "stage4.1"), ("alexnet", "relu5")])
def test_the_picture_excites_its_channel_ten_times_more_than_natural_photos(key, tap):
    """EfficientNet-Lite0 is trained (its weights ship with a package); AlexNet runs on random weights."""
    loaded = inference.load(key)
    where = featurevis.tap_of(key, tap)
    natural = featurevis.natural_means(loaded, where)
    channels = typical_channels(natural)
    strongest = int(natural.argmax())
    results = featurevis.visualise(loaded, where, channels + [strongest], featurevis.Settings(steps=128, size=128))
    for result in results[:-1]:
        assert result.activation_end >= 10 * float(natural[result.channel]), (key, result.channel)
        assert result.activation_end > result.activation_start
    assert results[-1].activation_end >= 3 * float(natural[strongest])


def test_natural_means_are_the_channel_means_of_the_sample_photos(alexnet):
    from explorer import images, zoo
    from explorer.taps import capture

    tap = featurevis.tap_of("alexnet", "relu3")
    means = featurevis.natural_means(alexnet, tap)
    expected = []
    for path in sorted(samples.DIRECTORY.glob("*.jpg")):
        x = images.preprocess(images.load(path.read_bytes(), path.name).image, zoo.get("alexnet").preprocess)
        expected.append(alexnet.run(lambda model, device: capture(model, x.to(device), [tap]))[0].outputs["relu3"]
                        .mean((1, 2)))
    assert torch.allclose(means, torch.stack(expected).mean(0), rtol=1e-4, atol=1e-6)


def test_the_same_seed_gives_the_same_picture_and_another_seed_another(alexnet):
    tap = featurevis.tap_of("alexnet", "relu2")
    run = lambda seed: featurevis.visualise(alexnet, tap, [3], featurevis.Settings(steps=16, size=64, seed=seed))[0]
    first, again, other = run(0), run(0), run(1)
    assert np.array_equal(first.image, again.image) and first.curve == again.curve
    assert not np.array_equal(first.image, other.image)


def test_regularised_pictures_hold_less_high_frequency_energy(alexnet):
    """Pixel-space optimisation fills the picture with fine noise; the Fourier, decorrelated,
    jittered parameterisation does not (share of spectral energy above half Nyquist)."""
    tap = featurevis.tap_of("alexnet", "relu3")
    share = lambda regularise: np.mean([featurevis.high_frequency_share(r.image) for r in featurevis.visualise(
        alexnet, tap, [5, 9], featurevis.Settings(steps=64, size=96, regularise=regularise))])
    smooth, noisy = share(True), share(False)
    assert smooth < 0.5 * noisy, (smooth, noisy)
    checkerboard = np.indices((32, 32)).sum(0) % 2 * 255
    assert featurevis.high_frequency_share(np.repeat(checkerboard[..., None], 3, 2).astype(np.uint8)) > 0.99


@pytest.mark.parametrize("objective", ["unit", "layer", "class"])
def test_every_objective_rises(alexnet, cat_image, objective):
    tap = featurevis.tap_of("alexnet", "relu4")
    result = featurevis.visualise(alexnet, None if objective == "class" else tap, [281 if objective == "class" else 100],
                                  featurevis.Settings(objective=objective, steps=24, size=96),
                                  start=cat_image if objective == "layer" else None)[0]
    assert result.activation_end > result.activation_start and len(result.curve) == 24


def test_dreaming_starts_from_the_image(alexnet, cat_image):
    """The DeepDream start inverts the parameterisation: zero steps return the picture itself."""
    from explorer import images

    result = featurevis.visualise(alexnet, featurevis.tap_of("alexnet", "relu2"), [0],
                                  featurevis.Settings(objective="layer", steps=0, size=64), start=cat_image)[0]
    target = torch.from_numpy(images.input_views(cat_image.image, alexnet.spec.preprocess).cropped).permute(2, 0, 1)
    target = torch.nn.functional.interpolate(target[None].float(), size=(64, 64), mode="bilinear", antialias=True)[0]
    difference = np.abs(result.image.astype(float) - target.permute(1, 2, 0).numpy().clip(2.55, 252.45))
    assert difference.mean() < 2.0


def test_fifty_runs_leave_no_hooks_the_weights_unchanged_and_memory_flat(alexnet):
    tap = featurevis.tap_of("alexnet", "relu2")
    weights = {k: v.clone() for k, v in alexnet.model.state_dict().items()}
    flags = [p.requires_grad for p in alexnet.model.parameters()]
    run = lambda: featurevis.visualise(alexnet, tap, [1, 2], featurevis.Settings(steps=2, size=64))
    for _ in range(5):
        run()
    before = rss_mb()
    for _ in range(50):
        run()
    grown = rss_mb() - before
    assert hook_count(alexnet.model) == 0 and [p.requires_grad for p in alexnet.model.parameters()] == flags
    assert all(p.grad is None for p in alexnet.model.parameters())
    assert all(torch.equal(v, weights[k]) for k, v in alexnet.model.state_dict().items())
    assert grown < 40, grown  # MiB


def test_the_cli_writes_the_picture_and_its_numbers(tmp_path):
    out = tmp_path / "channel.png"
    done = subprocess.run([sys.executable, "-m", "explorer", "visualize", "alexnet", "relu3", "12", "--steps", "8",
                           "--size", "64", "--seed", "3", "--out", str(out), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {"key", "tap", "channel", "steps", "seconds", "activation_start", "activation_end",
                           "natural_mean"}
    assert (result["key"], result["tap"], result["channel"], result["steps"]) == ("alexnet", "relu3", 12, 8)
    assert result["activation_end"] > result["activation_start"] and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "untrained filters" in done.stderr  # said plainly: no learnt feature here


@pytest.mark.parametrize("args, message", [(["nonet", "relu3", "1"], "invalid choice"),
                                           (["alexnet", "relu9", "1"], "has no tap 'relu9'"),
                                           (["alexnet", "relu3", "384"], "channels 0 to 383"),
                                           (["alexnet", "relu3", "1", "--steps", "0"], "--steps must be")])
def test_the_cli_refuses_a_bad_request_in_one_line(tmp_path, args, message):
    done = subprocess.run([sys.executable, "-m", "explorer", "visualize", *args, "--out", str(tmp_path / "x.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_model_lock_serves_in_the_order_asked():
    """A long run releases the lock between steps and asks again at once: the session that was
    waiting goes first (a plain threading.Lock usually hands it straight back to the run)."""
    lock = inference.FairLock()
    order = []
    lock.__enter__()

    def session() -> None:
        with lock:
            order.append("waiting session")

    waiting = threading.Thread(target=session)
    waiting.start()
    deadline = time.monotonic() + 10
    while lock.queued < 2:  # the other thread holds its ticket
        assert time.monotonic() < deadline
        time.sleep(0.001)
    lock.__exit__()
    with lock:
        order.append("long run's next step")
    waiting.join(10)
    assert order == ["waiting session", "long run's next step"]


def test_another_session_goes_between_two_steps_of_a_long_run(alexnet):
    """While a 64-step run is under way, another session's forward pass on the same network is
    served within a step or two, not after the run."""
    tap = featurevis.tap_of("alexnet", "relu5")
    steps_done, asked = [], threading.Event()

    def on_step(step: int, _steps: int) -> None:
        steps_done.append(step)
        if step == 4:
            asked.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        long_run = pool.submit(featurevis.visualise, alexnet, tap, [1, 2, 3], featurevis.Settings(steps=64, size=128),
                               on_step=on_step)
        assert asked.wait(60)
        at_request = len(steps_done)
        pool.submit(alexnet.run, lambda model, device: model(torch.zeros(1, 3, 224, 224))).result(60)
        served_after = len(steps_done)
        long_run.result(120)
    assert served_after - at_request <= 2, (at_request, served_after)
    assert len(steps_done) == 64


def test_the_estimate_is_within_half_again_of_the_run(alexnet):
    tap = featurevis.tap_of("alexnet", "relu4")
    settings = featurevis.Settings(steps=48, size=128)
    estimate = featurevis.estimate(alexnet, tap, 3, settings)
    measured = featurevis.visualise(alexnet, tap, [0, 1, 2], settings)[0].seconds
    assert measured / 1.5 <= estimate.seconds(settings.steps) <= measured * 1.5, (estimate, measured)


def test_settings_over_the_servers_limits_are_refused_saying_how_to_raise_them():
    """Counted in multiply-adds from the network's MACs (the same for every visitor, however busy
    the server): eight 224-pixel VGG16 pictures, once estimated at 4,776 s, are refused."""
    vgg_macs = costs.summary("vgg16").macs
    assert featurevis.step_macs("vgg16", 8, 224) == pytest.approx(3 * 8 * vgg_macs)
    assert featurevis.step_macs("vgg16", 4, 112) == pytest.approx(3 * vgg_macs)
    too_much = featurevis.refusal("vgg16", 8, featurevis.Settings(steps=512, size=224))
    assert too_much.key == "features.step_too_long" and "EXPLORER_MAX_STEP_GMACS" in str(too_much)
    assert f"{3 * 8 * vgg_macs / 1e9:,.0f} G" in str(too_much)
    too_long = featurevis.refusal("vgg16", 4, featurevis.Settings(steps=512 * 4, size=160))
    assert too_long.key == "features.run_too_long" and "EXPLORER_MAX_RUN_TMACS" in str(too_long)
    assert featurevis.refusal("vgg16", 4, featurevis.Settings(steps=256, size=160)) is None  # the browser's run
    assert featurevis.refusal("efficientnet_lite0", 8, featurevis.Settings(steps=512, size=224)) is None
