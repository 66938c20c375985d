"""The Attribution page through AppTest."""
from explorer.ui import cache
from harness import apptest

PAGE = "pages/attribution.py"


def _captions(app) -> list[str]:
    return [i.proto.imgs[0].caption for i in app.get("image") if i.proto.imgs]


def test_two_methods_side_by_side_with_downloads():
    app = apptest.start("resnet18", PAGE)
    assert not apptest.errors(app)
    captions = _captions(app)
    assert any("Grad-CAM" in c for c in captions) and any("Saliency" in c for c in captions)
    assert len(app.get("download_button")) == 2
    assert "explain a **random** network" in apptest.texts(app)


def test_slow_methods_wait_for_run_and_then_are_cached():
    app = apptest.start("squeezenet1_1", PAGE)
    app.selectbox(key="right_method").set_value("occlusion").run()
    assert not any("Occlusion" in c for c in _captions(app))
    app.slider(key="right_window").set_value(112).run()
    app.button(key="right_run").click().run()
    assert not apptest.errors(app)
    assert any("Occlusion" in c for c in _captions(app))
    app.slider(key="attr_opacity").set_value(0.3).run()  # cached: shown without pressing Run again
    assert any("Occlusion" in c for c in _captions(app))


def test_a_chosen_class_and_two_networks():
    app = apptest.start("resnet18", PAGE)
    app.selectbox(key="attr_target").set_value(281).run()
    app.radio(key="attr_mode").set_value("networks").run()
    app.selectbox(key="attr_other").set_value("vgg11").run()
    assert not apptest.errors(app)
    captions = _captions(app)
    assert any(c.startswith("ResNet-18") and "'tabby'" in c for c in captions)
    assert any(c.startswith("VGG11") and "'tabby'" in c for c in captions)
    stored = {(k[1], k[5]) for k in cache.results()._items if k[0] == "attribution"}
    assert {("resnet18", 281), ("vgg11", 281)} <= stored  # 281 = tabby
