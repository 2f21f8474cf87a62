"""Fingerprints that decide whether an existing report is still valid for a resumed batch.

A report may be reused only when the submission, the grader and the checks are all unchanged:
`content_hash` covers the submission (computed by the same staging the engine uses),
`grader.__version__` the engine, and `checks_hash` every file of the assignments folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from grader.spec import assignments_root

_IGNORED_DIRS = {"__pycache__"}


@cache
def _checks_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in _IGNORED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            digest.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return digest.hexdigest()


def checks_hash(root: Path | None = None) -> str:
    """sha256 over the names and contents of every file in the assignments folder."""
    return _checks_hash((root or assignments_root()).resolve())


def submission_hash(folder: Path) -> str:
    """The `content_hash` the engine will record for `folder`, without grading it."""
    from grader.sandbox.staging import stage

    with tempfile.TemporaryDirectory(prefix="torchgrade-hash-") as scratch:
        target = Path(scratch) / "submission"
        target.mkdir()
        return stage(folder, target).content_hash
