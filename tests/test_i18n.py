"""English and 中文: one table per language, the same keys in both, every page in both."""
import ast
import re

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n, images, zoo
from harness import apptest
from harness.paths import PAGES, ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "explorer").rglob("*.py"))]


def test_both_tables_have_every_key_with_the_same_placeholders():
    assert i18n.gaps() == {}
    assert len(i18n.table("en")) > 400


def test_a_missing_or_mistranslated_key_is_reported(monkeypatch):
    english, chinese = i18n.table("en"), dict(i18n.table("zh"))
    del chinese["home.prediction"]
    chinese["home.mean"] = "均值（没有占位符）"  # English has {mean}
    monkeypatch.setattr(i18n, "table", lambda code: chinese if code == "zh" else english)
    assert i18n.gaps() == {"zh": ["home.mean", "home.prediction"]}


def test_a_key_missing_at_run_time_is_recorded_and_shown_in_english(monkeypatch):
    english, chinese = i18n.table("en"), dict(i18n.table("zh"))
    del chinese["home.prediction"]
    monkeypatch.setattr(i18n, "table", lambda code: chinese if code == "zh" else english)
    monkeypatch.setattr(i18n, "missing", set())
    with i18n.use("zh"):
        assert i18n.t("home.prediction") == "Prediction" and i18n.t("home.input") == "输入"
    assert i18n.missing == {("zh", "home.prediction")}


def _keys_used_in_code() -> tuple[set[str], set[str]]:
    """Literal keys passed to t/Text, and the constant prefixes of keys built by f-strings or names()."""
    exact, prefixes = set(), set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            first = node.args[0]
            if name in ("t", "Text") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                exact.add(first.value)
            elif name in ("t", "Text") and isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                prefixes.add(first.values[0].value)
            elif name == "names" and isinstance(first, ast.Constant):
                prefixes.add(first.value + ".")
    return exact, prefixes


def test_every_key_the_code_asks_for_is_in_the_tables():
    exact, prefixes = _keys_used_in_code()
    assert len(exact) > 250 and len(prefixes) > 15  # the scan sees the code
    keys = set(i18n.table("en"))
    assert sorted(exact - keys) == []
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in keys)) == []


# Literals in explorer/ that are not prose a reader sees in the UI's language, and why
NOT_UI_PROSE = {
    "top center", "bottom center", "middle right", "middle left", "top right", "top left", "bottom right",
    "bottom left",  # plotly text positions
    "label+percent root",  # a plotly textinfo
    "out of memory",  # matched in torch's own error messages
    "Apple MPS",  # a device's name
    "DejaVu Sans",  # a font's name
    "CIFAR ResNet-",  # a network name: CIFAR ResNet-20, -56, -110
    "seeded random init (seed ", "uploaded, kept in memory",  # WeightsStatus.location: for logs, never drawn
    "ZFNet (wide conv3-5)",  # an English name: readers see the text zoo.name.zfnet_wide
    "latency probes", "warm slides", "networks ahead",  # threads' names
    "warming slide %s failed", "latency probe of %s failed", "building %s ahead failed",  # logs
}


