"""What runs is what a reader sees: student source is run only when its bytes mean the same as
UTF-8, and only from the `.py` itself.

Python decodes a source file by its PEP 263 coding cookie. A cookie such as `utf-7` makes it
run a line that every editor shows as a comment, and bytes that are not UTF-8 (CP949 from
Korean Windows, say) read differently in every editor. So a file is accepted when it is UTF-8
(with or without a BOM) and its cookie, if any, decodes its bytes to exactly the same text;
anything else fails the exercise with one message that says how to re-save the file. Nothing
is ever decoded another way.

In the sandbox child, imports from the scratch folder go through `SourceOnlyLoader`: the `.py`
is compiled from its bytes every time, no cached or shipped `.pyc` is read and none is
written, extension modules there are never found, and an unreadable file is refused.
"""

from __future__ import annotations

import ast
import codecs
import importlib.machinery
import io
import os
import re
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.formats.text import UNSAFE_CHARS, visible_controls
from grader.messages import say

BOM = codecs.BOM_UTF8
UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})
MAX_MODULES = 200
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
# Invisible or bidi characters in source; tab, newline, CR and form feed are ordinary there.
_INVISIBLE = re.compile(f"[{UNSAFE_CHARS}]")
_ORDINARY = frozenset("\t\n\r\x0c")


@dataclass(frozen=True)
class Unreadable:
    """Why a source file is not run: a catalogue key and what fills it."""

    key: str
    codec: str = ""
    line: int = 0
    detail: str = ""

    def message(self, file: str) -> str:
        return say(self.key, file=file, codec=self.codec, line=self.line, detail=self.detail)

    def reason(self) -> str:
        if self.key == "source_not_utf8":
            return self.detail
        return f"coding: {self.codec}"


def _cookie(raw: bytes) -> tuple[str, int]:
    """The coding cookie's name and line (1 or 2), or ("", 0), as PEP 263 places it."""
    lines = raw.splitlines()[:2]
    for number, line in enumerate(lines, start=1):
        match = _COOKIE.match(line)
        if match:
            return match.group(1).decode("ascii", "replace"), number
        if not re.match(rb"^[ \t\f]*(?:[#\r\n]|$)", line):
            break
    return "", 0


def _not_utf8_detail(body: bytes, offset: int) -> str:
    try:
        as_korean = body.decode("cp949")
    except UnicodeDecodeError:
        as_korean = ""
    if any("\uac00" <= char <= "\ud7a3" for char in as_korean):
        return say("source_detail_cp949")
    return say("source_detail_bytes", offset=offset)


def unreadable(raw: bytes) -> Unreadable | None:
    """None when `raw` reads the same to Python as UTF-8 to an editor; else why not."""
    body = raw[len(BOM) :] if raw.startswith(BOM) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unreadable("source_not_utf8", detail=_not_utf8_detail(body, exc.start))
    codec, line = _cookie(raw)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError:
        return Unreadable("source_bad_cookie", codec=visible_controls(codec), line=line or 1)
    if codecs.lookup(encoding).name in UTF8_NAMES:
        return None
    try:
        same = raw.decode(encoding) == text
    except (UnicodeDecodeError, LookupError, ValueError):
        same = False
    return None if same else Unreadable("source_cookie", codec=codec or encoding, line=line)


def invisible_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, the characters escaped) for each line holding invisible or bidi ones;
    a BOM at the very start is allowed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, line in enumerate(text.split("\n"), start=1):
        found = [c for c in _INVISIBLE.findall(line) if c not in _ORDINARY]
        if found:
            yield number, "".join(dict.fromkeys(visible_controls(c) for c in found))


def decoded(raw: bytes) -> str:
    """The text of a source that `unreadable` accepted."""
    return raw.decode("utf-8-sig")


def _imported_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _module_files(folder: Path, name: str) -> list[Path]:
    package = folder / name
    if package.is_dir() and not package.is_symlink():
        return sorted(p for p in package.rglob("*.py") if p.is_file() and not p.is_symlink())
    module = folder / f"{name}.py"
    return [module] if module.is_file() and not module.is_symlink() else []


def exercise_problem(folder: Path, student_file: str) -> tuple[str, Unreadable] | None:
    """The first unreadable source among `student_file` and the local modules it imports
    (directly or through each other), as (relative path, why); None when all are readable."""
    pending = [folder / student_file]
    seen: set[Path] = set()
    while pending and len(seen) < MAX_MODULES:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        problem = unreadable(raw)
        if problem is not None:
            return path.relative_to(folder).as_posix(), problem
        for name in sorted(_imported_names(decoded(raw))):
            pending.extend(_module_files(folder, name))
    return None


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles the `.py` from its bytes every time: never reads or writes a `.pyc`, and
    refuses a file that would not read the same in an editor."""

    def get_code(self, fullname: str) -> Any:
        raw = self.get_data(self.path)
        problem = unreadable(raw)
        if problem is not None:
            raise ImportError(problem.message(os.path.basename(self.path)), name=fullname)
        return self.source_to_code(raw, self.path)

    def set_data(self, path: str, data: Any, *, _mode: int = 0o666) -> None:
        """Never write bytecode."""


def source_only_imports(folder: str) -> None:
    """In the sandbox child: imports from `folder` (the scratch copy) find `.py` source only.

    Bytecode is not written anywhere either (`sys.dont_write_bytecode`, and the variable for
    any Python the child starts), so nothing Python caches can shadow the source later.
    """
    root = os.path.realpath(folder)

    def hook(entry: str) -> Any:
        where = os.path.realpath(entry or os.getcwd())
        if where == root or where.startswith(root + os.sep):
            return importlib.machinery.FileFinder(
                entry, (SourceOnlyLoader, importlib.machinery.SOURCE_SUFFIXES)
            )
        raise ImportError("not the submission folder")

    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.path_hooks.insert(0, hook)
    for entry in ("", ".", folder, root):
        sys.path_importer_cache.pop(entry, None)
