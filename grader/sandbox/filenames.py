"""File names from a submission, and the files staging leaves out so that what runs is the
source a reader sees.

A name is untrusted bytes. It may not be UTF-8 (Korean Windows writes CP949), or hold a newline,
a control, bidi or invisible character that makes it look like another name. Such a file is
still staged under its real name, so nothing is lost; every report shows it by an escaped
display name (`formats.text.inert_name`), and keeps its raw bytes in hex.

Python imports an extension module (`.so`, `.pyd`) before a `.py` of the same name, a package
(a folder with `__init__.py`) before a module, and a cached or sourceless `.pyc` instead of the
source. None of them is what a reader of the `.py` sees, so staging leaves them all out, with a
note, and the report flags them.
"""

from __future__ import annotations

import importlib.machinery
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath

from grader.formats.text import inert_name, unsafe_in_name

BYTECODE_SUFFIXES = (".pyc", ".pyo")
EXTENSION_SUFFIXES = tuple(
    sorted({*importlib.machinery.EXTENSION_SUFFIXES, ".so", ".pyd", ".dylib"}, key=len)
)
BYTECODE_DIRS = frozenset({"__pycache__"})
MAX_CACHE_ENTRIES = 200
PYC_HEADER_BYTES = 16


@dataclass(frozen=True)
class Name:
    """A relative path as the reports show it, and its raw bytes when that display differs."""

    shown: str
    raw_hex: str = ""
    not_utf8: bool = False
    invisible: bool = False


def name_of(relative: PurePath) -> Name:
    """The display name of `relative` (a path from `os.walk`, surrogate-escaped if not UTF-8)."""
    text = relative.as_posix()
    raw = os.fsencode(text)
    try:
        raw.decode("utf-8")
        not_utf8 = False
    except UnicodeDecodeError:
        not_utf8 = True
    shown = inert_name(text)
    if shown == text:
        return Name(shown)
    invisible = any(not 0xDC80 <= ord(c) <= 0xDCFF for c in unsafe_in_name(text))
    return Name(shown, raw.hex(), not_utf8, invisible)


def stripped_kind(name: str, is_dir: bool, siblings: set[str]) -> str | None:
    """Why staging leaves this entry out: `bytecode`, `extension`, `package`, or None to keep.

    `siblings` are the other names in the same folder: a folder `x/` next to `x.py` would be
    imported instead of it (with `__init__.py`), or be mistaken for it (a namespace package).
    """
    if is_dir:
        if name in BYTECODE_DIRS:
            return "bytecode"
        if f"{name}.py" in siblings:
            return "package"
        return None
    lowered = name.lower()
    if lowered.endswith(BYTECODE_SUFFIXES):
        return "bytecode"
    if lowered.endswith(EXTENSION_SUFFIXES):
        return "extension"
    return None


def _pyc_flags(path: Path) -> int | None:
    """The flags word of a pyc header (0: checked by timestamp), or None if unreadable."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        header = os.read(fd, PYC_HEADER_BYTES)
    finally:
        os.close(fd)
    if len(header) < PYC_HEADER_BYTES:
        return None
    return int.from_bytes(header[4:8], "little")


def honest_cache(folder: Path, sources: set[str]) -> bool:
    """Whether `folder` (a `__pycache__`) is what running the sources writes: only pycs named
    after a `.py` beside it, checked against its timestamp. A hash-based pyc (unchecked ones
    are never compared with the source) or a pyc without its source is not."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return False
    if len(entries) > MAX_CACHE_ENTRIES:
        return False
    for entry in entries:
        stem = entry.name.split(".", 1)[0]
        if not entry.name.endswith(".pyc") or f"{stem}.py" not in sources:
            return False
        if _pyc_flags(Path(entry.path)) != 0:
            return False
    return True
