"""Every label and message the app shows, from one table per language (explorer/locales/*.toml).

The active language is per thread of execution (a ContextVar, as Django's `translation.activate`):
each Streamlit session runs its script in its own thread, and sets the language at the top of
each run. Text that outlives a run (cached objects, exceptions) is a lazy `Text`, rendered in
whatever language is active when it is shown.
"""
from __future__ import annotations

import contextlib
import string
import tomllib
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT = "en"
R = TypeVar("R")
LOCALES = Path(__file__).with_name("locales")

_active: ContextVar[str] = ContextVar("explorer_language", default=DEFAULT)
missing: set[tuple[str, str]] = set()  # (language, key) asked for but absent; tests assert it stays empty


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        flat.update(_flatten(value, f"{key}.") if isinstance(value, dict) else {key: value})
    return flat


@lru_cache(maxsize=None)
def table(language: str) -> dict[str, str]:
    """All texts of one language, by dotted key ("home.title")."""
    with open(LOCALES / f"{language}.toml", "rb") as file:
        return _flatten(tomllib.load(file))


def gaps() -> dict[str, list[str]]:
    """Per language, the keys another table has and it lacks, and the keys whose {placeholders}
    differ from English: what a translator still has to do (empty when the tables agree)."""
    every = set().union(*(table(code) for code in LANGUAGES))
    found = {}
    for code in LANGUAGES:
        texts = table(code)
        wrong = [key for key in sorted(every) if key not in texts
                 or placeholders(texts[key]) != placeholders(table(DEFAULT).get(key, texts[key]))]
        if wrong:
            found[code] = wrong
    return found


def placeholders(text: str) -> set[str]:
    """The named fields a text formats ({name}, {share:.1%} -> name, share)."""
    return {field.split(".")[0].split("[")[0]
            for _, field, _, _ in string.Formatter().parse(text) if field}


def language() -> str:
    return _active.get()


def set_language(code: str) -> None:
    """Make `code` the language of this thread's texts (unknown codes fall back to the default)."""
    _active.set(code if code in LANGUAGES else DEFAULT)


@contextlib.contextmanager
def use(code: str) -> Iterator[None]:
    token = _active.set(code if code in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _active.reset(token)


def t(key: str, **params: Any) -> str:
    """The text for `key` in the active language, formatted with `params`.

    A key missing from a table is recorded in `missing` and shown in English (or as the key
    itself), so a gap in a translation never breaks a page. Literal braces are written {{ }}.
    """
    return _text(language(), key, params)


def _text(code: str, key: str, params: dict[str, Any]) -> str:
    text = table(code).get(key)
    if text is None:
        missing.add((code, key))
        text = table(DEFAULT).get(key, key)
    return text.format(**params)


@lru_cache(maxsize=None)
def _class_names(language: str) -> dict[str, str]:
    """English ImageNet class name -> its name in `language`, from explorer/locales/imagenet.<code>.tsv
    (index, torchvision's English name, translation; our own translations); empty for English."""
    path = LOCALES / f"imagenet.{language}.tsv"
    if not path.exists():
        return {}
    rows = [line.split("\t") for line in path.read_text("utf-8").splitlines() if line and not line.startswith("#")]
    return {english: name for _, english, name in rows}


def class_names(english: Sequence[str]) -> tuple[str, ...]:
    """ImageNet's class names (torchvision's English ones, in order) in the active language; a
    name with no translation stays English. Once per language and list: pages ask it every run."""
    return _translated_names(language(), tuple(english))


@lru_cache(maxsize=16)
def _translated_names(code: str, english: tuple[str, ...]) -> tuple[str, ...]:
    translated = _class_names(code)
    return tuple(translated.get(name, name) for name in english)


def names(prefix: str) -> Callable[[object], str]:
    """A widget's format_func: option -> the text "<prefix>.<option>" in the language active now
    (Streamlit may call it again later, from another thread)."""
    code = language()
    return lambda option: _text(code, f"{prefix}.{option}", {})


def bound(func: Callable[..., R]) -> Callable[..., R]:
    """`func` run in the language active now, whichever thread calls it later."""
    code = language()

    def in_language(*args: Any) -> R:
        with use(code):
            return func(*args)
    return in_language


class Text:
    """A text rendered when it is shown, not when it is made: for cached objects and errors."""
    __slots__ = ("key", "params")

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params

    def __str__(self) -> str:
        return t(self.key, **{k: str(v) if isinstance(v, Text) else v for k, v in self.params.items()})

    def __repr__(self) -> str:
        return f"Text({self.key!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.params))))
