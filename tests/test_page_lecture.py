"""The Lecture page, live claim cards, slides and presenter mode through AppTest."""
import dataclasses

from streamlit.testing.v1 import AppTest

from explorer import lecture, weights, zoo
from explorer.cache import clear_memos
from explorer.ui import navigation
from explorer.ui.slides import SLIDES
from harness import apptest

PAGE = "pages/lecture.py"


def all_tabs(app) -> str:
    """The texts of every tab, each opened in turn as a click on it does."""
    text = []
    for section in lecture.SECTIONS:
        app.session_state["_lecture_section"] = section
        app.run()
        assert not apptest.errors(app), section
        text.append(apptest.texts(app))
    return "\n".join(text)


def test_every_card_has_a_verdict_and_a_link():
    app = apptest.start("resnet18", PAGE)
    assert not apptest.errors(app)
    text = all_tabs(app)
    for expected in ("74.27%", "6×6×256 = 9,216", "128.0 M MACs with the reductions vs 303.5 M",
                     "first-conv gradient", "cosine similarity", "256→64"):
        assert expected in text, expected
    assert text.count("-badge[") >= 18


def test_claims_about_trained_networks_are_measured_on_a_trained_one_and_say_so():
    """ResNet-18 and ResNet-50 have no weights here: sparsity and shift stability are measured on
    EfficientNet-Lite0, whose weights ship with a package; LRN, which has no weights, is decided on
    constructed responses; the zero share, which random weights match, decides nothing."""
    app = apptest.start("resnet18", PAGE)
    text = all_tabs(app)
    cards = text.split("-badge[")
    stand_in = "EfficientNet-Lite0 (trained; {}'s weights are not on this machine)"
    sparsity = next(c for c in cards if "after the average ReLU" in c)
    assert stand_in.format("ResNet-18") in sparsity and sparsity.startswith("not shown here]")
    shifts = next(c for c in cards if "cosine similarity" in c)
    assert stand_in.format("ResNet-50") in shifts and shifts.startswith("holds]")
    lrn = next(c for c in cards if "constructed responses" in c)
    assert lrn.startswith("roughly]") and "10.00 → 10.00" in lrn
    cost = next(c for c in cards if "LRN counts as 0 MACs" in c)
    assert cost.split("]")[0] in ("holds", "roughly") and "ms for one image on cpu" in cost


def test_a_card_follows_the_registry(monkeypatch):
    from torch import nn
    from torchvision.models import vgg16

    def wider():
        model = vgg16(weights=None)
        model.classifier[0] = nn.Linear(512 * 7 * 7, 8192)
        model.classifier[3] = nn.Linear(8192, 4096)
        return model

    from explorer.ui import cache

    monkeypatch.setitem(zoo.REGISTRY, "vgg16", dataclasses.replace(zoo.get("vgg16"), build=wider))
    clear_memos()
    cache.results().clear()  # the cards are kept per tab and image: measure them afresh for this registry
    try:
        app = apptest.start("resnet18", PAGE)
        app.session_state["_lecture_section"] = "vgg"
        assert "fc6: 205,529,088 of" in apptest.texts(app.run())
    finally:
        monkeypatch.undo()
        clear_memos()
        cache.results().clear()


def test_only_the_open_tab_is_measured_and_the_tab_travels_in_the_link(cat_image):
    """The first view measures the AlexNet tab only (the shortcut card's four backward passes wait
    for its tab); the open tab is a URL parameter, so a link reopens it, in either language."""
    from explorer.ui import cache

    cache.results().clear()
    app = apptest.start("alexnet", PAGE)
    kinds = lambda: {key[0] for key in cache.results()._items}
    assert "analysis" in kinds() and "twins" not in kinds()
    app.session_state["_lecture_section"] = "resnet"
    app.run()
    assert "twins" in kinds() and app.query_params["section"] in ("resnet", ["resnet"])
    assert "first-conv gradient" in apptest.texts(app)
    app.segmented_control(key="lang").set_value("zh").run()
    assert app.session_state["lecture_tab"] == "ResNet" and not apptest.errors(app)
    linked = AppTest.from_file(apptest.APP, default_timeout=300)
    linked.query_params.update(net="alexnet", section="notes")
    linked.switch_page(PAGE).run()
    assert linked.session_state["lecture_tab"] == "Where the notes slip"
    assert "max pooling" in apptest.texts(linked) and "-badge[" in apptest.texts(linked)