def _prose(path, tree) -> list[str]:
    """String literals that read as English words, apart from docstrings, citations (arguments of
    Paper(...)), errors raised for programmers (ValueError, KeyError, TypeError, RuntimeError), scripts
    and styles for the browser, and NOT_UI_PROSE."""
    pattern = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}")
    skipped = {id(node.body[0].value) for node in ast.walk(tree)
               if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
    for node in ast.walk(tree):
        citation = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Paper"
        programmer_error = isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
            and getattr(node.exc.func, "id", "") in ("ValueError", "KeyError", "TypeError", "RuntimeError")
        if citation or programmer_error:
            skipped |= {id(inner) for inner in ast.walk(node)}
    return [f"{path.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
            and pattern.search(node.value) and node.value not in NOT_UI_PROSE | {"CNN Explorer"}
            and not node.value.startswith(("<script>", "<style>"))]  # code for the browser, not words


def test_the_ui_writes_no_prose_of_its_own():
    """app.py, the pages and everything in explorer/ take every word a reader sees from the tables.
    The command line (explorer/cli.py) speaks English only, like the tools it sits beside."""
    found = []
    for path in SOURCES:
        if path.name != "cli.py":
            found += _prose(path, ast.parse(path.read_text()))
    assert found == []


def test_the_prose_check_finds_prose():
    tree = ast.parse('label = f"{k}×{k} avg pool (in forward)"\nraise ValueError("for programmers only")')
    assert _prose(ROOT / "x.py", tree) == ["x.py:1 ' avg pool (in forward)'"]


def test_lazy_texts_render_in_the_language_they_are_shown_in():
    try:
        images.load(b"", "empty.png")
    except images.ImageError as error:
        assert str(error) == "empty.png is empty (0 bytes)."
        with i18n.use("zh"):
            assert str(error) == "empty.png 是空文件（0 字节）。"


def test_widget_labels_keep_their_language_in_any_thread():
    with i18n.use("zh"):
        label = i18n.names("attribution.method")
        bound = i18n.bound(lambda: i18n.t("home.input"))
    assert i18n.language() == "en"
    assert label("occlusion") == "遮挡法" and bound() == "输入"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_both_languages(page, language, monkeypatch):
    monkeypatch.setattr(i18n, "missing", set())
    app = AppTest.from_file(apptest.APP, default_timeout=300)
    app.session_state["network"] = "googlenet" if page == "pages/inception.py" else "alexnet2012"
    app.session_state["lang"] = language
    app.run()
    app.switch_page(page).run()
    assert not apptest.errors(app)
    assert i18n.missing == set()
    text = apptest.texts(app) + "\n".join(expander.label for expander in app.get("expander"))
    assert bool(CJK.search(text)) == (language == "zh")
    if page != "pages/home.py":  # Home's title is the network's name
        assert bool(CJK.search(app.title[0].value)) == (language == "zh")


def test_the_language_switch_changes_the_page_and_the_url():
    app = apptest.start("alexnet2012", "pages/costs.py")
    assert app.title[0].value.startswith("Parameters & FLOPs")
    app.segmented_control(key="lang").set_value("zh").run()
    assert app.title[0].value.startswith("参数与 FLOPs")
    assert _param(app, "lang") == "zh"


def _param(app: AppTest, name: str):
    value = app.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_every_imagenet_class_has_its_own_chinese_name():
    english = zoo.imagenet_classes()
    rows = [line.split("\t") for line in (i18n.LOCALES / "imagenet.zh.tsv").read_text("utf-8").splitlines()
            if not line.startswith("#")]
    assert [int(row[0]) for row in rows] == list(range(1000))
    assert tuple(row[1] for row in rows) == english  # in torchvision's order, row by row
    with i18n.use("zh"):
        chinese = i18n.class_names(english)
    assert len(set(chinese)) == 1000 and all(name.strip() == name and name for name in chinese)
    assert [name for name in chinese if not CJK.search(name)] == ["iPod"]  # a product keeps its name
    assert chinese[281] == "虎斑猫" and chinese[134] == "鹤" and chinese[517] == "起重机"  # tabby; both cranes
    with i18n.use("en"):
        assert i18n.class_names(english) == english


def test_the_chinese_ui_names_every_prediction_in_chinese():
    import json

    app = apptest.start("alexnet")
    app.segmented_control(key="lang").set_value("zh").run()
    top5 = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]["y"]
    assert len(top5) == 5 and all(CJK.search(label) for label in top5), top5
    app.switch_page("pages/compare.py").run()
    app.selectbox(key="compare_preset").set_value("alexnet_zfnet").run()
    cells = app.dataframe[-1].value.iloc[:, 1:].to_numpy().ravel()
    assert len(cells) == 10 and all(CJK.search(cell.split(" · ")[0]) for cell in cells), cells
    app.switch_page("pages/gradient_flow.py").run()
    box = app.selectbox(key="flow_target")
    assert box.format_func(281) == "虎斑猫"
