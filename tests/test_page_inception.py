"""The Inception branches page through AppTest."""
import pytest

from harness import apptest

PAGE = "pages/inception.py"


@pytest.mark.parametrize("network", ["googlenet", "inception_v3", "inception_v4"])
def test_page_runs_and_steps_through_modules(network):
    app = apptest.start(network, PAGE)
    assert not apptest.errors(app)
    assert len(app.get("plotly_chart")) == 2  # schematic, energy chart; the ablation waits to be asked
    app.button(key="run_ablation").click().run()
    assert not apptest.errors(app) and len(app.get("plotly_chart")) == 4  # ablation before/after
    app.button(key=f"inception_module:{network}:next").click().run()  # stepping costs no ablation
    assert not apptest.errors(app) and len(app.get("plotly_chart")) == 2


def test_googlenet_shows_both_builds_and_ablation():
    app = apptest.start("googlenet", PAGE)
    text = apptest.texts(app)
    assert "**GoogLeNet (2014 paper)**, all nine modules: 1.10 G MACs as built vs 3.88 G naive (3.5×)" in text and "torchvision issue #906" in text
    app.radio(key="ablate:googlenet:inception_3a").set_value("5x5").run()
    app.button(key="run_ablation").click().run()
    assert not apptest.errors(app)
    assert "Zeroing **5x5** changes the next module (inception_3b)" in apptest.texts(app)


def test_other_families_get_a_pointer_to_inception_networks():
    app = apptest.start("resnet18", PAGE)
    assert "has no Inception modules" in apptest.texts(app)
    app.button(key="switch:googlenet").click().run()
    assert not apptest.errors(app)
    assert app.title[0].value == "Inception branches · GoogLeNet (Inception v1)"
