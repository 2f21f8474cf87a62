"""`grade gradescope-bundle`: the autograder zip Gradescope takes.

The zip holds `setup.sh` (installs Python, CPU torch and the grader), `run_autograder` (grades
/autograder/submission into /autograder/results/results.json) and a wheel of this very grader,
built from the running installation, with its assignments (and any `TORCHGRADE_ASSIGNMENTS`
override) as `grader._assignments`. The reference solutions are never in it.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import grader
from grader.spec import assignments_root

DISTRIBUTION = "torchgrade"
SCRIPTS = Path(__file__).resolve().parent / "gradescope_files"
EXECUTABLE = 0o755
DATA = 0o644
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
WHEEL_FILE = (
    b"Wheel-Version: 1.0\nGenerator: torchgrade\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
)
SKIPPED = {"__pycache__"}
NOT_INSTALLED = (
    "the torchgrade distribution is not installed, so its wheel cannot be built: {error}"
)


class BundleError(Exception):
    """The bundle cannot be built; the message says why."""


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        hidden = any(part.startswith(".") or part in SKIPPED for part in relative.parts)
        if path.is_file() and not hidden and path.suffix != ".pyc":
            yield path


def _wheel_entries(assignments: Path) -> Iterator[tuple[str, bytes]]:
    package = Path(grader.__file__).resolve().parent
    for path in _files(package):
        relative = path.relative_to(package).as_posix()
        if not relative.startswith("_assignments/"):
            yield f"grader/{relative}", path.read_bytes()
    for path in _files(assignments):
        relative = path.relative_to(assignments).as_posix()
        yield f"grader/_assignments/{relative}", path.read_bytes()


def _field(dist: metadata.Distribution, name: str) -> str:
    return (dist.metadata.get_all(name) or [""])[0]


def _metadata(version: str) -> str:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise BundleError(NOT_INSTALLED.format(error=exc)) from None
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION}",
        f"Version: {version}",
        f"Summary: {_field(dist, 'Summary')}",
        f"Requires-Python: {_field(dist, 'Requires-Python')}",
    ]
    lines += [f"Requires-Dist: {req}" for req in dist.requires or [] if "extra ==" not in req]
    # Students hand in notebooks on Gradescope too: the notebook extra is always installed there.
    lines += [
        f"Requires-Dist: {req.split(';')[0].strip()}"
        for req in dist.requires or []
        if req.replace(" ", "").endswith('extra=="notebook"')
    ]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = DATA) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16
    archive.writestr(info, data)


def wheel_name(version: str | None = None) -> str:
    return f"{DISTRIBUTION}-{version or grader.__version__}-py3-none-any.whl"


def build_wheel(target: Path, assignments: Path | None = None, version: str | None = None) -> Path:
    """A pure-Python wheel of the running grader, written to the folder `target`, with the
    assignments of `assignments` (default: the ones this grader uses)."""
    version = version or grader.__version__
    dist_info = f"{DISTRIBUTION}-{version}.dist-info"
    entries = list(_wheel_entries(assignments or assignments_root()))
    entries += [
        (f"{dist_info}/METADATA", _metadata(version).encode()),
        (f"{dist_info}/WHEEL", WHEEL_FILE),
        (f"{dist_info}/entry_points.txt", b"[console_scripts]\ngrade = grader.entry:main\n"),
    ]
    record = [_record_line(name, data) for name, data in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    path = target / wheel_name(version)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            _add(archive, name, data)
    return path


def _script(name: str, replacements: dict[str, str]) -> bytes:
    content = (SCRIPTS / name).read_text()
    for token, value in replacements.items():
        content = content.replace(token, value)
    return content.encode()


def build_bundle(
    zip_path: Path, assignments: tuple[str, ...] = (), instructor: bool = False
) -> list[str]:
    """Write the Gradescope autograder zip to `zip_path`; return the names inside it.

    With `instructor`, results.json keeps hidden checks' names and messages for staff; Gradescope
    still hides those tests from students through their `hidden` visibility.
    """
    import tempfile

    options = [f"--assignment {shlex.quote(name)}" for name in assignments]
    grade_args = " ".join(options + (["--instructor"] if instructor else []))
    replacements = {"@WHEEL@": wheel_name(), "@GRADE_ARGS@": grade_args}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="torchgrade-bundle-") as scratch:
        wheel = build_wheel(Path(scratch))
        with zipfile.ZipFile(zip_path, "w") as archive:
            _add(archive, "setup.sh", _script("setup.sh", replacements), EXECUTABLE)
            _add(archive, "run_autograder", _script("run_autograder", replacements), EXECUTABLE)
            _add(archive, wheel.name, wheel.read_bytes())
            return archive.namelist()
