"""`python -m explorer`: the JSON contract of ../shared/design.md and one-line errors."""
import json

import pytest

from explorer import cli, costs, graph
from harness.cli import run
from harness.paths import SAMPLES
from tests.data import make_bad_inputs



def test_models_json_has_the_agreed_fields():
    result = run("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: row for row in json.loads(result.stdout)}
    assert set(rows["vgg16"]) == {"key", "name", "family", "input_size", "params", "macs", "top1",
                                  "top5", "weights"}
    assert rows["vgg16"]["params"] == 138_357_544 and rows["vgg16"]["input_size"] == [3, 224, 224]
    assert rows["alexnet2012"]["input_size"] == [3, 227, 227] and rows["plain34"]["top5"] is None
    assert rows["resnet18"]["weights"] == "random"


def test_summary_json_lists_taps_in_forward_order():
    result = run("summary", "vgg16", "--json")
    data = json.loads(result.stdout)
    assert data["key"] == "vgg16" and data["params"] == 138_357_544
    names = [t["name"] for t in data["taps"]]
    assert names.index("conv1_1") < names.index("pool1") < names.index("conv5_3") < names.index("fc8")
    conv = data["taps"][0]
    assert set(conv) == {"name", "module", "kind", "shape", "params", "macs", "rf"}
    assert conv["shape"] == [64, 224, 224] and conv["params"] == 1792


def test_predict_json_on_a_sample():
    result = run("predict", "resnet18", str(SAMPLES / "cat.jpg"), "--json")
    data = json.loads(result.stdout)
    assert data["key"] == "resnet18" and data["weights"] == "random" and data["device"] == "cpu"
    assert len(data["top5"]) == 5 and set(data["top5"][0]) == {"index", "label", "prob"}
    probs = [p["prob"] for p in data["top5"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1


ERRORS = [
    (("summary", "lenet", "--json"), "unknown network 'lenet'"),
    (("predict", "alexnet", "/no/such/file.jpg", "--json"), "No such file"),
    (("predict", "alexnet", str(SAMPLES / "CREDITS"), "--json"), "not an image"),
    (("predict", "alexnet", str(SAMPLES / "cat.jpg"), "--device", "cuda:7"), "not available"),
    (("predict", "resnet18", str(SAMPLES / "cat.jpg"), "--device", "tpu"), "not available"),
    (("predict", "alexnet", "/dev/zero", "--json"), "larger than the limit"),
    (("predict", "alexnet", str(SAMPLES), "--json"), "cannot be opened"),
    (("frobnicate",), "invalid choice"),
]


def _one_error_line(status: int, stdout: str, stderr: str, reason: str) -> None:
    assert status == 2 and stdout == ""
    assert stderr.count("\n") == 1 and reason in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("args, reason", ERRORS)
def test_errors_are_one_line_on_stderr_with_status_2(args, reason, capsys):
    status = cli.main(list(args))
    _one_error_line(status, *capsys.readouterr(), reason)


@pytest.mark.parametrize("args, reason", [ERRORS[1], ERRORS[-1]])  # a failed command, a mistyped one
def test_a_process_prints_its_error_in_one_line_and_exits_2(args, reason):
    result = run(*args)
    _one_error_line(result.returncode, result.stdout, result.stderr, reason)


def test_weights_status_json(capsys):
    assert cli.main(["weights", "status", "alexnet", "zfnet", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["key"] for row in data] == ["alexnet", "zfnet"]
    assert data[0]["published"] and data[0]["url"].endswith(".pth") and not data[1]["published"]


def test_claims_json_gives_every_lecture_card_with_its_verdict_in_chinese(capsys):
    from explorer import lecture

    assert cli.main(["claims", "--lang", "zh", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {tuple(row) for row in rows} == {("id", "section", "claim", "measured", "verdict", "network", "trained",
                                             "source")}
    assert [row["section"] for row in rows] == sorted((row["section"] for row in rows), key=lecture.SECTIONS.index)
    assert {row["verdict"] for row in rows} <= {"holds", "roughly", "differs", "not shown here", "paper only"}
    by_id = {row["id"]: row for row in rows}
    assert by_id["lrn_inhibition"] | {"claim": "", "measured": ""} == {
        "id": "lrn_inhibition", "section": "alexnet", "claim": "", "measured": "", "verdict": "roughly",
        "network": "alexnet2012", "trained": None, "source": "constructed"}
    assert (by_id["relu_sparsity"]["verdict"], by_id["relu_sparsity"]["trained"]) == ("not shown here", True)
    assert by_id["resnet_identity_gradient"]["trained"] is False and by_id["vgg_fc6_share"]["source"] == "build"
    assert {row["network"] for row in rows if row["id"] == "limited_compute"} == {"mobilenet_v2", "shufflenet_v2_x1_0"}
    assert "局部响应归一化" in by_id["lrn_inhibition"]["claim"] and "74.27" in by_id["vgg_fc6_share"]["measured"]


def test_an_unforeseen_error_is_still_one_line_with_status_2(monkeypatch, capsys):
    def broken(_args):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(cli, "models_command", broken)
    assert cli.main(["models", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "error: ZeroDivisionError: division by zero\n"


def test_json_never_prints_nan(monkeypatch, capsys):
    monkeypatch.setattr(cli, "models_command", lambda _args: [{"top1": float("nan"), "probs": [float("inf"), 0.5]}])
    assert cli.main(["models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"top1": None, "probs": [None, 0.5]}]


def test_every_bad_input_gives_at_most_one_error_line_and_one_line_per_warning(capsys):
    corpus = make_bad_inputs.generate()
    for case in corpus:
        status = cli.main(["predict", "squeezenet1_1", str(make_bad_inputs.FOLDER / case.name), "--json"])
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert all(line.startswith(("error: ", "warning: ")) for line in lines), (case.name, lines)
        assert len(lines) == len(set(lines)), case.name
        if case.error:
            assert status == 2 and [line for line in lines if line.startswith("error: ")] == [lines[-1]], case.name
            assert case.error in lines[-1] and captured.out == ""
        else:
            assert status == 0 and not any(line.startswith("error: ") for line in lines), case.name
            assert len(json.loads(captured.out)["top5"]) == 5


@pytest.mark.parametrize("model, level", [("resnet50", "blocks"), ("googlenet", "modules")])
def test_graph_json_gives_nodes_and_edges_that_add_up_to_the_summary(model, level, capsys):
    assert cli.main(["graph", model, "--level", level, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["key"] == model and data["level"] == level
    assert set(data["nodes"][0]) == {"id", "label", "block", "kind", "shape", "params", "macs"}
    summary = costs.summary(model)
    assert sum(n["params"] for n in data["nodes"]) == summary.params and sum(n["macs"] for n in data["nodes"]) == summary.macs
    ids = [n["id"] for n in data["nodes"]]
    assert len(set(ids)) == len(ids) and all(a in ids and b in ids for a, b in data["edges"])
    assert len(data["nodes"]) == len(graph.at_level(model, level).boxes)
