"""The feature visualisation page through AppTest: defaults from the image, one optimisation per
request, the result kept across reruns, every objective, links, both languages."""
from streamlit.testing.v1 import AppTest

from explorer import activations, inference, images
from explorer.ui import cache
from harness import apptest
from harness.paths import SAMPLES

PAGE = "pages/features.py"


def quick(app: AppTest) -> AppTest:
    """The shortest optimisation the page offers, at its smallest size."""
    app.select_slider(key="fv_steps").set_value(16)
    app.select_slider(key="fv_size").set_value(64)
    return app.run()


def test_the_strongest_channels_of_your_image_optimised_once_and_kept():
    app = quick(apptest.start("alexnet", PAGE))
    assert not apptest.errors(app)
    loaded = inference.load("alexnet")
    image = images.load((SAMPLES / "cat.jpg").read_bytes(), "cat.jpg")
    first_tap = app.selectbox(key="fv_tap:alexnet").value
    assert first_tap == "relu3" and app.selectbox(key="fv_tap:alexnet").options[0] == "conv1"  # a middle layer first
    assert "relu3 is a middle layer" in apptest.texts(app)
    maps = inference.analyse(loaded, image).record.outputs[first_tap]
    assert app.multiselect(key=f"fv_channels:alexnet:{first_tap}").value == activations.top_channels(maps, 4)
    assert "untrained (random) weights here: the pictures show" in apptest.texts(app)
    assert "takes about" in apptest.texts(app)  # the cost, measured, before anything runs
    app.button(key="fv_run").click().run()
    assert not apptest.errors(app)
    text = apptest.texts(app)
    assert text.count("Objective:") == 4 and "on the starting image" in text
    assert len([b for b in app.get("download_button")]) >= 4
    computed = cache.results().computed
    app.run()  # a rerun, as any widget causes
    assert cache.results().computed == computed and apptest.texts(app).count("Objective:") == 4
    assert app.query_params["ch"] in (",".join(map(str, activations.top_channels(maps, 4))),
                                      [",".join(map(str, activations.top_channels(maps, 4)))])


def test_a_link_opens_a_channel_with_its_settings():
    app = AppTest.from_file(apptest.APP, default_timeout=300)
    app.query_params.update(net="efficientnet_lite0", tap="stage4.1", ch="3,17", steps="16", size="64")
    app.switch_page(PAGE).run()
    assert not apptest.errors(app)
    assert app.selectbox(key="fv_tap:efficientnet_lite0").value == "stage4.1"
    assert app.multiselect(key="fv_channels:efficientnet_lite0:stage4.1").value == [3, 17]
    assert (app.select_slider(key="fv_steps").value, app.select_slider(key="fv_size").value) == (16, 64)
    assert "random filters happen to prefer" not in apptest.texts(app)  # a trained network: real features
    app.button(key="fv_run").click().run()
    text = apptest.texts(app)
    assert text.count("Objective:") == 2 and "Mean on the sample photos" in text


def test_every_objective_renders_in_both_languages():
    app = quick(apptest.start("alexnet", PAGE))
    for objective in ("unit", "layer", "class"):
        app.radio(key="fv_objective").set_value(objective).run()
        app.button(key="fv_run").click().run()
        assert not apptest.errors(app), objective
        assert apptest.texts(app).count("Objective:") >= 1, objective
    app.segmented_control(key="lang").set_value("zh").run()
    assert not apptest.errors(app) and "通道在找什么" in apptest.texts(app)


def test_the_activations_view_of_a_channel_links_here():
    app = apptest.start("alexnet", "pages/activations.py")
    links = [link for link in app.get("page_link") if "looks for" in link.proto.label]
    assert len(links) == 1 and "features" in links[0].proto.page


def test_a_run_over_the_servers_limit_is_refused_before_it_starts(monkeypatch):
    from explorer import featurevis
    monkeypatch.setattr(featurevis, "MAX_RUN_TMACS", 0.01)
    app = apptest.start("alexnet", PAGE)
    app.select_slider(key="fv_steps").set_value(512).run()
    assert not apptest.errors(app)
    assert "A teacher raises the limit with EXPLORER_MAX_RUN_TMACS" in apptest.texts(app)
    assert not [b for b in app.button if b.key == "fv_run"]
