"""The Compare page through AppTest, for each preset."""
import pytest
import torch

from explorer import backend, compare, zoo
from tests import apptest

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
    table = app.dataframe[-1].value  # the same image: top-5 of every network
    assert list(table.columns)[1:] == [zoo.get(k).name for k in compare.PRESETS[preset]] and len(table) == 5


def test_latency_is_measured_on_the_named_device():
    app = apptest.start("alexnet", PAGE)
    app.multiselect(key="compare_networks").set_value(["squeezenet1_1", "shufflenet_v2_x0_5"]).run()
    assert not any(column.startswith("ms, batch") for column in app.dataframe[0].value.columns)  # until measured
    assert "Measuring the 2 network(s) not yet measured takes about" in apptest.texts(app)
    app.button(key="measure").click().run()
    assert not apptest.errors(app)
    measured = [column for column in app.dataframe[0].value.columns if column.startswith("ms, batch")]
    assert measured == [f"ms, batch 1 ({backend.device_name(torch.device('cpu'))})", "ms, batch 16"]
    assert app.dataframe[0].value[measured].notna().all().all()
    latencies = app.session_state["compare_latency:cpu"]
    assert set(latencies) == {"squeezenet1_1", "shufflenet_v2_x0_5"}
    assert all(0 < b1.seconds < b16.seconds for b1, b16 in latencies.values())
    assert len(app.get("plotly_chart")) >= 3  # bubbles, per parameter, latency
    assert "not yet measured takes about" not in apptest.texts(app)  # the estimate goes with the result


def test_a_ninth_network_is_taken_back_with_a_note():
    app = apptest.start("alexnet", "pages/compare.py")
    nine = ["alexnet", "zfnet", "vgg16", "googlenet", "resnet50", "squeezenet1_1", "mobilenet_v2", "resnet18", "vgg11"]
    app.multiselect(key="compare_networks").set_value(nine).run()
    assert app.multiselect(key="compare_networks").value == nine[:8]
    assert "At most 8 networks" in " ".join(toast.value for toast in app.toast)
    assert not apptest.errors(app)


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
    from tests.test_permalinks import _open

    app = _open(PAGE, net="alexnet", nets="alexnet,timm/resnet50d,no_such_net")
    assert not apptest.errors(app)
    assert app.multiselect(key="compare_networks").value == ["alexnet", "timm/resnet50d"]
    assert app.selectbox(key="network").value == "alexnet"
    assert app.query_params["nets"] in ("alexnet,timm/resnet50d", ["alexnet,timm/resnet50d"])


def test_a_number_never_published_is_a_dash_not_none():
    app = apptest.start("alexnet", PAGE)
    app.multiselect(key="compare_networks").set_value(["alexnet", "efficientnet_lite0"]).run()
    table = app.dataframe[0]
    assert table.value.iloc[1].isna().sum() == 1  # EfficientNet-Lite0's release gives no top-5
    assert table.proto.placeholder == "—"


def test_a_network_left_out_of_like_with_like_is_named_with_its_real_reason():
    from tests.test_permalinks import _open

    app = _open(PAGE, net="alexnet", nets="alexnet,regnet_y_400mf")  # torchvision publishes only V2 numbers for it
    assert not apptest.errors(app)
    captions = [c.value for c in app.caption if "Left out of the accuracy columns" in c.value]
    assert captions and "regnet_y_400mf (torchvision V2 weights (a newer training recipe), single crop)" in captions[0]
    assert "10 crops" not in captions[0]
