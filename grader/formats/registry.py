"""Every report format by name: what it writes, where, and who reads it by default.

Renderers are pure functions of the `Report`; this module is the one place that turns their
text into files. A format may also feed a GitHub Actions file named by an environment variable
(`$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`): when the variable is set, the text is appended there
as well, which is how Actions expects steps to write them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.atomic import write_atomic
from grader.formats import classroom, gradescope, json_report, junit, markdown
from grader.formats import html as html_report
from grader.report import Report

Renderer = Callable[[Report, bool], "str | bytes"]


@dataclass(frozen=True)
class Output:
    filename: str
    render: Renderer
    append_to_env: str | None = None


@dataclass(frozen=True)
class Format:
    name: str
    outputs: tuple[Output, ...]
    student_default: bool
    log_seen_by_students: bool = False


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "json",
            (Output(json_report.FILENAME, lambda report, _student: json_report.render(report)),),
            False,
        ),
        Format(
            "classroom",
            (
                Output(classroom.OUTPUT_FILENAME, classroom.render_output, "GITHUB_OUTPUT"),
                Output(classroom.SUMMARY_FILENAME, classroom.render_summary, "GITHUB_STEP_SUMMARY"),
            ),
            True,
            log_seen_by_students=True,
        ),
        Format(
            "gradescope",
            (Output(gradescope.FILENAME, gradescope.render),),
            True,
            log_seen_by_students=True,
        ),
        Format("junit", (Output(junit.FILENAME, junit.render),), False),
        Format("markdown", (Output(markdown.FILENAME, markdown.render),), True),
        Format("html", (Output(html_report.FILENAME, html_report.render),), True),
    )
}
NAMES: tuple[str, ...] = tuple(FORMATS)


def student_view(name: str, student: bool | None) -> bool:
    """Whether format `name` renders the student view: the flag if given, else its default."""
    return FORMATS[name].student_default if student is None else student


def terminal_student_view(names: Iterable[str], student: bool | None) -> bool:
    """The terminal summary: the flag if given; else the student view when the run's log is
    one students read (GitHub Actions for classroom, Gradescope for gradescope)."""
    if student is not None:
        return student
    return any(FORMATS[name].log_seen_by_students for name in names)


def _append(path: Path, data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    with path.open("ab") as handle:
        handle.write(raw)


def write(
    report: Report,
    out: Path,
    names: Iterable[str],
    student: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write each format in `names` into `out` (and its Actions file, if set); return the paths."""
    environ = environ or {}
    written: list[Path] = []
    for name in dict.fromkeys(names):
        view = student_view(name, student)
        for output in FORMATS[name].outputs:
            data = output.render(report, view)
            path = out / output.filename
            write_atomic(path, data)
            written.append(path)
            target = environ.get(output.append_to_env or "")
            if target:
                _append(Path(target), data)
                written.append(Path(target))
    return written
