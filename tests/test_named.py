"""Any CNN by name (torchvision's classification networks, timm/<name>) and your own weights."""
import io
import json
import os
import struct
import subprocess
import sys
import time

import pytest
import timm
import torch
from torch import nn
from torchvision.models import get_model_weights, resnet18

from explorer import costs, inference, layouts, weights, zoo
from harness import apptest
from harness.paths import ROOT, SAMPLES

NAMED = ["densenet121", "efficientnet_b0", "convnext_tiny", "regnet_y_400mf"]


def hooked_macs(model: nn.Module, size: int) -> int:
    """Multiply-accumulates of every convolution and linear layer, counted from their output
    shapes by forward hooks on a real (CPU) pass: independent of the FLOP counter."""
    total = 0

    def count(module, _args, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.parametrize("name", NAMED)
def test_a_torchvision_network_by_name_counts_as_torchvision_publishes(name):
    meta = get_model_weights(name).DEFAULT.meta
    summary = costs.summary(name)
    assert summary.params == meta["num_params"]
    assert round(summary.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=0.0015)
    assert zoo.get(name).family == "named" and zoo.get(name).top1 == meta["_metrics"]["ImageNet-1K"]["acc@1"]


def test_a_timm_network_by_name_counts_as_timm_builds_it():
    model = timm.create_model("resnet50d", pretrained=False)
    summary = costs.summary("timm/resnet50d")
    assert summary.params == sum(p.numel() for p in model.parameters()) == 25_576_264
    assert summary.macs == hooked_macs(model, zoo.get("timm/resnet50d").preprocess.crop)


def test_named_taps_are_blocks_in_forward_order_and_every_one_is_captured(cat_image):
    taps = zoo.taps("densenet121")
    names = [tap.name for tap in taps]
    order = ["features.conv0", "features.denseblock1", "features.transition1", "features.denseblock2",
             "features.transition3", "features.denseblock4", "features.norm5", "classifier"]
    assert [name for name in names if name in order] == order
    assert sum(tap.parent == "features.denseblock1" for tap in taps) == 6  # its six dense layers, as parts
    assert taps[-1].kind == "output"
    record = inference.analyse(inference.load("densenet121"), cat_image).record
    assert set(record.outputs) == set(names) and record.logits.shape == (1000,)
    assert record.outputs["features.denseblock1.denselayer1"].shape == (32, 56, 56)  # the growth rate
    leaves = layouts.auto_layout(zoo.meta_model("densenet121"), 224, every_leaf=True)
    assert len(leaves) > len(taps) and all(not any(zoo.meta_model("densenet121").get_submodule(t.module).children())
                                           for t in leaves)


def test_names_that_are_not_cnns_or_not_networks_get_one_clear_sentence():
    with pytest.raises(zoo.NotACNN, match="vit_b_16 is not a convolutional network"):
        zoo.get("vit_b_16")
    with pytest.raises(KeyError, match="unknown network 'resnet9000'"):
        zoo.get("resnet9000")
    with pytest.raises(KeyError):
        zoo.get("timm/no_such_model")
    with pytest.raises(KeyError, match="did you mean resnet50[,?]"):  # a letter O for a zero
        zoo.get("resnet5O")


def test_a_network_larger_than_one_request_may_build_is_refused_before_it_is_built(monkeypatch):
    from explorer import rng

    builds = []
    monkeypatch.setattr(rng, "seeded", lambda seed: builds.append(seed))  # RegNet would be built on the CPU
    started = time.perf_counter()
    with pytest.raises(zoo.TooLarge, match=r"regnet_y_128gf has 645 M parameters, more than the 200 M"):
        zoo.get("regnet_y_128gf")
    with pytest.raises(zoo.TooLarge, match="EXPLORER_MAX_PARAMS"):
        zoo.get("timm/convnext_xxlarge")  # timm publishes no count: measured on the meta device
    assert builds == [] and time.perf_counter() - started < 30


@pytest.mark.parametrize("name", ["convnext_tiny", "timm/resnet50d"])
def test_every_page_renders_for_a_named_network(name):
    from streamlit.testing.v1 import AppTest

    from harness.paths import PAGES

    app = AppTest.from_file(apptest.APP, default_timeout=300)
    app.query_params.update(net=name)
    app.run()
    assert app.selectbox(key="network").value == name and not apptest.errors(app)
    for page in PAGES:
        app.switch_page(page).run()
        assert not apptest.errors(app), page
    app.switch_page("pages/inception.py").run()
    assert "has no Inception modules" in apptest.texts(app) or "no Inception" in apptest.texts(app)


def test_the_sidebar_adds_a_network_typed_by_name_and_explains_a_bad_one():
    app = apptest.start("alexnet")
    app.text_input(key="named_input").set_value("regnet_y_400mf").run()
    assert app.selectbox(key="network").value == "regnet_y_400mf" and not apptest.errors(app)
    assert "regnet_y_400mf" in app.selectbox(key="network").options[-1]
    app.text_input(key="named_input").set_value("vit_b_16").run()
    assert any("not a convolutional network" in e.value for e in app.error)
    assert app.selectbox(key="network").value == "regnet_y_400mf"
    app.text_input(key="named_input").set_value("regnet_y_128gf").run()
    assert any("more than the 200 M this server builds" in e.value for e in app.error)
    assert app.selectbox(key="network").value == "regnet_y_400mf"


# ---------------------------------------------------------------- your own weights

CLASSES = [f"flower {i}" for i in range(10)]


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory):
    """A ResNet-18 fine-tuned to 10 classes (its head made to favour class 7), as .pth and
    .safetensors, and a class-name file."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("fine_tuned")
    torch.manual_seed(0)
    model = resnet18(num_classes=10)
    with torch.no_grad():
        model.fc.bias.zero_()
        model.fc.bias[7] = 50.0
    state = model.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, folder / "flowers.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "flowers.safetensors"))
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    return folder


@pytest.mark.parametrize("file", ["flowers.pth", "flowers.safetensors"])
def test_fine_tuned_weights_with_a_class_file_predict_their_own_labels(fine_tuned, cat_image, file):
    loaded = inference.load_user("resnet18", (fine_tuned / file).read_bytes(), file,
                                 (fine_tuned / "classes.txt").read_bytes(), "classes.txt")
    assert loaded.status.yours and loaded.status.pretrained and loaded.model.fc.out_features == 10
    assert loaded.status.uploaded_file == file
    logits = inference.analyse(loaded, cat_image, taps=()).record.logits
    assert inference.top_k(logits, classes=loaded.class_names)[0].label == "flower 7"
    assert loaded.class_names == tuple(CLASSES)


def test_the_cli_predicts_with_your_weights(fine_tuned):
    done = subprocess.run([sys.executable, "-m", "explorer", "predict", "resnet18", str(SAMPLES / "cat.jpg"),
                           "--weights", str(fine_tuned / "flowers.safetensors"), "--classes",
                           str(fine_tuned / "classes.txt"), "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["weights"].startswith("pretrained:yours:") and result["weights"].endswith(":flowers.safetensors")
    assert result["top5"][0]["label"] == "flower 7"
    assert done.stderr == ""  # no random-weights warning: these are trained


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/explorer-pickle-ran"


def _hostile(fine_tuned) -> dict[str, tuple[bytes, str]]:
    pickled = io.BytesIO()
    torch.save({"fc.weight": _Payload()}, pickled)
    good = (fine_tuned / "flowers.pth").read_bytes()
    safe = (fine_tuned / "flowers.safetensors").read_bytes()
    header_length = struct.unpack("<Q", safe[:8])[0]
    header = json.loads(safe[8:8 + header_length])
    name = next(key for key in header if key != "__metadata__")
    header[name]["data_offsets"] = [0, 10**12]  # a header that lies about where the data is
    lying = json.dumps(header).encode()
    big = resnet18(num_classes=1000)
    big.layer1 = nn.Sequential()  # shapes that fit nothing
    wrong = io.BytesIO()
    torch.save(big.state_dict(), wrong)
    return {"code.pth": (pickled.getvalue(), "weights.unreadable_upload"),
            "cut.pth": (good[:len(good) // 2], "weights.legacy_format"),  # no central directory: not an archive
            "lying.safetensors": (struct.pack("<Q", len(lying)) + lying + safe[8 + header_length:],
                                  "weights.unreadable_upload"),
            "wrong.pth": (wrong.getvalue(), "weights.keys"),
            "notes.txt": (b"hello", "weights.upload_type")}


def test_hostile_weight_files_are_refused_with_a_message_and_nothing_written(fine_tuned, tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    before = {p: sorted(os.listdir(p)) for p in (ROOT, os.environ["TORCH_HOME"], "/tmp") if os.path.isdir(p)}
    for file, (data, reason) in _hostile(fine_tuned).items():
        with pytest.raises(weights.WeightsError) as refused:
            inference.load_user("resnet18", data, file)
        assert refused.value.args[0].key == reason, file
        assert str(refused.value) and "\n" not in str(refused.value), file
    assert not os.path.exists(MARKER)  # the pickled code never ran
    after = {p: sorted(os.listdir(p)) for p in before}
    assert after == before
    with pytest.raises(weights.WeightsError, match="names 3 classes, but the weights have 10 outputs"):
        inference.load_user("resnet18", (fine_tuned / "flowers.pth").read_bytes(), "flowers.pth", b"a\nb\nc\n",
                            "three.txt")


def test_uploaded_weights_drive_the_pages_and_are_labelled_yours(fine_tuned):
    app = apptest.start("resnet18")
    app.file_uploader(key="own_weights:resnet18").set_value(("flowers.pth", (fine_tuned / "flowers.pth").read_bytes(),
                                                              "application/octet-stream"))
    app.file_uploader(key="own_classes:resnet18").set_value(("classes.txt", (fine_tuned / "classes.txt").read_bytes(),
                                                              "text/plain"))
    app.run()
    assert not apptest.errors(app)
    text = apptest.texts(app)
    charts = " ".join(chart.proto.spec for chart in app.get("plotly_chart"))
    assert "yours (flowers.pth)" in text and "flower 7" in charts  # the top-5 bar chart names your classes
    assert "untrained (random) weights" not in text
    assert [m.value for m in app.metric][3:5] == ["—", "—"]  # ImageNet's published top-1/top-5 are not yours
    assert "Your weights (flowers.pth, 10 classes): the published ImageNet accuracy is not theirs" in text
    for page in ("pages/activations.py", "pages/attribution.py"):
        app.switch_page(page).run()
        assert not apptest.errors(app), page
    assert "flower 7" in app.selectbox(key="attr_target").options[0]  # attribution explains your predicted class
    assert app.selectbox(key="attr_target").options[1:] == CLASSES
    bad = apptest.start("resnet18")
    bad.file_uploader(key="own_weights:resnet18").set_value(("code.pth", _hostile(fine_tuned)["code.pth"][0],
                                                             "application/octet-stream"))
    bad.run()
    assert not apptest.errors(bad) and any("cannot be read as weights" in e.value for e in bad.error)
    assert "random" in apptest.texts(bad)  # the network carries on with what it had


def test_two_files_of_the_same_name_are_two_sets_of_weights_in_the_cache(fine_tuned, cat_image):
    """A class uploading its own `model.pth`s: each file's analysis is its own, not the first one's."""
    from explorer.ui import cache

    other = resnet18(num_classes=10)
    with torch.no_grad():
        other.fc.bias.zero_()
        other.fc.bias[2] = 50.0
    buffer = io.BytesIO()
    torch.save(other.state_dict(), buffer)
    first = inference.load_user("resnet18", (fine_tuned / "flowers.pth").read_bytes(), "model.pth")
    second = inference.load_user("resnet18", buffer.getvalue(), "model.pth")
    assert first.status.label != second.status.label
    assert cache.key_of("analysis", first, cat_image) != cache.key_of("analysis", second, cat_image)
    top = lambda loaded: int(inference.analyse(loaded, cat_image, taps=()).record.logits.argmax())
    assert (top(first), top(second)) == (7, 2)


def test_the_servers_upload_limit_is_the_weights_uploaders_and_fits_the_largest_buildable_network():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == weights.MAX_WEIGHTS_BYTES >= 4 * zoo.MAX_PARAMS
    with pytest.raises(weights.WeightsError, match="a list of class names may be"):  # a client ignoring the browser's 10 MB
        weights.read_class_names(b"x\n" * (weights.MAX_CLASS_FILE_BYTES // 2 + 1), "classes.txt")


def test_a_class_file_added_after_the_weights_renames_the_predictions(fine_tuned):
    """Weights first, their class names a moment later (as a person uploads them): the charts
    cached for the weights alone, under the same weights label, must not be shown again."""
    app = apptest.start("resnet18")
    app.file_uploader(key="own_weights:resnet18").set_value(("flowers.pth", (fine_tuned / "flowers.pth").read_bytes(),
                                                              "application/octet-stream")).run()
    assert "class 7" in " ".join(chart.proto.spec for chart in app.get("plotly_chart"))
    app.file_uploader(key="own_classes:resnet18").set_value(("classes.txt", (fine_tuned / "classes.txt").read_bytes(),
                                                              "text/plain")).run()
    assert not apptest.errors(app) and "flower 7" in " ".join(chart.proto.spec for chart in app.get("plotly_chart"))
