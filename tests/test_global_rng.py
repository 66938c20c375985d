"""Torch's process-wide random generator is shared by every session on the server.

A network without published weights is its builder's initialisation under a fixed seed, so
every visitor sees the same untrained network. Any other draw from the global generator while
a network is being built (a throwaway layer constructed, SmoothGrad's noise) shifts that build's
draws: a class of twenty once saw GoogLeNet's channel 116 where one visitor sees channel 178.
The rule these tests hold the code to: nothing draws from the global generator; `rng.seeded`
gives a thread its own generator, so seeded work neither waits for nor shifts anyone else's.
"""
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from torchvision.models import resnet18

from explorer import attribution, efficient, gradflow, images, inference, rng, weights, zoo
from explorer.cache import ByteBudgetCache
from harness import apptest
from harness.paths import SAMPLES


def _small_image() -> torch.Tensor:
    spec = zoo.get("squeezenet1_1")
    return images.preprocess(images.load((SAMPLES / "cat.jpg").read_bytes()).image, spec.preprocess)


def _smoothgrad() -> None:
    model = weights.random_model(zoo.get("squeezenet1_1")).eval()
    attribution.attribute(model, _small_image(), attribution.Settings("smoothgrad", samples=4))


@functools.cache
def _ten_class_upload() -> dict[str, torch.Tensor]:
    """A fine-tuned ResNet-18's state dict with 10 classes (made under a seed: the test draws nothing)."""
    with rng.seeded(10):
        return resnet18(num_classes=10).state_dict()


WORK = {  # everything of ours that builds layers or draws random numbers outside a network's build
    "channel shuffle reach": lambda: efficient.group_reach(12, 3, shuffle=True),
    "smoothgrad": _smoothgrad,
    "uploaded weights with another head": lambda: weights.with_user_weights(
        zoo.get("resnet18"), _ten_class_upload(), "ten.pth", digest="0" * 64),
    "a named network built on the CPU": lambda: zoo.fresh_meta_model("regnet_y_400mf"),
    "named networks on the meta device": lambda: [zoo.fresh_meta_model(name) for name in ("densenet121",
                                                                                        "timm/resnet50d")],
    "residual and plain twins": lambda: gradflow.twins_on_image(
        gradflow.FlowConfig(), images.load((SAMPLES / "cat.jpg").read_bytes()), crops=1, target=None),
}


@pytest.mark.parametrize("name", WORK)
def test_our_work_leaves_the_global_generator_as_it_found_it(name):
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    WORK[name]()
    assert torch.equal(torch.random.get_rng_state(), before), f"{name} drew from torch's global generator"


def test_smoothgrad_is_the_same_map_on_every_run():
    model = weights.random_model(zoo.get("squeezenet1_1")).eval()
    x = _small_image()
    settings = attribution.Settings("smoothgrad", samples=4)
    first, second = (attribution.attribute(model, x, settings) for _ in range(2))
    assert torch.equal(first.raw, second.raw)


def test_a_seeded_build_is_the_same_while_other_sessions_work():
    key = "squeezenet1_1"
    alone = weights.random_model(zoo.get(key)).state_dict()

    def busy(_: int) -> None:
        for name in WORK:
            if name != "residual and plain twins":  # the slow one adds nothing the others do not
                WORK[name]()

    with ThreadPoolExecutor(max_workers=3) as pool:
        others = [pool.submit(busy, n) for n in range(2)]
        builds = [pool.submit(lambda: weights.random_model(zoo.get(key)).state_dict()) for _ in range(6)]
        for future in others:
            future.result()
        for future in builds:
            state = future.result()
            assert all(torch.equal(state[name], value) for name, value in alone.items())


def _smoothgrad_asked(app: apptest.AppTest) -> None:
    app.selectbox(key="left_method").set_value("smoothgrad").run()
    app.button(key="left_run").click().run()


PAGE_VISITS = [  # (page, network, what a person then does): each page, with the views that draw at random
    ("home", "resnet18", None), ("activations", "googlenet", None), ("graph", "googlenet", None),
    ("costs", "vgg16", None), ("efficient", "squeezenet1_1", None), ("inception", "googlenet", None),
    ("gradient_flow", "resnet18", None), ("compare", "alexnet", None),
    ("attribution", "shufflenet_v2_x0_5", _smoothgrad_asked), ("lecture", "alexnet", None),
    ("features", "efficientnet_lite0", None),
]


