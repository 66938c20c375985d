"""The Activations page through AppTest, on every family."""
import pytest

from explorer import costs, zoo
from explorer.ui import cache
from harness import apptest

PAGE = "pages/activations.py"
NETWORKS = ["alexnet", "zfnet", "vgg16", "googlenet", "inception_v4", "resnet50", "plain34",
            "mobilenet_v3_small", "shufflenet_v2_x1_0"]


class ForwardCounter:
    """Counts forward passes of the shared, cached model."""

    def __init__(self, model):
        self.calls = 0
        self.handle = model.register_forward_pre_hook(self._count)

    def _count(self, *_):
        self.calls += 1


@pytest.mark.parametrize("network", NETWORKS)
def test_page_shows_grid_and_heatmap_and_changing_layer_does_not_rerun_the_network(network):
    app = apptest.start(network, PAGE)
    assert not apptest.errors(app)
    assert any(i.proto.imgs and "channels" in (i.proto.imgs[0].caption or "") for i in app.get("image"))
    charts = [c.proto for c in app.get("plotly_chart")]
    assert len(charts) == 2  # the channel heatmap and the statistics over the network
    counter = ForwardCounter(cache.loaded_model(network).model)
    try:
        app.button(key=f"tap:{network}:next").click().run()
        names = [t.name for t in zoo.taps(network)]
        assert app.selectbox(key=f"tap:{network}").value == names[1]
        spatial = [t.name for t in costs.summary(network).taps if len(t.shape) == 3 and t.shape[1] > 1]
        app.selectbox(key=f"tap:{network}").set_value(spatial[-1]).run()  # the deepest maps
        app.radio(key="grid_scale").set_value("own").run()
        assert not apptest.errors(app)
        assert counter.calls == 0
    finally:
        counter.handle.remove()


@pytest.mark.parametrize("network, tap", [("googlenet", "inception_3a/5x5"), ("resnet18", "layer2.0/shortcut"),
                                          ("vgg16", "fc8"), ("alexnet2012", "norm1")])
def test_child_and_vector_taps(network, tap):
    app = apptest.start(network, PAGE)
    app.selectbox(key=f"tap:{network}").set_value(tap).run()
    assert not apptest.errors(app)
    if tap == "fc8":  # the vector strip and the top classes at the logits
        assert {c.proto.spec and "Top classes at fc8" in c.proto.spec for c in app.get("plotly_chart")} >= {True}


def test_top_k_and_download():
    app = apptest.start("vgg16", PAGE)
    app.selectbox(key="tap:vgg16").set_value("conv5_3").run()
    app.slider(key="grid_k").set_value(8).run()
    app.selectbox(key="grid_rank").set_value("max").run()
    assert not apptest.errors(app)
    caption = next(i.proto.imgs[0].caption for i in app.get("image") if "channels" in (i.proto.imgs[0].caption or ""))
    assert caption.startswith("8 of 512 channels, best first by strongest single response")
    assert any(b.proto.label == "Download grid (PNG)" for b in app.get("download_button"))


def test_every_layer_shows_each_leaf_module_and_travels_in_the_link():
    from streamlit.testing.v1 import AppTest

    app = apptest.start("densenet121", "pages/activations.py")
    assert len(app.selectbox(key="tap:densenet121").options) == len(zoo.taps("densenet121"))
    app.toggle(key="every_leaf").set_value(True).run()
    assert not apptest.errors(app)
    leaves = app.selectbox(key="tap:densenet121:leaves").options
    assert len(leaves) == len(zoo.leaf_taps("densenet121")) > 300
    assert "features.denseblock1.denselayer1.conv1" in leaves
    assert app.query_params["leaves"] in ("True", ["True"])
    linked = AppTest.from_file(apptest.APP, default_timeout=300)
    linked.query_params.update(net="resnet18", leaves="True", tap="layer1.0.conv2")
    linked.switch_page("pages/activations.py").run()
    assert linked.toggle(key="every_leaf").value and linked.selectbox(key="tap:resnet18:leaves").value == "layer1.0.conv2"


def test_the_every_layer_switch_keeps_the_place_both_ways():
    """On GoogLeNet's inception_4c, "Every layer" opens at that block's last leaf, and back again
    at the branch around the leaf then shown (it used to jump to the first layer)."""
    app = apptest.start("googlenet", "pages/activations.py")
    app.selectbox(key="tap:googlenet").set_value("inception_4c").run()
    app.toggle(key="every_leaf").set_value(True).run()
    assert not apptest.errors(app)
    assert app.selectbox(key="tap:googlenet:leaves").value == "inception4c.branch4.1.bn"
    app.selectbox(key="tap:googlenet:leaves").set_value("inception4c.branch2.1.conv").run()
    app.toggle(key="every_leaf").set_value(False).run()
    assert app.selectbox(key="tap:googlenet").value == "inception_4c/3x3"
