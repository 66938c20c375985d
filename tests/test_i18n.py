"""English and 中文: one table per language, the same keys in both, every page in both."""
import ast
import re

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n, images
from tests import apptest
from tests.conftest import ROOT

PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
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


def test_the_ui_writes_no_prose_of_its_own():
    """Pages, app.py and explorer/ui take every word from the tables (docstrings aside)."""
    prose, found = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,}"), []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "explorer" / "ui").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
        found += [f"{path.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                  and prose.search(node.value) and node.value != "CNN Explorer"]
    assert found == []


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
