"""Unpacking a student's archive from a batch root into scratch, refusing anything hostile.

An archive is untrusted input parsed in the trusted batch process, so nothing in it is taken
on trust: every entry's path must stay inside the target, links are left out (with a note),
devices, pipes and encrypted entries refuse the whole archive, and the entry count, the
unpacked size and the compression ratio are bounded while reading (declared sizes can lie).
A refused archive is not graded; the reason goes into that student's report.

Entry names are untrusted bytes too. A zip entry without the UTF-8 flag has no declared
encoding (zipfile reads it as CP437). Its raw bytes are used as UTF-8 when they are valid UTF-8
(macOS and Linux zip write UTF-8 without the flag); else as CP949 when they decode as CP949
(Korean Windows' "Send to compressed folder"), with a note; else as raw bytes, which staging
shows escaped. Tar names are raw bytes already. Every name in a note is shown inert.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from grader.formats.text import inert_name
from grader.messages import say

MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 100 << 20
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1 << 20
CHUNK = 1 << 16
JUNK_DIRS = {"__MACOSX"}

_TAR_COMPRESSION = {
    ".tar.gz": "gz",
    ".tgz": "gz",
    ".tar.bz2": "bz2",
    ".tbz2": "bz2",
    ".tar.xz": "xz",
    ".txz": "xz",
    ".tar": "",
}
SUPPORTED = (".zip", *_TAR_COMPRESSION)
UNSUPPORTED = (".rar", ".7z", ".gz", ".bz2", ".xz", ".zst")
_DRIVE = re.compile(r"^[A-Za-z]:")


class Rejected(Exception):
    """The archive is refused as a whole; the message says why, for the student's report."""


@dataclass
class Unpacked:
    folder: Path
    notes: list[str] = field(default_factory=list)


