"""Building batch roots for the tests: copies of fixture submissions, and archives."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

TIMINGS = ("started_at", "duration_s")


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def zip_folder(source: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(source.rglob("*.py")):
            bundle.write(path, prefix + path.relative_to(source).as_posix())
    return archive


def zip_with_link(archive: Path, name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as bundle:
        bundle.writestr(info, target)
    return info


def tar_folder(source: Path, archive: Path, links: dict[str, str] | None = None) -> Path:
    with tarfile.open(archive, "w:gz") as bundle:
        for path in sorted(source.rglob("*.py")):
            bundle.add(path, path.relative_to(source).as_posix())
        for name, target in (links or {}).items():
            member = tarfile.TarInfo(name)
            member.type = tarfile.SYMTYPE
            member.linkname = target
            bundle.addfile(member)
    return archive


MARKER_VARIABLE = "TORCHGRADE_TEST_BATCH"


def batch_command(*args: Any) -> list[str]:
    return [sys.executable, "-m", "grader", "batch", *(str(a) for a in args)]


def batch_env(marker: str) -> dict[str, str]:
    """The environment of a test batch: every process below it carries `marker`."""
    return {**os.environ, "NO_COLOR": "1", MARKER_VARIABLE: marker}


def run_batch(
    *args: Any, marker: str = "", timeout: float = 240, tmpdir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`grade batch` as a real process, the way an instructor runs it."""
    env = batch_env(marker)
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        batch_command(*args), capture_output=True, text=True, timeout=timeout, env=env
    )


def read_gradebook(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))


def report(out: Path, student: str) -> dict[str, Any]:
    return json.loads((out / student / "report.json").read_text())


def without_timings(report: dict[str, Any], keep_path: bool = True) -> dict[str, Any]:
    """A report with every timing (and optionally the submission path) taken out."""
    report = json.loads(json.dumps(report))
    for key in TIMINGS:
        report.pop(key, None)
    for assignment in report["assignments"]:
        for check in assignment["checks"]:
            check.pop("duration_s", None)
    if not keep_path:
        report["submission"].pop("path")
    return report


def marked_processes(marker: str) -> list[int]:
    """Live processes started under `batch_env(marker)` (workers, sandboxes, probe children).

    /proc/PID/environ shows the environment a process was started with, which a fork keeps
    even after the sandbox scrubs `os.environ`.
    """
    needle = f"{MARKER_VARIABLE}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state != "Z":
            found.append(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            found += [int(p) for p in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
    except OSError:
        pass
    return found


def descendants_at_depth(pid: int, depth: int) -> list[int]:
    """Processes exactly `depth` generations below `pid` (worker, grader, zygote, probe)."""
    level = [pid]
    for _ in range(depth):
        level = [child for parent in level for child in _children(parent)]
    return level
