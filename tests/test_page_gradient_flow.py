"""The Gradient flow page through AppTest."""
import pytest

from explorer import gradflow
from harness import apptest

PAGE = "pages/gradient_flow.py"


def test_page_compares_the_34_layer_twins_and_the_sidebar_network():
    app = apptest.start("vgg16", PAGE)
    assert not apptest.errors(app)
    metrics = {m.label: m.value for m in app.metric}
    assert float(metrics["Residual / plain"].rstrip("×").replace(",", "")) > 10  # eval mode at init
    assert len(app.get("plotly_chart")) == 6
    assert "Gradient flow through VGG16" in apptest.texts(app)


def test_batch_statistics_remove_the_vanishing():
    app = apptest.start("resnet18", PAGE)
    app.radio(key="flow_bn").set_value("train").run()
    assert not apptest.errors(app)
    ratio = float({m.label: m.value for m in app.metric}["Residual / plain"].rstrip("×").replace(",", ""))
    assert ratio < 10


@pytest.mark.parametrize("pair", ["cifar20", "18"])
def test_switches_and_a_short_training_run(pair):
    app = apptest.start("resnet18", PAGE)
    app.selectbox(key="flow_pair").set_value(pair).run()
    app.radio(key="flow_init").set_value("zero").run()
    assert not apptest.errors(app)
    if pair == "cifar20":
        app.slider(key="train_steps").set_value(20).run()
        app.button(key="train_start").click().run()
        assert not apptest.errors(app)
        steps = app.session_state[f"training:{gradflow.FlowConfig(pair='cifar20', init='zero')}"]
        assert [s.step for s in steps] == list(range(1, 21))
        assert all(s.loss["residual"] > 0 and s.loss["plain"] > 0 for s in steps)


def test_zeroing_the_last_batchnorm_of_a_network_without_batchnorm_is_said_to_change_nothing():
    app = apptest.open_link(PAGE, net="resnet18", bn="none", init="zero", pair="cifar20")
    ratio = {m.label: m.value for m in app.metric}["Residual / plain"]
    assert "there is no last BN to set to zero" in apptest.texts(app) and not apptest.errors(app)
    app.radio(key="flow_init").set_value("default").run()
    assert {m.label: m.value for m in app.metric}["Residual / plain"] == ratio  # the same networks
    assert "there is no last BN to set to zero" not in apptest.texts(app)