def _presenting(app) -> bool:
    return any("font-size: 21px" in str(element.proto) for element in app.get("html"))


def test_slides_step_through_saved_views_keeping_presenter_mode_and_the_open_controls():
    app = apptest.start("squeezenet1_1")
    kept = app.session_state["_kept"]
    app.session_state["_kept"] = kept | {"lecture_tools": True}  # as opening the expander keeps it
    app.run()
    app.toggle(key="presenter").set_value(True).run()
    assert _presenting(app)
    for index in range(len(SLIDES)):
        app.button(key="slide_next").click().run()
        assert not apptest.errors(app), index
        assert app.selectbox(key="network").value == SLIDES[index].shown, index
        assert app.session_state["slide"] == index
        assert _presenting(app) and app.toggle(key="presenter").value, index  # presenter mode stays on
        assert app.session_state["lecture_tools"], index  # the controls stay open
    app.button(key="slide_previous").click().run()
    assert app.session_state["slide"] == len(SLIDES) - 2 and _presenting(app)
    app.toggle(key="presenter").set_value(False).run()
    assert not _presenting(app)


def test_a_slide_says_why_random_weights_do_not_spoil_its_point_and_the_claims_slide_is_trained():
    """On a projector the random-weights line says what the slide rests on (VGG16's costs are the
    architecture's); the claims slide opens on the trained network this machine has; once the
    lecturer picks another network the plain line is back."""
    app = apptest.start("squeezenet1_1")
    app.session_state["_kept"] = app.session_state["_kept"] | {"lecture_tools": True}
    app.run()
    app.toggle(key="presenter").set_value(True).run()
    for _ in range(4):
        app.button(key="slide_next").click().run()
    assert SLIDES[3].name == "vgg_costs" and not apptest.errors(app)
    assert "VGG16: untrained (random) weights — this slide's numbers are the architecture's, the same once " \
           "trained." in apptest.texts(app)
    app.button(key="slide_next").click().run()
    app.button(key="slide_next").click().run()
    assert "ResNet-34: untrained (random) weights, as this slide needs: it measures gradients at the start " \
           "of training." in apptest.texts(app)
    app.button(key="slide_next").click().run()
    assert SLIDES[6].rests_on == "trained" and SLIDES[6].shown == weights.trained_network("resnet50")
    assert app.selectbox(key="network").value == "efficientnet_lite0"  # ResNet-50's weights are not here
    assert not any("untrained" in text for text in apptest.texts(app))
    app.button(key="slide_previous").click().run()
    app.selectbox(key="network").set_value("vgg16").run()  # away from the slide's network
    assert "VGG16: untrained (random) weights — the pictures show the mechanism, not what it learnt." \
        in apptest.texts(app)


def test_presenter_mode_and_the_slide_travel_in_the_url_and_survive_a_reload():
    from harness.apptest import open_link as _open, param as _param

    app = apptest.start("squeezenet1_1")
    app.session_state["_kept"] = app.session_state["_kept"] | {"lecture_tools": True}
    app.run()
    app.toggle(key="presenter").set_value(True).run()
    assert _param(app, "present") == "1" and _param(app, "slide") is None
    for _ in range(4):
        app.button(key="slide_next").click().run()
    assert _param(app, "slide") == "4" and _param(app, "present") == "1"
    url = {name: _param(app, name) for name in app.query_params}

    reloaded = _open(navigation.FILES[SLIDES[3].page], **url)  # a new session from the same URL
    assert not apptest.errors(reloaded)
    assert reloaded.session_state["slide"] == 3 and _presenting(reloaded)
    assert reloaded.toggle(key="presenter").value
    assert f"Slide 4 of {len(SLIDES)}" in apptest.texts(reloaded)
    reloaded.button(key="slide_next").click().run()
    assert reloaded.session_state["slide"] == 4 and _param(reloaded, "slide") == "5"
    assert _open(navigation.FILES[SLIDES[0].page], slide="99", present="yes").session_state.get("slide", -1) == -1  # nonsense: ignored


