"""The Compare page through AppTest, for each preset."""
import pytest
import torch

from explorer import backend, compare, weights, zoo
from harness import apptest

PAGE = "pages/compare.py"


@pytest.mark.parametrize("preset", list(compare.PRESETS))
def test_each_preset(preset):
    app = apptest.start("alexnet", PAGE)
    app.selectbox(key="compare_preset").set_value(preset).run()
    assert not apptest.errors(app)
    assert app.multiselect(key="compare_networks").value == compare.PRESETS[preset]
    assert any(b.proto.label == "Download table (CSV)" for b in app.get("download_button"))
    text = apptest.texts(app)
    if preset == "alexnet_zfnet":
        assert "conv1 11×11/4 → 7×7/2" in text and "96×55×55 → 96×110×110" in text
    if preset == "efficient":
        assert "suits limited storage" in text and "suits limited compute" in text
    table = app.dataframe[-1].value  # the same image: top-5 of every network, an untrained one marked
    assert list(table.columns)[1:] == [zoo.get(k).name + ("" if weights.find_checkpoint(zoo.get(k)) else " · random")
                                       for k in compare.PRESETS[preset]] and len(table) == 5
    assert "their predictions show the mechanics and mean nothing" in text


def _estimated(app) -> list[str]:
    """The page's texts once the probes behind its estimate, timed in the background, are in (as
    the page's own fragment reruns it then)."""
    from explorer.ui import cache

    cache.wait_for_background()
    return apptest.texts(app.run())


def test_a_first_view_does_not_wait_for_the_probes_of_its_estimate(monkeypatch):
    """The estimate's passes (two at batch 16 per network: 12 s of a fresh server's Compare for the
    lecture's five) are timed after the page is drawn, in one background thread per network however
    many sessions ask; the estimate appears on the rerun after them."""
    import threading

    from explorer.ui import cache

    release, calls, probe = threading.Event(), [], compare.probe

    def held_probe(loaded):
        if loaded.spec.key not in pair:  # probes other tests' pages left running
            return probe(loaded)
        calls.append(loaded.spec.key)
        assert release.wait(300)
        return probe(loaded)

    pair = ["mobilenet_v3_small", "squeezenet1_0"]  # probed by no other test in this process
    monkeypatch.setattr(compare, "probe", held_probe)
    first, second = apptest.start("alexnet", PAGE), apptest.start("alexnet", PAGE)
    for app in (first, second):  # both drawn while the probes are held
        app.multiselect(key="compare_networks").set_value(pair).run()
        assert not apptest.errors(app)
        assert "Timing one pass of each network to estimate how long measuring takes…" in apptest.texts(app)
    assert sorted(calls) == [pair[0]]  # one thread, one network at a time, for both sessions
    release.set()
    assert "Measuring the 2 network(s) not yet measured takes about" in _estimated(first)
    assert sorted(calls) == sorted(pair)
    assert all(cache.is_cached("latency_probe", cache.loaded_model(key), None) for key in pair)


def test_latency_is_measured_on_the_named_device_and_kept_for_every_later_visitor():
    pair = ["squeezenet1_1", "shufflenet_v2_x0_5"]  # measured by no other test in this process
    app = apptest.start("alexnet", PAGE)
    app.multiselect(key="compare_networks").set_value(pair).run()
    assert len(app.dataframe) == 1 + 1 + 1  # size, accuracy, top-5: speed comes with its measurement
    assert "Measuring the 2 network(s) not yet measured takes about" in _estimated(app)
    app.button(key="measure").click().run()
    assert not apptest.errors(app)
    columns = [f"ms, batch 1 ({backend.device_name(torch.device('cpu'))})", "ms, batch 16", "images/s, batch 16"]
    table = app.dataframe[2].value  # after size and accuracy
    assert list(table.columns) == ["network", *columns]
    assert list(app.dataframe[1].value["weights"]) == ["random", "random"]
    assert table[columns].notna().all().all()
    assert (table[columns[2]] * table[columns[1]] / 1000).round(6).eq(16).all()  # 16 images in that many ms
    assert len(app.get("plotly_chart")) >= 3  # bubbles, per parameter, latency
    assert "not yet measured takes about" not in apptest.texts(app)  # the estimate goes with the result

    later = apptest.start("alexnet", PAGE)  # another student, or the page reopened
    later.multiselect(key="compare_networks").set_value(pair).run()
    assert later.dataframe[2].value[columns].equals(table[columns])
    assert "not yet measured takes about" not in apptest.texts(later)


def test_a_ninth_network_is_taken_back_with_a_note():
    app = apptest.start("alexnet", "pages/compare.py")
    nine = ["alexnet", "zfnet", "vgg16", "googlenet", "resnet50", "squeezenet1_1", "mobilenet_v2", "resnet18", "vgg11"]
    app.multiselect(key="compare_networks").set_value(nine).run()
    assert app.multiselect(key="compare_networks").value == nine[:8]
    assert "At most 8 networks" in " ".join(toast.value for toast in app.toast)
    assert not apptest.errors(app)
    box = app.selectbox(key="compare_preset")  # no longer "The lecture's five": it says whose list it is
    assert box.value == compare.CUSTOM and box.format_func(box.value) == "Your own choice"
    assert "preset" not in app.query_params
    box.set_value("alexnet_zfnet").run()
    assert app.multiselect(key="compare_networks").value == compare.PRESETS["alexnet_zfnet"]


