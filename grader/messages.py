"""One message catalogue per language, so every sentence a student reads can be translated.

The engine's own messages live in `grader/locales/<lang>.toml`. An assignment adds its own in
`assignments/<name>/messages.toml`, with one table per language (`[en]`, `[ko]`). Lookups try
the current assignment first, then the engine, then English.

A check's name is the first line of its docstring, in English. A translation goes in the
assignment's catalogue under `[<lang>.names]`, keyed by the check's function name:

    [ko.names]
    test_subclasses_module = "MyLinear는 torch.nn.Module을 상속합니다."
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
ASSIGNMENT_CATALOGUE = "messages.toml"
NAMES_TABLE = "names"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
_assignment_folder: ContextVar[Path | None] = ContextVar("assignment_folder", default=None)


class MissingMessage(KeyError):
    """A message key that no catalogue defines: a bug in a check, reported as a grader error."""


@cache
def engine_catalogue(lang: str) -> dict[str, str]:
    path = LOCALES_DIR / f"{lang}.toml"
    if not path.is_file():
        return {}
    return dict(tomllib.loads(path.read_text(encoding="utf-8")))


@cache
def _assignment_tables(folder: Path, lang: str) -> dict[str, Any]:
    path = folder / ASSIGNMENT_CATALOGUE
    if not path.is_file():
        return {}
    return dict(tomllib.loads(path.read_text(encoding="utf-8")).get(lang, {}))


@cache
def assignment_catalogue(folder: Path, lang: str) -> dict[str, str]:
    """The assignment's messages in `lang` (its `[<lang>]` table, without sub-tables)."""
    return {k: v for k, v in _assignment_tables(folder, lang).items() if isinstance(v, str)}


def check_names(folder: Path, lang: str) -> dict[str, str]:
    """Translated check names: `[<lang>.names]`, keyed by the check's function name."""
    return dict(_assignment_tables(folder, lang).get(NAMES_TABLE, {}))


def check_name(folder: Path, check: str, lang: str) -> str | None:
    """The name of check `check` in `lang`, or None: then its docstring names it."""
    return check_names(folder, lang).get(check)


def set_language(lang: str) -> None:
    _language.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _language.get()


def set_assignment(folder: Path | None) -> None:
    _assignment_folder.set(folder)


def template(key: str, lang: str | None = None) -> str:
    lang = lang or _language.get()
    folder = _assignment_folder.get()
    for language in dict.fromkeys((lang, DEFAULT_LANGUAGE)):
        if folder is not None and key in assignment_catalogue(folder, language):
            return assignment_catalogue(folder, language)[key]
        if key in engine_catalogue(language):
            return engine_catalogue(language)[key]
    raise MissingMessage(key)


def say(key: str, /, **params: Any) -> str:
    """The message `key` in the current language, with `params` filled in."""
    return template(key).format(**params)