def test_opening_the_deck_warms_every_slide(monkeypatch):
    import threading

    from explorer.ui import cache

    warmed, analysis = [], cache.analysis

    def spy(loaded, image, *rest):
        if threading.current_thread().name == "warm slides":
            warmed.append(loaded.spec.key)
        return analysis(loaded, image, *rest)

    monkeypatch.setattr(cache, "analysis", spy)
    app = apptest.start("squeezenet1_1")
    for _ in range(2):  # warmed once, when the deck is opened
        app.button(key="slide_next").click().run()
        for thread in threading.enumerate():
            if thread.name == "warm slides":
                thread.join(120)
    assert warmed == [slide.shown for slide in SLIDES]
    assert all(cache.is_cached("analysis", cache.loaded_model(slide.shown), app_image(slide)) for slide in SLIDES)


def app_image(slide):
    from explorer import samples
    from explorer.ui import cache

    path = samples.path(slide.sample)
    return cache.decoded(path.read_bytes(), path.name)


def test_the_zfnet_card_and_slide_open_compare_on_zfnet_beside_the_2012_alexnet():
    """ZFNet's changes are to AlexNet-2012 (96 kernels, 11×11/4), not to torchvision's 64-kernel AlexNet."""
    app = apptest.start("resnet18", PAGE)
    app.session_state["_lecture_section"] = "zfnet"
    app.run()
    links = [link.proto.query_string for link in app.get("page_link") if "compare" in link.proto.page]
    assert len(links) == 1 and "nets=alexnet2012%2Czfnet" in links[0]
    assert dict(SLIDES[2].extra) == {"nets": "alexnet2012,zfnet"}
    compare = apptest.open_link("pages/compare.py", net="zfnet", nets="alexnet2012,zfnet")
    assert compare.session_state["compare_networks"] == ["alexnet2012", "zfnet"] and not apptest.errors(compare)


def test_the_lecture_opens_with_the_papers_top5_timeline_in_both_languages():
    app = apptest.start("resnet18", PAGE)
    table = next(frame.value for frame in app.dataframe if "Year" in frame.value.columns)
    assert list(table.iloc[:, 2]) == [15.3, 14.8, 7.3, 6.67, 3.57, 3.08]  # each paper's reported top-5 error
    assert list(table.iloc[:, 0]) == sorted(table.iloc[:, 0]) and list(table.iloc[:, 2]) == sorted(table.iloc[:, 2],
                                                                                                    reverse=True)
    assert list(table.iloc[:, 1])[:2] == [zoo.get("alexnet2012").name, zoo.get("zfnet").name]
    assert "26.2 %" in table.iloc[0, 3] and "Table 2" in table.iloc[0, 3]
    app.segmented_control(key="lang").set_value("zh").run()
    assert any(list(frame.value.columns) == ["年份", "网络", "Top-5 错误率", "论文报告"] for frame in app.dataframe)


def test_the_vgg_tab_sets_vgg16_beside_vgg19_block_by_block():
    app = apptest.start("vgg16", PAGE)
    app.session_state["_lecture_section"] = "vgg"
    app.run()
    assert not apptest.errors(app)
    table = next(frame.value for frame in app.dataframe if "VGG19 weight layers" in frame.value.columns)
    assert list(table["Stage"]) == ["Block 1: 224×224, 64 channels", "Block 2: 112×112, 128 channels",
                                    "Block 3: 56×56, 256 channels", "Block 4: 28×28, 512 channels",
                                    "Block 5: 14×14, 512 channels", "Classifier (fc6–fc8)", "Whole network"]
    assert list(table["VGG16 weight layers"]) == [2, 2, 3, 3, 3, 3, 16]
    assert list(table["VGG19 weight layers"]) == [2, 2, 4, 4, 4, 3, 19]
    assert list(table["VGG19 parameters"])[-1] == 143_667_240 and list(table["VGG16 MACs"])[-1] == 15_470_264_320
    text = apptest.texts(app)
    assert ("VGG19 adds 3×3 convolutions in block 3 (56×56 maps, +1); block 4 (28×28 maps, +1); block 5 (14×14 maps, +1): "
            "5,309,696 parameters more (+3.8%) but 4,161,798,144 MACs more (+26.9%)") in text
    app.segmented_control(key="lang").set_value("zh").run()
    assert "VGG19 在第 3 块（56×56 的特征图，+1）" in apptest.texts(app)
