"""app.py and the Home page through AppTest: as a person clicks it."""
import pytest

from explorer import costs, i18n, zoo
from explorer.ui import navigation
from harness import apptest
from harness.paths import SAMPLES


@pytest.mark.parametrize("network", ["alexnet", "vgg16", "googlenet", "resnet18", "mobilenet_v2"])
def test_home_runs_on_a_sample_and_shows_the_model_card(network):
    app = apptest.start(network)
    assert not apptest.errors(app)
    spec = zoo.get(network)
    assert app.title[0].value == spec.name
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Parameters"] == f"{costs.summary(network).params:,}"
    assert metrics["Top-1 (published)"] == f"{spec.top1:.2f} %"
    assert len(app.get("image")) == 3 + (spec.family in ("alexnet", "zfnet"))  # input, mean, difference; crops
    assert len(app.get("plotly_chart")) == 1  # the top-5 chart
    assert "untrained (random) weights" in apptest.texts(app)


@pytest.mark.parametrize("network", ["alexnet", "vgg16", "googlenet", "resnet18", "mobilenet_v2"])
def test_home_runs_on_an_uploaded_image(network):
    app = apptest.upload(apptest.start(network), (SAMPLES / "coffee.jpg").read_bytes(), "my coffee.jpg")
    assert not apptest.errors(app)
    assert "my coffee.jpg" in apptest.texts(app)


def test_a_tiny_upload_is_said_to_be_stretched_for_the_network_in_use():
    import io
    from PIL import Image
    small = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(small, "PNG")
    app = apptest.upload(apptest.start("alexnet"), small.getvalue(), "icon.png", "image/png")
    assert not apptest.errors(app)
    assert ("This image is 40×40 px: AlexNet (torchvision) stretches its shorter side to 256 px (6.4× larger)"
            in apptest.texts(app))
    app.selectbox(key="network").set_value("inception_v3").run()  # resizes to 342
    assert "stretches its shorter side to 342 px (8.6× larger)" in apptest.texts(app)


def test_switching_network_keeps_the_uploaded_image():
    app = apptest.upload(apptest.start("alexnet"), (SAMPLES / "rocket.jpg").read_bytes(), "launch.jpg")
    app.selectbox(key="network").set_value("resnet18").run()
    assert not apptest.errors(app)
    assert app.title[0].value == "ResNet-18" and "launch.jpg" in apptest.texts(app)


def test_networks_without_published_weights_say_so():
    app = apptest.start("zfnet")
    assert "No pretrained weights were ever published for ZFNet" in apptest.texts(app)
    assert not any(b.label == "Download pretrained weights" for b in app.button)


@pytest.mark.parametrize("data, name, message", [
    (b"", "empty.jpg", "empty"),
    (b"just some text, not a photo", "notes.jpg", "not an image"),
])
def test_a_bad_upload_shows_a_friendly_error_and_the_app_keeps_working(data, name, message):
    app = apptest.upload(apptest.start("alexnet"), data, name)
    assert not apptest.errors(app)
    assert any(message in e.value and "sample image" in e.value for e in app.error)
    assert app.title[0].value == "AlexNet (torchvision)"  # still showing the sample's results
    good = (SAMPLES / "cat.jpg").read_bytes()
    app.file_uploader(key="upload").set_value(("cat.jpg", good, "image/jpeg"))
    app.run()
    assert not app.error and "cat.jpg" in apptest.texts(app)