def test_every_page_leaves_the_global_generator_as_it_found_it():
    with apptest.navigation_pinned():
        for page, network, then in PAGE_VISITS:
            torch.manual_seed(99)
            before = torch.random.get_rng_state()
            app = apptest.start(network, None if page == "home" else f"pages/{page}.py")
            if then:
                then(app)
            assert not apptest.errors(app), (page, apptest.errors(app))
            assert torch.equal(torch.random.get_rng_state(), before), f"the {page} page drew from the global generator"


def test_seeded_restores_the_callers_generator_and_repeats_its_draws():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    with rng.seeded(7):
        first = torch.rand(3)
    with rng.seeded(7):
        second = torch.rand(3)
    assert torch.equal(first, second) and torch.equal(torch.random.get_rng_state(), before)


def test_seeded_draws_are_what_torch_manual_seed_gives():
    """Weights stay what they were under the global generator: the same builder, the same seed."""
    for key in ("alexnet", "vgg11", "googlenet", "resnet18", "mobilenet_v3_small", "efficientnet_b0",
                "timm/resnet50d", "regnet_y_400mf"):
        spec = zoo.get(key)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(weights.seed_for(key))
            reference = spec.build().state_dict()
        ours = weights.random_model(spec).state_dict()
        assert reference.keys() == ours.keys()
        assert all(torch.equal(reference[name], ours[name]) for name in reference), key


def test_two_seeded_blocks_interleave_without_waiting_or_mixing():
    """Two threads inside `seeded` at once, their draws forced to alternate by a barrier: neither
    waits for the other (a lock would deadlock here) and each gets what it gets alone."""
    alone = {}
    for seed in (1, 2):
        with rng.seeded(seed):
            alone[seed] = [torch.randn(4) for _ in range(3)]
    turn = threading.Barrier(2, timeout=10)

    def draws(seed: int) -> list[torch.Tensor]:
        drawn = []
        with rng.seeded(seed):
            for _ in range(3):
                turn.wait()
                drawn.append(torch.randn(4))
        return drawn

    with ThreadPoolExecutor(max_workers=2) as pool:
        together = {seed: pool.submit(draws, seed) for seed in (1, 2)}
        for seed, future in together.items():
            assert all(torch.equal(a, b) for a, b in zip(alone[seed], future.result(timeout=20)))


def test_a_build_in_progress_does_not_hold_up_another_network():
    """A large build paused half-way (the event) while another session builds a small network."""
    halfway, finish = threading.Event(), threading.Event()

    def large_build() -> None:
        with rng.seeded(3):
            torch.randn(8)
            halfway.set()
            assert finish.wait(20)

    with ThreadPoolExecutor(max_workers=2) as pool:
        large = pool.submit(large_build)
        assert halfway.wait(10)
        small = pool.submit(lambda: weights.random_model(zoo.get("squeezenet1_1")))
        small.result(timeout=10)  # with one lock around every draw this waited for the large build
        finish.set()
        large.result(timeout=10)


class Stopped(Exception):
    """Stands in for Streamlit's StopException, raised from a closed tab's next progress update."""


def test_a_build_reports_its_progress_and_a_stop_ends_it_keeping_nothing():
    """The share of parameters drawn rises to all of them (VGG11's biases are constants, 0.01 %)
    with the same weights as a silent build; a stop half-way leaves nothing cached, no mode on
    the thread's stack, and the next build is whole."""
    spec, shares = zoo.get("vgg11"), []
    reported = weights.random_model(spec, shares.append)
    assert shares == sorted(shares) and 0.999 < shares[-1] <= 1.0 and len(shares) > 10
    silent = weights.random_model(spec)
    assert all(torch.equal(a, b) for a, b in zip(reported.state_dict().values(), silent.state_dict().values()))

    def stop_half_way(share: float) -> None:
        if share > 0.5:
            raise Stopped()

    budget = ByteBudgetCache(2 ** 32)
    with pytest.raises(Stopped):
        budget.get_or_compute("vgg11", lambda: inference.load("vgg11", torch.device("cpu"), stop_half_way))
    assert budget.bytes == 0 and torch._C._len_torch_function_stack() == 0
    loaded = budget.get_or_compute("vgg11", lambda: inference.load("vgg11", torch.device("cpu")))
    assert all(torch.equal(a, b) for a, b in zip(loaded.model.state_dict().values(), silent.state_dict().values()))
