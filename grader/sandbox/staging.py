"""Staging: a clean, bounded copy of a submission folder, made before any grading starts.

Only regular files inside the folder are copied. Symlinks, special files, hidden folders and
oversized files are left out, each with a note in the report, so nothing outside the
submission can be reached through it and the original folder is never touched. Shipped
bytecode, extension modules and packages that shadow a module are left out too, and flagged
(see `filenames`); a name that is not UTF-8 or holds invisible characters is staged and shown
escaped.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.messages import say
from grader.report import FileInfo, IntegrityFinding
from grader.sandbox import notebooks
from grader.sandbox.filenames import honest_cache, name_of, stripped_kind

MAX_FILE_BYTES = 2 << 20
MAX_TOTAL_BYTES = 32 << 20
MAX_FILES = 500
MAX_DEPTH = 6
SKIPPED_DIRS = {"__pycache__", "node_modules", ".git", ".venv", "venv"}


@dataclass
class Staged:
    folder: Path
    files: list[FileInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    links: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    findings: list[IntegrityFinding] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for info in sorted(self.files, key=lambda f: (f.path, f.name_hex)):
            name = bytes.fromhex(info.name_hex) if info.name_hex else info.path.encode()
            digest.update(name + f"\0{info.sha256}\n".encode())
        return digest.hexdigest()

    def strip(self, relative: Path, kind: str, flag: bool = True) -> None:
        """Leave out shipped bytecode, an extension module or a shadowing package; flag it
        unless it is what an honest run leaves behind (`filenames.honest_cache`)."""
        shown = name_of(relative).shown
        self.problems.append(say(f"skipped_{kind}", path=shown))
        if flag:
            self.findings.append(
                IntegrityFinding(
                    file=shown, line=0, code=f"shipped-{kind}", reason=say(f"flag_{kind}")
                )
            )

    def has(self, relative: str) -> bool:
        return any(f.path == relative for f in self.files)


def _copy_file(source: Path, target: Path, limit: int) -> tuple[str, int] | None:
    """Copy without following links; return (sha256, size), or None when over `limit`."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(source, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        digest = hashlib.sha256()
        size = 0
        with open(target, "wb") as out:
            while chunk := os.read(fd, 1 << 16):
                size += len(chunk)
                if size > limit:
                    break
                digest.update(chunk)
                out.write(chunk)
        if size > limit:
            target.unlink()
            return None
        return digest.hexdigest(), size
    finally:
        os.close(fd)


def stage(source: Path, target: Path) -> Staged:
    """Copy the submission at `source` into the empty folder `target`."""
    staged = Staged(folder=target)
    total = 0
    for directory, subdirs, names in os.walk(source, followlinks=False):
        here = Path(directory)
        relative_dir = here.relative_to(source)
        depth = len(relative_dir.parts)
        kept_dirs = []
        siblings = set(names)
        for sub in sorted(subdirs):
            path = here / sub
            if path.is_symlink():
                staged.links.add(str(relative_dir / sub))
                staged.problems.append(say("skipped_link", path=name_of(relative_dir / sub).shown))
            elif sub.startswith("."):
                continue
            elif kind := stripped_kind(sub, True, siblings):
                honest = kind == "bytecode" and honest_cache(path, siblings)
                staged.strip(relative_dir / sub, kind, flag=not honest)
            elif sub not in SKIPPED_DIRS and depth < MAX_DEPTH:
                kept_dirs.append(sub)
        subdirs[:] = kept_dirs
        (target / relative_dir).mkdir(parents=True, exist_ok=True)
        for name in sorted(names):
            relative = relative_dir / name
            path = here / name
            shown = name_of(relative)
            if name.startswith("."):
                continue
            if path.is_symlink():
                staged.links.add(str(relative))
                staged.problems.append(say("skipped_link", path=shown.shown))
                continue
            if kind := stripped_kind(name, False, siblings):
                staged.strip(relative, kind)
                continue
            if len(staged.files) >= MAX_FILES:
                staged.problems.append(say("too_many_files", limit=MAX_FILES))
                return staged
            try:
                copy = notebooks.stage_notebook if name.endswith(".ipynb") else _copy_file
                copied = copy(path, target / relative, min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - total))
            except OSError as exc:
                reason = exc.strerror or str(exc)
                problem = say("skipped_unreadable", path=shown.shown, reason=reason)
                staged.problems.append(problem)
                staged.skipped[relative.as_posix()] = problem
                continue
            if copied is None:
                problem = say("skipped_large", path=shown.shown, limit=MAX_FILE_BYTES // (1 << 20))
                staged.problems.append(problem)
                staged.skipped[relative.as_posix()] = problem
                continue
            sha, size = copied
            total += size
            staged.files.append(
                FileInfo(path=shown.shown, size=size, sha256=sha, name_hex=shown.raw_hex)
            )
            if shown.raw_hex:
                staged.problems.append(say("name_escaped", path=shown.shown))
            if shown.invisible:
                staged.findings.append(
                    IntegrityFinding(
                        file=shown.shown, line=0, code="file-name", reason=say("flag_file_name")
                    )
                )
    return staged
