"""Imports run one way (../shared/design.md): pages -> ui -> core; bench and tests beside them,
sharing harness/; nothing in the app imports bench, tests or harness; no cycles in the core."""
import ast
import json
import subprocess
import sys
from pathlib import Path

from harness.paths import ROOT


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, except under `if TYPE_CHECKING:`
    (annotations only, never run)."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import zoo` is a module
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _sources(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))
            if ".venv" not in path.parts]


CORE = [path for path in _sources("explorer") if "ui" not in path.relative_to(ROOT / "explorer").parts]
UI = _sources("explorer/ui")
APP = [ROOT / "app.py", *_sources("pages")]
BESIDE = ("bench", "tests", "harness")


def _reaching(paths: list[Path], prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    return {str(path.relative_to(ROOT)): {name for name in _imports(path)
                                          if name.split(".")[0] in prefixes or name.startswith(prefixes)}
            for path in paths if any(name.split(".")[0] in prefixes or name.startswith(prefixes)
                                     for name in _imports(path))}


def test_the_core_imports_neither_streamlit_nor_the_ui_nor_what_sits_beside_the_app():
    assert _reaching(CORE, ("streamlit", "explorer.ui", "pages", "deploy", *BESIDE)) == {}


def test_the_ui_imports_no_page_and_the_app_nothing_beside_it():
    assert _reaching(UI, ("pages", *BESIDE)) == {}
    assert _reaching(APP, BESIDE) == {}


def test_benchmarks_and_harness_import_no_test_and_tests_no_other_test_module():
    assert _reaching(_sources("bench", "harness"), ("tests",)) == {}
    assert _reaching(_sources("harness"), ("bench",)) == {}
    tests = _sources("tests")
    assert {str(path.relative_to(ROOT)): names for path in tests
            if (names := {name for name in _imports(path) if name.startswith(("tests.test_", "tests.conftest"))})} == {}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports that comes back to where it began, or None (depth-first search)."""
    finished: set[str] = set()

    def search(path: list[str]) -> list[str] | None:
        for imported in sorted(graph[path[-1]]):
            if imported in path:
                return path[path.index(imported):] + [imported]
            if imported not in finished and (found := search([*path, imported])):
                return found
        finished.add(path[-1])
        return None

    return next((found for name in sorted(graph) if name not in finished and (found := search([name]))), None)


def test_the_core_has_no_import_cycle():
    names = {_module_name(path): path for path in CORE}
    graph = {name: {imported for imported in _imports(path) if imported in names and imported != name
                    and imported != "explorer"}  # the package's own __init__ imports nothing of it
             for name, path in names.items()}
    assert _cycle(graph) is None


def test_the_cycle_search_finds_a_cycle():
    assert _cycle({"figures": {"compare"}, "compare": {"numbers", "figures"}, "numbers": set()}) == \
        ["compare", "figures", "compare"]
    assert _cycle({"figures": {"numbers"}, "compare": {"numbers"}, "numbers": set()}) is None


def test_a_session_imports_nothing_once_the_app_package_is_in():
    """Streamlit runs each session in its own thread; modules first imported there by several
    sessions at once can come back half-initialised (see explorer/ui/__init__.py). So once the
    package app.py imports first is in, nothing the app's code imports anywhere (pages, the ui,
    the core, at any depth of their code) may still be missing."""
    wanted = sorted({name for path in [*APP, *UI, *CORE] for name in _imports(path)})
    probe = ("import importlib.util, json, sys\n"
             "import explorer.ui\n"
             "def is_module(name):\n"
             "    try:\n"
             "        return importlib.util.find_spec(name) is not None\n"
             "    except ModuleNotFoundError:\n"
             "        return False\n"
             "wanted = json.loads(sys.stdin.read())\n"
             "print(json.dumps([name for name in wanted if name not in sys.modules and is_module(name)]))\n")
    run = subprocess.run([sys.executable, "-c", probe], input=json.dumps(wanted), capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == []


def test_no_script_has_a_statement_that_streamlit_magic_would_show():
    """.streamlit/config.toml turns magic off (it rewrites every script for every new session), so a
    bare expression meant to be shown would silently show nothing: Streamlit's own rewrite finds none."""
    import tomllib

    from streamlit.runtime.scriptrunner import magic

    assert tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]["magicEnabled"] is False
    scripts = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    shown = {script.name: [node.lineno for node in ast.walk(magic.add_magic(script.read_text(), str(script)))
                           if isinstance(node, ast.Attribute) and node.attr == "transparent_write"]
             for script in scripts}
    assert len(scripts) == 12 and not any(shown.values()), shown
    probe = magic.add_magic('"""doc"""\nx = 1\nx\n', "probe.py")  # the search finds what magic would show
    assert [node for node in ast.walk(probe) if isinstance(node, ast.Attribute) and node.attr == "transparent_write"]
