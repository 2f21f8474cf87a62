"""`grade classroom-workflow`: point the template's Classroom workflow at a student build.

Two ways to ship the student build (`grade student-bundle`), both without a token or a private
repository:

- published at an https URL: one new build reaches every student repository at its next run;
- kept in the template repository (`.github/torchgrade/<wheel>`): for a course with nowhere to
  publish; a fix then needs a push to every repository.

Either way the workflow names the wheel and its sha256, and pip installs it with
`--require-hashes`, so a changed file at that URL is refused, not run.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path, PurePosixPath

WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
WHEEL_FOLDER = PurePosixPath(".github") / "torchgrade"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WHEEL_LINE = re.compile(r'^(\s*TORCHGRADE_WHEEL:\s*)"[^"\n]*"', re.MULTILINE)
_HASH_LINE = re.compile(r'^(\s*TORCHGRADE_SHA256:\s*)"[^"\n]*"', re.MULTILINE)
_URL = re.compile(r"^https://[^\s\"'\\$`]+\.whl$")


class WorkflowError(Exception):
    """The workflow cannot be filled in; the message says why."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fill(text: str, wheel: str, sha256: str, path: Path) -> str:
    text, wheels = _WHEEL_LINE.subn(lambda m: f'{m.group(1)}"{wheel}"', text, count=1)
    text, hashes = _HASH_LINE.subn(lambda m: f'{m.group(1)}"{sha256}"', text, count=1)
    if wheels != 1 or hashes != 1:
        raise WorkflowError(
            f"{path}: no TORCHGRADE_WHEEL and TORCHGRADE_SHA256 lines to fill in; start from "
            "student_template/.github/workflows/classroom.yml"
        )
    return text


def fill(
    template: Path,
    wheel_url: str | None = None,
    sha256: str | None = None,
    wheel_path: Path | None = None,
) -> tuple[Path, str, str]:
    """Fill in the workflow of the template repository `template`; return (workflow, wheel, hash).

    With `wheel_path`, the wheel is copied into the template's `.github/torchgrade/` (unless it
    is already there) and named by its path in the repository."""
    workflow = template / WORKFLOW
    if not workflow.is_file():
        raise WorkflowError(f"{workflow}: no Classroom workflow there")
    if (wheel_url is None) == (wheel_path is None):
        raise WorkflowError("give either --wheel-url (with --sha256) or --wheel-path")
    if wheel_url is not None:
        if not _URL.match(wheel_url):
            raise WorkflowError(
                f"--wheel-url {wheel_url!r}: expected an https:// URL of a .whl file, without "
                "spaces or quotes"
            )
        if sha256 is None or not _SHA256.match(sha256.lower()):
            raise WorkflowError("--sha256: expected the wheel's sha256, 64 hex digits")
        wheel, digest = wheel_url, sha256.lower()
    else:
        assert wheel_path is not None
        if not wheel_path.is_file() or wheel_path.suffix != ".whl":
            raise WorkflowError(f"--wheel-path {wheel_path}: not a .whl file")
        digest = file_sha256(wheel_path)
        if sha256 is not None and sha256.lower() != digest:
            raise WorkflowError(f"--sha256 does not match {wheel_path} (its sha256 is {digest})")
        folder = template / WHEEL_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / wheel_path.name
        if target.resolve() != wheel_path.resolve():
            shutil.copyfile(wheel_path, target)
        for stale in folder.glob("*.whl"):
            if stale.name != wheel_path.name:
                stale.unlink()
        wheel = f"./{WHEEL_FOLDER / wheel_path.name}"
    workflow.write_text(_fill(workflow.read_text(encoding="utf-8"), wheel, digest, workflow))
    return workflow, wheel, digest