def archive_suffix(path: Path) -> str | None:
    """The archive suffix of `path` (supported or not), or None when it is not an archive."""
    name = path.name.lower()
    for suffix in sorted((*SUPPORTED, *UNSUPPORTED), key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def student_id(path: Path) -> str:
    """`alice.tar.gz` -> `alice`."""
    suffix = archive_suffix(path)
    return path.name[: -len(suffix)] if suffix else path.name


def zip_name(info: zipfile.ZipInfo, notes: list[str]) -> str:
    """The entry's name as the student's system meant it (see the module docstring)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "cp949"):
        try:
            name = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "cp949" and not raw.isascii():
            notes.append(say("archive_name_cp949", entry=inert_name(name)))
        return name
    return os.fsdecode(raw)


def _relative(name: str) -> PurePosixPath | None:
    cleaned = name.replace("\\", "/")
    if "\0" in cleaned:
        raise Rejected(say("archive_corrupt", detail="an entry name contains a NUL byte"))
    if cleaned.startswith("/") or _DRIVE.match(cleaned):
        raise Rejected(say("archive_absolute", entry=inert_name(name)))
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Rejected(say("archive_traversal", entry=inert_name(name)))
    if not parts or parts[0] in JUNK_DIRS:
        return None
    return PurePosixPath(*parts)


class _Budget:
    """Counts entries and bytes as they are really read, against the archive's own size."""

    def __init__(self, archive_bytes: int) -> None:
        self.archive_bytes = max(archive_bytes, 1)
        self.entries = 0
        self.total = 0

    def entry(self) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise Rejected(say("archive_too_many", limit=MAX_ENTRIES))

    def add(self, size: int) -> None:
        self.total += size
        if self.total > MAX_TOTAL_BYTES:
            raise Rejected(say("archive_too_large", limit=MAX_TOTAL_BYTES >> 20))
        if self.total > RATIO_FLOOR_BYTES and self.total > MAX_RATIO * self.archive_bytes:
            raise Rejected(say("archive_ratio", limit=MAX_RATIO))


class _LimitedReader:
    """A decompressed stream that refuses to yield more than `limit` bytes (tar headers too)."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw = raw
        self.limit = limit
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size >= 0 else self.limit + 1)
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            raise Rejected(say("archive_too_large", limit=MAX_TOTAL_BYTES >> 20))
        return data


def _write(source: IO[bytes], target: Path, budget: _Budget, entry: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:  # `a` then `a/b`, or `a/b` then `a`, in zips and tars alike: a clash
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, flags, 0o600)
    except (FileExistsError, NotADirectoryError, IsADirectoryError):
        raise Rejected(say("archive_duplicate", entry=inert_name(entry))) from None
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            budget.add(len(chunk))
            out.write(chunk)


def _mkdir(target: Path, entry: str) -> None:
    try:
        target.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise Rejected(say("archive_duplicate", entry=inert_name(entry))) from None


def _unzip(archive: Path, target: Path, notes: list[str]) -> None:
    budget = _Budget(archive.stat().st_size)
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            budget.entry()
            name = zip_name(info, notes)
            relative = _relative(name)
            mode = info.external_attr >> 16
            if relative is None:
                continue
            if stat.S_ISLNK(mode):
                notes.append(say("archive_link_skipped", entry=inert_name(name)))
                continue
            if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise Rejected(say("archive_special", entry=inert_name(name)))
            if info.flag_bits & 0x1:
                raise Rejected(say("archive_encrypted", entry=inert_name(name)))
            if info.is_dir():
                _mkdir(target / relative, name)
                continue
            if info.file_size > MAX_TOTAL_BYTES:
                raise Rejected(say("archive_too_large", limit=MAX_TOTAL_BYTES >> 20))
            with bundle.open(info) as source:
                _write(source, target / relative, budget, name)


@contextmanager
def _decompressed(archive: Path, compression: str) -> Iterator[Any]:
    if compression == "gz":
        with gzip.open(archive, "rb") as raw:
            yield raw
    elif compression == "bz2":
        with bz2.open(archive, "rb") as raw:
            yield raw
    elif compression == "xz":
        with lzma.open(archive, "rb") as raw:
            yield raw
    else:
        with archive.open("rb") as raw:
            yield raw


def _untar(archive: Path, compression: str, target: Path, notes: list[str]) -> None:
    budget = _Budget(archive.stat().st_size)
    limit = MAX_TOTAL_BYTES + (MAX_ENTRIES + 2) * 3 * tarfile.BLOCKSIZE
    with _decompressed(archive, compression) as raw:
        stream: Any = _LimitedReader(raw, limit)
        with tarfile.open(fileobj=stream, mode="r|") as bundle:
            for member in bundle:
                budget.entry()
                relative = _relative(member.name)
                if relative is None:
                    continue
                if member.issym() or member.islnk():
                    notes.append(say("archive_link_skipped", entry=inert_name(member.name)))
                    continue
                if member.isdir():
                    _mkdir(target / relative, member.name)
                    continue
                if not member.isreg() or member.issparse():
                    raise Rejected(say("archive_special", entry=inert_name(member.name)))
                if member.size > MAX_TOTAL_BYTES:
                    raise Rejected(say("archive_too_large", limit=MAX_TOTAL_BYTES >> 20))
                source = bundle.extractfile(member)
                if source is not None:
                    _write(source, target / relative, budget, member.name)


def _top_folder(target: Path) -> Path:
    """A folder zipped with its enclosing directory is graded from inside that directory."""
    entries = [e for e in target.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return target


def unpack(archive: Path, target: Path) -> Unpacked:
    """Unpack `archive` into the new folder `target`; raise `Rejected` with the reason."""
    suffix = archive_suffix(archive)
    if suffix not in SUPPORTED:
        raise Rejected(say("archive_unsupported", kind=suffix or archive.suffix or archive.name))
    target.mkdir(parents=True)
    notes: list[str] = []
    try:
        if suffix == ".zip":
            _unzip(archive, target, notes)
        else:
            _untar(archive, _TAR_COMPRESSION[suffix], target, notes)
    except Rejected:
        shutil.rmtree(target, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        # An OSError with a file name would show a path in the grader's scratch: its reason only.
        if isinstance(exc, OSError) and exc.filename is not None:
            detail = exc.strerror or type(exc).__name__
        else:
            detail = str(exc) or type(exc).__name__
        raise Rejected(say("archive_corrupt", detail=detail[:200])) from None
    except (NotImplementedError, RuntimeError, lzma.LZMAError, zlib.error) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise Rejected(say("archive_corrupt", detail=str(exc)[:200])) from None
    return Unpacked(folder=_top_folder(target), notes=notes)
