"""A copied URL reopens the same view: network, sample, language, page, and the page's tap,
channel, module or method; the URL follows every change of them."""
from harness import apptest
from harness.apptest import open_link as _open, param as _param


def test_an_activations_link_restores_tap_channel_and_language():
    app = _open("pages/activations.py", net="alexnet2012", img="Rocket", lang="zh", tap="norm1", ch="7")
    assert not apptest.errors(app)
    assert app.title[0].value == "激活图 · AlexNet（2012 论文）"
    assert app.selectbox(key="tap:alexnet2012").value == "norm1"
    assert app.selectbox(key="channel:alexnet2012:norm1").value == 7
    assert app.selectbox(key="sample").value == "Rocket"
    assert {k: _param(app, k) for k in ("net", "img", "lang", "tap", "ch")} == \
        {"net": "alexnet2012", "img": "Rocket", "lang": "zh", "tap": "norm1", "ch": "7"}


def test_the_url_follows_the_page_widgets():
    app = _open("pages/activations.py", net="vgg11")
    app.button(key="tap:vgg11:next").click().run()
    tap = app.selectbox(key="tap:vgg11").value
    assert tap != "conv1_1" and _param(app, "tap") == tap
    channel = app.selectbox(key=f"channel:vgg11:{tap}").options[2]
    app.selectbox(key=f"channel:vgg11:{tap}").set_value(int(channel)).run()
    assert _param(app, "ch") == channel
    app.selectbox(key="tap:vgg11").set_value("fc6").run()  # a vector: no channel to link
    assert _param(app, "tap") == "fc6" and _param(app, "ch") is None


def test_links_to_the_other_pages_restore_their_views():
    app = _open("pages/costs.py", net="vgg16", tap="conv5_3")
    assert app.selectbox(key="rf_tap:vgg16").value == "conv5_3" and "conv5_3" in apptest.texts(app)
    app = _open("pages/inception.py", net="googlenet_paper", module="inception_4c")
    assert app.selectbox(key="inception_module:googlenet_paper").value == "inception_4c"
    app = _open("pages/attribution.py", net="resnet18", method="occlusion", method2="integrated_gradients")
    assert not apptest.errors(app)
    assert app.selectbox(key="left_method").value == "occlusion"
    assert app.selectbox(key="right_method").value == "integrated_gradients"


def test_a_link_with_unknown_values_falls_back_to_defaults():
    app = _open("pages/activations.py", net="no_such_net", img="Nope", lang="xx", tap="conv99", ch="-1")
    assert not apptest.errors(app)
    assert app.selectbox(key="network").value == "efficientnet_lite0"  # a first visit's trained network
    assert app.selectbox(key="tap:efficientnet_lite0").value == "stem"
    assert app.title[0].value.startswith("Activations")


def test_an_upload_is_not_in_the_url_and_the_sidebar_says_so():
    app = apptest.start("alexnet")
    app = apptest.upload(app, (apptest.ROOT / "assets" / "samples" / "coffee.jpg").read_bytes(), "mine.jpg")
    assert _param(app, "img") is None and _param(app, "net") == "alexnet"
    assert "Uploads cannot travel in a link" in apptest.texts(app)


def test_every_view_setting_travels_in_the_link():
    """Activations' channel grid, Gradient flow's switches, Attribution's class and Compare's
    networks: opened from a link, each view shows what the link says, and writes it back."""
    app = _open("pages/activations.py", net="vgg11", tap="conv2_1", show="top", k="12", rank="max", scale="own")
    assert (app.slider(key="grid_k").value, app.selectbox(key="grid_rank").value,
            app.radio(key="grid_scale").value) == (12, "max", "own")
    assert (_param(app, "k"), _param(app, "rank"), _param(app, "scale")) == ("12", "max", "own")

    app = _open("pages/gradient_flow.py", net="resnet18", pair="18", bn="train", init="zero", crops="2")
    assert not apptest.errors(app)
    assert (app.selectbox(key="flow_pair").value, app.radio(key="flow_bn").value, app.radio(key="flow_init").value,
            app.select_slider(key="flow_crops").value) == ("18", "train", "zero", 2)
    assert {k: _param(app, k) for k in ("pair", "bn", "init", "crops")} == \
        {"pair": "18", "bn": "train", "init": "zero", "crops": "2"}

    app = _open("pages/attribution.py", net="squeezenet1_1", **{"class": "281"})
    assert app.selectbox(key="attr_target").value == 281 and _param(app, "class") == "281"

    app = _open("pages/compare.py", net="alexnet", nets="vgg16,vgg19,nope", preset="vgg_depths")
    assert not apptest.errors(app)
    assert app.multiselect(key="compare_networks").value == ["vgg16", "vgg19"]
    assert _param(app, "nets") == "vgg16,vgg19" and _param(app, "preset") is None  # two VGGs are no preset
    assert app.selectbox(key="compare_preset").value == "custom"
    by_preset = _open("pages/compare.py", net="alexnet", preset="alexnet_zfnet")  # a link naming only a preset
    assert by_preset.multiselect(key="compare_networks").value == ["alexnet2012", "zfnet"]
    assert by_preset.selectbox(key="compare_preset").value == "alexnet_zfnet"