def test_networks_added_by_name_are_offered_and_counted_as_torchvision_publishes():
    from torchvision.models import get_model_weights

    app = apptest.start("alexnet")
    app.text_input(key="named_input").set_value("densenet121").run()
    app.switch_page(PAGE).run()
    assert "densenet121" in app.multiselect(key="compare_networks").options
    app.multiselect(key="compare_networks").set_value(["alexnet", "densenet121"]).run()
    assert not apptest.errors(app)
    table = app.dataframe[0].value
    assert list(table.iloc[:, 0]) == [zoo.get("alexnet").name, "densenet121"]
    assert table.iloc[1, 1] == get_model_weights("densenet121").DEFAULT.meta["num_params"] == 7_978_856


def test_a_link_may_compare_networks_found_by_name_without_changing_the_sidebar():
    from harness.apptest import open_link as _open

    app = _open(PAGE, net="alexnet", nets="alexnet,timm/resnet50d,no_such_net")
    assert not apptest.errors(app)
    assert app.multiselect(key="compare_networks").value == ["alexnet", "timm/resnet50d"]
    assert app.selectbox(key="network").value == "alexnet"
    assert app.query_params["nets"] in ("alexnet,timm/resnet50d", ["alexnet,timm/resnet50d"])


def test_a_number_never_published_is_a_dash_not_none():
    app = apptest.start("alexnet", PAGE)
    app.multiselect(key="compare_networks").set_value(["alexnet", "efficientnet_lite0"]).run()
    table = app.dataframe[1]
    assert table.value.iloc[1].isna().sum() == 1  # EfficientNet-Lite0's release gives no top-5
    assert table.proto.placeholder == "—"


def test_a_network_left_out_of_like_with_like_is_named_with_its_real_reason():
    from harness.apptest import open_link as _open

    app = _open(PAGE, net="alexnet", nets="alexnet,zfnet,regnet_y_400mf")
    assert not apptest.errors(app)
    captions = [c.value for c in app.caption if "Left out of the accuracy columns" in c.value]
    assert captions and "ZFNet (the paper's table, 10 crops)" in captions[0]
    # found by name, its V2 weights' accuracy stands beside its V1 recipe's: compared like with like on that
    assert "regnet_y_400mf" not in captions[0] and "V2 weights" not in captions[0]
    assert compare.row("regnet_y_400mf").top1 == 74.046 and compare.row("regnet_y_400mf").protocol == "torchvision_v1"


def test_a_probe_that_fails_leaves_the_others_measured_and_is_not_retried(monkeypatch):
    """The estimate goes on without a network whose probe raised (logged), instead of a page that
    says "timing…" forever and retries each second."""
    from explorer.ui import cache

    pair = ["alexnet", "googlenet"]
    cache.results().forget(lambda cached: cached[0] == "latency_probe" and cached[1] in pair)
    probe = compare.probe

    def failing(loaded):
        if loaded.spec.key == "alexnet":
            raise RuntimeError("no memory left")
        return probe(loaded)

    monkeypatch.setattr(compare, "probe", failing)
    models = [cache.loaded_model(key) for key in pair]
    assert cache.latency_probes_soon(models) is None
    cache.wait_for_background()
    probes = cache.latency_probes_soon(models)
    assert probes is not None and len(probes) == 1 and all(seconds > 0 for seconds in probes[0])
    cache._unprobed.discard("alexnet")  # later tests see every network again


def test_networks_are_built_ahead_from_the_last_while_the_page_takes_the_first(monkeypatch, cat_image):
    """Compare's builds run on both cores: a background thread builds and analyses from the last
    network while the page asks from the first, and each network is built once. The thread's
    build waits until the page has begun its own, so who builds which is not left to timing."""
    import threading

    from explorer import inference
    from explorer.ui import cache

    pair = ["squeezenet1_1", "shufflenet_v2_x0_5"]
    for key in pair:
        cache.forget_model(key)
    builders, page_began = [], threading.Event()
    load = inference.load

    def observed(key, *args, **kwargs):
        builders.append((key, threading.current_thread().name))
        if key == pair[0]:
            page_began.set()
        else:
            assert page_began.wait(60)
        return load(key, *args, **kwargs)

    monkeypatch.setattr(inference, "load", observed)
    cache.analyses_ahead(pair, cat_image)
    page = [cache.analysis(cache.loaded_model(key), cat_image) for key in pair]
    cache.wait_for_background()
    assert sorted(builders) == [(pair[1], cache.BACKGROUND_THREADS[2]), (pair[0], threading.current_thread().name)]
    assert all(cache.is_cached("analysis", cache.loaded_model(key), cat_image) for key in pair)
    assert page[1] is cache.analysis(cache.loaded_model(pair[1]), cat_image)  # the thread's, not a second one
    cache.analyses_ahead(pair, cat_image)  # all there: no thread, nothing built again
    assert not any(thread.name == cache.BACKGROUND_THREADS[2] for thread in threading.enumerate())
    assert len(builders) == 2
