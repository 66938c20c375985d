"""The Parameters & FLOPs page through AppTest, one network of every family."""
import pytest

from explorer import costs, zoo
from harness import apptest

PAGE = "pages/costs.py"
ONE_PER_FAMILY = [specs[0].key for specs in zoo.by_family().values()]


@pytest.mark.parametrize("network", ONE_PER_FAMILY)
def test_page_runs_for_every_family(network):
    app = apptest.start(network, PAGE)
    assert not apptest.errors(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Parameters"] == f"{costs.summary(network).params:,}"
    assert metrics["Weight layers"] == str(costs.summary(network).depth)
    downloads = [b.proto for b in app.get("download_button")]
    assert any(d.label == "Download table (CSV)" for d in downloads)
    assert len(app.get("plotly_chart")) == 4  # per layer, shares, treemap, cumulative
    table = app.dataframe[0]  # a vector (after flatten, fc layers) has no receptive field: a dash, not "None"
    assert table.value["receptive field"].isna().sum() == sum(tap.rf is None for tap in costs.summary(network).taps)
    assert table.proto.placeholder == "—"


def test_claims_and_what_if_on_vgg16():
    app = apptest.start("vgg16", PAGE)
    text = apptest.texts(app)
    assert "fc6: 102,764,544 of 138,357,544 parameters = 74.27%" in text
    assert "Two 3×3 vs one 5×5" in text and "conv5_2 + conv5_3" in text
    assert ":green-badge[holds]" in text and ":orange-badge[roughly]" in text


def test_receptive_field_tap_can_be_stepped():
    app = apptest.start("alexnet2012", PAGE)
    app.selectbox(key="rf_tap:alexnet2012").set_value("pool5").run()
    assert not apptest.errors(app)
    assert "receptive field **195** px" in apptest.texts(app)
    app.radio(key="treemap_by").set_value("macs").run()
    assert not apptest.errors(app)