def test_pretrained_weights_in_the_cache_are_shown_as_pretrained(tmp_path, monkeypatch):
    import torch
    from explorer import weights
    from explorer.ui import cache

    spec = zoo.get("squeezenet1_1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = weights.hub_path(spec.weights)
    path.parent.mkdir(parents=True)
    torch.save(weights.random_model(spec).state_dict(), path)
    cache.forget_models()
    try:
        app = apptest.start("squeezenet1_1")
        assert not apptest.errors(app)
        assert "runs with untrained" not in apptest.texts(app)
        assert any(spec.weights.name in s.value for s in app.success)
    finally:
        cache.forget_models()


def test_a_permalink_restores_network_and_sample():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(apptest.APP, default_timeout=300)
    app.query_params.update({"net": "resnet18", "img": "Rocket"})
    app.run()
    assert not apptest.errors(app)
    assert app.title[0].value == "ResNet-18" and "sample: Rocket" in apptest.texts(app)
    app.selectbox(key="network").set_value("vgg11").run()
    assert app.query_params["net"] == ["vgg11"] or app.query_params["net"] == "vgg11"


@pytest.mark.parametrize("page", ["pages/costs.py", "pages/activations.py", "pages/inception.py"])
def test_reruns_after_a_page_switch_keep_the_sidebar_choices(page):
    """A second and third run on a page (what every widget change causes) keep network, sample
    and language (a second run used to fail: `st.session_state has no key "network"`)."""
    app = apptest.start("googlenet")
    app.selectbox(key="sample").set_value("Launchpad").run()
    app.segmented_control(key="lang").set_value("zh").run()
    app.switch_page(page).run()
    for _ in range(2):
        app.run()
        assert not apptest.errors(app), page
    assert app.selectbox(key="network").value == "googlenet" and app.selectbox(key="sample").value == "Launchpad"
    assert app.segmented_control(key="lang").value == "zh"
    assert app.query_params["net"] in ("googlenet", ["googlenet"]) and app.query_params["lang"] in ("zh", ["zh"])


def test_the_kept_choice_survives_the_widget_state_being_dropped():
    """Streamlit drops a widget's state after a run that did not draw it; the sidebar draws its
    widgets from the session's kept choices, so the next run shows the same selection."""
    app = apptest.start("resnet18")
    app.segmented_control(key="lang").set_value("zh").run()
    kept = dict(app.session_state["_kept"])
    assert kept["network"] == "resnet18" and kept["lang"] == "zh"
    fresh = apptest.start("alexnet")  # a new session whose widget state holds nothing but the defaults
    fresh.session_state["_kept"] = kept
    fresh.run()
    assert not apptest.errors(fresh)
    assert fresh.selectbox(key="network").value == "resnet18" and fresh.segmented_control(key="lang").value == "zh"
    assert fresh.title[0].value == "ResNet-18"


def test_new_weights_drop_one_network_from_the_caches_and_no_other(cat_image):
    from explorer.ui import cache

    alexnet, resnet = cache.loaded_model("alexnet"), cache.loaded_model("resnet18")
    cache.analysis(alexnet, cat_image)
    cache.analysis(resnet, cat_image)
    cache.forget_model("alexnet")
    assert not cache.is_cached("analysis", alexnet, cat_image) and cache.is_cached("analysis", resnet, cat_image)
    assert cache.loaded_model("resnet18") is resnet and cache.loaded_model("alexnet") is not alexnet


def test_an_older_url_of_the_session_is_no_new_link():
    """Under load the browser can ask for a rerun before it has applied the session's newest URL;
    the older URL was written by the session itself and must not undo the choice made since."""
    app = apptest.start("resnet18")  # the session writes ?net=resnet18&img=Cat
    app.radio(key="image_source").set_value("Upload").run()  # ... then ?net=resnet18
    app.query_params["img"] = "Cat"  # the browser still shows the first
    app.run()
    assert not apptest.errors(app)
    assert app.radio(key="image_source").value == "Upload" and app.selectbox(key="network").value == "resnet18"
    app.query_params["net"] = "vgg11"  # a link the session never wrote is followed
    app.run()
    assert app.selectbox(key="network").value == "vgg11"


def test_home_says_where_to_start_with_three_links_to_views():
    app = apptest.start("alexnet")
    assert "Start here" in apptest.texts(app) and "Glossary" in apptest.texts(app)
    links = {link.proto.page: link.proto.query_string for link in app.get("page_link")}
    # AlexNet's weights are not here: the first step opens the trained network this machine has
    assert links == {"activations": "net=efficientnet_lite0&img=Cat", "costs": "net=vgg16&img=Cat",
                     "gradient_flow": "net=resnet34&img=Cat"}


@pytest.mark.parametrize("language, definition", [("en", "Multiply–accumulate operations for one image"),
                                                  ("zh", "处理一张图像所需的乘加运算次数")])
def test_the_glossary_is_on_every_page_in_both_languages(language, definition):
    from harness.paths import PAGES

    app = apptest.start("squeezenet1_1")
    app.segmented_control(key="lang").set_value(language).run()
    for page in PAGES:
        app.switch_page(page).run()
        assert not apptest.errors(app), page
        assert definition in apptest.texts(app), page


def test_alexnet_home_shows_how_it_was_trained_and_what_the_paper_subtracted():
    app = apptest.start("alexnet2012")
    text = apptest.texts(app)
    assert "2,178 different patches" in text and "the paper's 2,048" in text and "227 × 227" in text
    assert "p = 0.5, 0.5" in text and "mean *image*" in text
    assert "2,178 different patches" not in apptest.texts(apptest.start("resnet18"))


def test_every_page_file_is_a_row_of_the_navigation_with_a_title_in_both_languages():
    from harness.paths import PAGES

    assert sorted(navigation.FILES.values()) == PAGES
    for language in ("en", "zh"):
        titles = [i18n.table(language).get(f"app.page.{page.name}") for page in navigation.PAGES]
        assert all(titles) and len(set(titles)) == len(titles), (language, titles)


def test_the_sidebar_tells_the_forward_time_only_where_the_page_showed_the_analysis():
    """The same on every session: another session's cached analysis does not add the line to a page
    that never ran one (Parameters & FLOPs), and a page that did shows it."""
    with i18n.use("en"):
        told = i18n.t("sidebar.last_analysis", ms=0, device="cpu").split(":")[0]
    home = apptest.start("resnet18")  # its analysis is cached for every session from here on
    assert told in " ".join(c.value for c in home.sidebar.caption)
    costs_page = apptest.start("resnet18", page="pages/costs.py")
    assert not apptest.errors(costs_page)
    assert told not in " ".join(c.value for c in costs_page.sidebar.caption)
