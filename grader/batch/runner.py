"""`grade batch`: grade a whole class, resumably, and write the gradebook.

Every immediate subfolder of ROOT is one submission, named by its folder (the student id); an
archive in ROOT is unpacked safely into scratch first (`archives`). Submissions are graded by
preloaded workers (`workers`, or Dask with `dask_executor`); this process never imports torch
or a check module. It writes each report atomically as it arrives, `report.json` last, so a
report on disk is always whole; a rerun skips every submission whose report still matches its
content, the grader version, the checks and the options, and rebuilds the gradebook from the
reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import grader
from grader import fingerprint
from grader.atomic import write_atomic
from grader.batch import archives, gradebook, roster
from grader.batch import final as final_grading
from grader.batch.progress import Progress
from grader.batch.workers import Job, Outcome
from grader.formats import charts, dashboard, json_report, registry
from grader.formats import html as html_report
from grader.formats.text import inert_name
from grader.messages import say, set_language
from grader.report import (
    AssignmentResult,
    AssignmentStatus,
    Environment,
    Report,
    Revision,
    Submission,
)
from grader.sandbox import protections
from grader.spec import AssignmentSpec

DEFAULT_OUT = "grade-batch"
SETTINGS_FILE = "batch.json"
WORK_DIR = ".work"
WORKER_LOG = "workers.log"
GRADEBOOK_EVERY_SECONDS = 2.0
EXECUTORS = ("local", "dask")
BATCH_FORMATS = ("canvas",)  # written once for the class, not per student

HELP_JOBS = "Submissions graded at once (default: the number of cores)."
HELP_OUT = "Folder for the gradebook, the summary and one folder of reports per student."
HELP_RESUME = "Skip submissions whose report is still valid (same files, grader and checks)."
HELP_FORMAT = "Also write this format for each student (repeatable); report.json is always written."
HELP_EXECUTOR = "Where to grade: worker processes on this machine, or a Dask cluster."
HELP_SCHEDULER = "Address of a Dask scheduler (with --executor dask); none starts a local cluster."
DASK_MISSING = "--executor dask needs the optional extra: pip install 'torchgrade[dask]'"
SCHEDULER_NEEDS_DASK = "--scheduler is only used with --executor dask"

NO_SUBMISSIONS = "no submissions in {root}: expected one folder or archive per student"
OPTIONS_CHANGED = "the grading options or checks changed since the last run in {out}; regrading all"
IGNORED_FILE = "ignored {name}: not a folder or an archive"
DONE_LINE = (
    "{graded} graded, {reused} reused from an earlier run, {refused} not graded (refused or"
    " nothing handed in), {errors} with errors, in {seconds:.1f} s"
)
WRITTEN_LINE = "gradebook: {gradebook}\nsummary: {summary}"
DASHBOARD_LINE = "dashboard: {path}"
INTERRUPTED = (
    "interrupted: {done} of {total} submissions have reports; rerun the same command to finish"
)
WORKER_FAILED = "a grading worker could not start ({detail}); see {log}"
UNMATCHED = "repository {folder} matches no student on the roster"
MISSING = "{student} ({name}) is on the roster but has no repository: graded missing"
OUT_IS_ROOT = "--out {out} is ROOT itself: its reports would be graded as students next time"
OUT_IN_SUBMISSION = (
    "--out {out} is inside the submission {student} in ROOT: choose a folder outside it"
)
OUT_NESTED = (
    "--out {out} would make a new folder in ROOT that is graded as a student: choose a folder"
    " right inside ROOT or outside it"
)
MISSING_ROW = "{key} (no repository)"
MISSING_ROW_NUMBERED = "{key} (no repository, {number})"
CANVAS_UNMATCHED = "Canvas row {student}: no graded student matches it; its cell was left as it was"
CANVAS_AMBIGUOUS = (
    "Canvas row {student}: its ID columns match more than one graded student, or a student"
    " another row matches too; its cell was left as it was"
)


@dataclass
class BatchOptions:
    root: Path
    out: Path
    jobs: int
    assignments: tuple[str, ...] = ()
    timeout: float | None = None
    seed: int = 0
    lang: str = "en"
    resume: bool = True
    formats: tuple[str, ...] = ()
    executor: str = "local"
    scheduler: str | None = None
    memory_limit: int | None = None
    final: final_grading.FinalOptions | None = None


@dataclass
class Candidate:
    """One submission found in ROOT, made ready to grade."""

    student: str
    source: Path
    folder: Path | None = None
    notes: list[str] = field(default_factory=list)
    rejection: str = ""
    content_hash: str = ""
    refusal: str = ""
    nothing_pushed: bool = False
    revision: Revision | None = None
    github_id: int | None = None


class NoSubmissions(Exception):
    """ROOT holds nothing to grade."""


class BatchWorkerFailed(Exception):
    """Grading could not start at all."""


def dask_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("dask", "distributed"))


# --------------------------------------------------------------------------- formats


def available_formats() -> tuple[str, ...]:
    """The formats `--format` accepts: every format in the registry."""
    return (*registry.NAMES, *BATCH_FORMATS)


def write_outputs(report: Report, folder: Path, formats: tuple[str, ...]) -> None:
    """Every requested format first, then report.json, whose presence marks the student done.

    The instructor-view report.html, which the class dashboard links to, is written too
    whenever charts can be drawn (matplotlib installed)."""
    others = [name for name in formats if name != "json" and name not in BATCH_FORMATS]
    if others:
        registry.write(report, folder, others)
    write_instructor_page(report, folder)
    write_atomic(folder / json_report.FILENAME, json_report.render(report))


def write_instructor_page(report: Report, folder: Path) -> bool:
    """The instructor's report.html for one student; False when charts cannot be drawn."""
    try:
        page = html_report.render(report, student=False)
    except charts.ChartsUnavailable:
        return False
    write_atomic(folder / html_report.INSTRUCTOR_FILENAME, page)
    return True


# --------------------------------------------------------------------------- discovery


def discover(root: Path, out: Path) -> tuple[list[Path], list[Path]]:
    """(submissions, ignored files) in ROOT; hidden entries and the output folder are skipped."""
    found, ignored = [], []
    out_resolved = out.resolve()
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.resolve() == out_resolved:
            continue
        if entry.is_dir() or archives.archive_suffix(entry):
            found.append(entry)
        else:
            ignored.append(entry)
    return found, ignored


def out_problem(root: Path, out: Path) -> str | None:
    """Why --out cannot hold this batch's outputs, or None. It must not be ROOT, nor inside
    one of ROOT's submissions. A folder right inside ROOT is fine when it is new, empty or the
    output of an earlier batch (it has batch.json), since `discover` skips it; so is anything
    under a hidden folder of ROOT, which is never a submission."""
    root, out = root.resolve(), out.resolve()
    if out == root:
        return OUT_IS_ROOT.format(out=inert_name(str(out)))
    if not out.is_relative_to(root):
        return None
    first = root / out.relative_to(root).parts[0]
    if first.name.startswith(".") or (first.exists() and not first.is_dir()):
        return None  # never a submission; a file in the way is usable_out's to report
    if not first.exists():
        return None if first == out else OUT_NESTED.format(out=inert_name(str(out)))
    if first == out and (not any(out.iterdir()) or (out / SETTINGS_FILE).is_file()):
        return None
    return OUT_IN_SUBMISSION.format(out=inert_name(str(out)), student=inert_name(first.name))


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def output_names() -> frozenset[str]:
    """The names the batch writes into --out itself, beside the students' folders."""
    names = (
        gradebook.GRADEBOOK,
        gradebook.SUMMARY,
        dashboard.FILENAME,
        SETTINGS_FILE,
        WORKER_LOG,
        WORK_DIR,
        final_grading.CANVAS_FILE,
    )
    return frozenset(name.casefold() for name in names)


def _free(student: str, taken: set[str]) -> bool:
    return student not in taken and student.casefold() not in output_names()


def student_id_for(path: Path, taken: set[str]) -> str:
    """The id of the submission at `path`, its report folder in --out: the folder's name or
    the archive's without its suffix; the full name when that is taken; then the first free
    `<name>-2`, `<name>-3`, ... Never an id in `taken`, nor one of the batch's own output
    names (a student named `gradebook.csv` is `gradebook.csv-2`)."""
    wanted = inert_name(path.name if path.is_dir() else archives.student_id(path))
    if _free(wanted, taken):
        return wanted
    wanted = inert_name(path.name)
    student, number = wanted, 1
    while not _free(student, taken):
        number += 1
        student = f"{wanted}-{number}"
    return student


def prepare(
    paths: list[Path], scratch: Path, deadline: final_grading.FinalOptions | None = None
) -> list[Candidate]:
    """Name each submission, unpack archives, and hash what will be graded. With a deadline,
    a git repository is graded at its last commit pushed by then (`final`)."""
    candidates: list[Candidate] = []
    taken: set[str] = set()
    for path in sorted(paths, key=lambda p: (not p.is_dir(), p.name)):
        student = student_id_for(path, taken)
        taken.add(student)
        candidate = Candidate(student=student, source=path.resolve())
        if path.is_dir() and deadline is not None and deadline.deadline is not None:
            ready = final_grading.prepare_repository(
                path.resolve(), scratch / f"{len(candidates):06d}-git", deadline
            )
            candidate.folder, candidate.notes = ready.folder, ready.notes
            candidate.refusal, candidate.revision = ready.refusal, ready.revision
            candidate.github_id, candidate.nothing_pushed = ready.github_id, ready.nothing_pushed
        elif path.is_dir():
            candidate.folder = path.resolve()
        else:
            try:
                unpacked = archives.unpack(path, scratch / f"{len(candidates):06d}")
            except archives.Rejected as exc:
                candidate.rejection = str(exc)
                candidate.content_hash = _file_hash(path)
            else:
                candidate.folder, candidate.notes = unpacked.folder, unpacked.notes
        if candidate.folder is not None:
            candidate.content_hash = fingerprint.submission_hash(candidate.folder)
        candidates.append(candidate)
    return candidates


# --------------------------------------------------------------------------- reports


def settings(options: BatchOptions, specs: list[AssignmentSpec]) -> dict[str, Any]:
    """What a reusable report must have been graded with."""
    return {
        "grader_version": grader.__version__,
        "checks_hash": fingerprint.checks_hash(),
        "assignments": [s.name for s in specs],
        "timeout": options.timeout,
        "seed": options.seed,
        "lang": options.lang,
        "memory_limit": options.memory_limit,
        **(
            {"deadline": options.final.deadline.isoformat()}
            if options.final is not None and options.final.deadline is not None
            else {}
        ),
    }


def reusable(path: Path, candidate: Candidate, current: dict[str, Any]) -> Report | None:
    """The report at `path`, if it is whole and still valid for `candidate`."""
    try:
        report = Report.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    valid = (
        report.complete
        and report.submission.content_hash == candidate.content_hash
        and report.environment.grader_version == current["grader_version"]
        and report.environment.checks_hash == current["checks_hash"]
        and [a.name for a in report.assignments] == current["assignments"]
        and report.seed == current["seed"]
        and report.lang == current["lang"]
        and (report.revision.commit if report.revision else None)
        == (candidate.revision.commit if candidate.revision else None)
    )
    return report if valid else None


def _environment() -> Environment:
    from importlib import metadata

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = ""
    return Environment(
        grader_version=grader.__version__,
        python_version=platform.python_version(),
        torch_version=torch_version,
        platform=platform.platform(),
        protections=protections.active(),
        checks_hash=fingerprint.checks_hash(),
    )


def stand_in_report(
    candidate: Candidate,
    specs: list[AssignmentSpec],
    options: BatchOptions,
    status: AssignmentStatus,
    message: str,
) -> Report:
    """The report of a submission that could not be graded: refused, or its worker died."""
    report = Report(
        lang=options.lang,
        seed=options.seed,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        submission=Submission(
            path=inert_name(str(candidate.source)), content_hash=candidate.content_hash
        ),
        environment=_environment(),
        complete=status == "missing",
    )
    report.submission.problems = [*candidate.notes, message] if status == "missing" else []
    report.revision = candidate.revision
    for spec in specs:
        report.assignments.append(
            AssignmentResult(
                name=spec.name,
                title=spec.title_in(options.lang),
                file=spec.student_file,
                status=status,
                score=0.0,
                max_score=spec.points,
                message=message,
                withheld_points=spec.withheld_points,
            )
        )
    report.recompute()
    return report


def _from_outcome(
    outcome: Outcome,
    candidate: Candidate,
    specs: list[AssignmentSpec],
    options: BatchOptions,
    current: dict[str, Any],
) -> Report:
    report: Report | None = None
    detail = outcome.error
    if outcome.report_json is not None:
        try:
            report = Report.model_validate_json(outcome.report_json)
        except ValueError as exc:
            detail = f"unreadable report ({str(exc).splitlines()[0]})"
    if report is not None and report.environment.checks_hash != current["checks_hash"]:
        detail, report = "the worker has different checks installed than this machine", None
    if report is None:
        return stand_in_report(
            candidate, specs, options, "error", say("worker_died", detail=detail)
        )
    report.submission.path = inert_name(str(candidate.source))
    report.submission.problems = [*candidate.notes, *report.submission.problems]
    report.revision = candidate.revision
    return report


# --------------------------------------------------------------------------- the run


Executor = Callable[[list[Job], Callable[[Job, Outcome], None]], None]


def _local_executor(options: BatchOptions, log_path: Path) -> Executor:
    from grader.batch.workers import LocalPool, WorkerFailed

    def run(jobs: list[Job], on_result: Callable[[Job, Outcome], None]) -> None:
        with log_path.open("wb") as log:
            try:
                LocalPool(options.jobs, log).run(jobs, on_result)
            except WorkerFailed as exc:
                raise BatchWorkerFailed(WORKER_FAILED.format(detail=exc, log=log_path)) from None

    return run


def _dask_executor(options: BatchOptions) -> Executor:
    from grader.batch import dask_executor

    def run(jobs: list[Job], on_result: Callable[[Job, Outcome], None]) -> None:
        dask_executor.run(jobs, on_result, options.scheduler, options.jobs)

    return run


class Batch:
    """One `grade batch` run. `run()` returns the exit code."""

    def __init__(
        self, options: BatchOptions, specs: list[AssignmentSpec], stream: TextIO, tty: bool
    ) -> None:
        self.options = options
        self.specs = specs
        self.stream = stream
        self.tty = tty
        self.out = options.out
        self.entries: dict[str, gradebook.Entry] = {}
        self.last_gradebook = 0.0
        self.errors = 0
        self.current: dict[str, Any] = {}
        self.students: list[roster.Student] | None = None
        self.reused = 0
        self.refused = 0
        self.joined: roster.Join | None = None

    def say(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def write_gradebook(self, final: bool = False) -> None:
        entries = list(self.entries.values())
        columns = self._columns()
        for entry in entries:
            if not entry.missing:
                entry.extra = self._extra(entry)
        write_atomic(
            self.out / gradebook.GRADEBOOK, gradebook.render_csv(self.specs, entries, columns)
        )
        if final:
            summary = gradebook.summary(self.specs, entries)
            if self.joined is not None:
                summary["unmatched_repositories"] = self.joined.unmatched
                summary["missing_students"] = [s.key for s in self.joined.missing]
            write_atomic(self.out / gradebook.SUMMARY, json.dumps(summary, indent=2) + "\n")
            self.write_dashboard(entries, summary)
            self._write_canvas()
        self.last_gradebook = time.monotonic()

    def write_dashboard(self, entries: list[gradebook.Entry], summary: dict[str, Any]) -> None:
        """summary.html, linking each student's instructor page (made now if it is missing,
        e.g. for a report reused from a run before the dashboard existed)."""
        students = []
        for entry in entries:
            link = ""
            if entry.report is not None:
                folder = self.out / entry.student
                existing = folder / html_report.INSTRUCTOR_FILENAME
                if existing.exists() or write_instructor_page(entry.report, folder):
                    link = f"{quote(entry.student)}/{html_report.INSTRUCTOR_FILENAME}"
            students.append((entry.student, entry.report, link))
        try:
            page = dashboard.render(self.specs, students, summary, self.options.lang)
        except charts.ChartsUnavailable as exc:
            self.say(str(exc))
            return
        write_atomic(self.out / dashboard.FILENAME, page)

    def _columns(self) -> tuple[str, ...]:
        deadline = self.options.final is not None and self.options.final.deadline is not None
        return (
            *(final_grading.GRADEBOOK_ROSTER if self.joined is not None else ()),
            *(final_grading.GRADEBOOK_REVISION if deadline else ()),
        )

    def _extra(self, entry: gradebook.Entry) -> dict[str, str]:
        student = self.joined.by_folder.get(entry.student) if self.joined else None
        return {**final_grading.roster_cells(student), **final_grading.revision_cells(entry.report)}

    def _join_roster(self, candidates: list[Candidate]) -> None:
        """Match repositories to the roster; roster students without one get a `missing` row."""
        if self.students is None:
            return
        self.joined = roster.join(self.students, {c.student: c.github_id for c in candidates})
        for number, student in enumerate(self.joined.missing, start=1):
            key = MISSING_ROW.format(key=student.key)
            if key in self.entries:  # a submission's id, or a namesake on the roster
                key = MISSING_ROW_NUMBERED.format(key=student.key, number=number)
            while key in self.entries:
                key += "'"
            self.entries[key] = gradebook.Entry(
                key, None, "", extra=final_grading.roster_cells(student), missing=True
            )
        for folder in self.joined.unmatched:
            self.say(UNMATCHED.format(folder=inert_name(folder)))
        for student in self.joined.missing:
            self.say(MISSING.format(student=inert_name(student.key), name=inert_name(student.name)))

    def _write_canvas(self) -> None:
        settings = self.options.final
        if settings is None or settings.canvas_export is None:
            return
        if "canvas" not in self.options.formats:
            return
        scores: dict[str, float] = {}
        for entry in self.entries.values():
            if entry.missing or entry.report is None:
                continue
            student = self.joined.by_folder.get(entry.student) if self.joined else None
            scores[student.identifier if student else entry.student] = entry.report.score
        if self.joined is not None:
            for student in self.joined.missing:
                scores.setdefault(student.identifier, 0.0)
        filled = final_grading.fill_canvas(
            settings.canvas_export,
            settings.canvas_column,
            sum(s.points + s.withheld_points for s in self.specs),
            scores,
            self.students,
        )
        write_atomic(self.out / final_grading.CANVAS_FILE, filled.data)
        for row in filled.unmatched_rows:
            self.say(CANVAS_UNMATCHED.format(student=inert_name(row)))
        for row in filled.ambiguous_rows:
            self.say(CANVAS_AMBIGUOUS.format(student=inert_name(row)))

    def run(self) -> int:
        set_language(self.options.lang)
        started = time.monotonic()
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(".*.tmp"):
            stale.unlink()
        work = self.out / WORK_DIR
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        try:
            return self._run(work, started)
        except KeyboardInterrupt:
            if self.entries:
                self.write_gradebook()
            done = sum(e.report is not None for e in self.entries.values())
            self.say(INTERRUPTED.format(done=done, total=len(self.entries)))
            return 130
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _plan(self, candidates: list[Candidate]) -> list[Job]:
        options = self.options
        current = settings(options, self.specs)
        settings_path = self.out / SETTINGS_FILE
        try:
            previous = json.loads(settings_path.read_text())
        except (OSError, ValueError):
            previous = None
        resume = options.resume and previous == current
        if options.resume and previous is not None and previous != current:
            self.say(OPTIONS_CHANGED.format(out=self.out))
        write_atomic(settings_path, json.dumps(current, indent=2) + "\n")
        self.current = current
        jobs: list[Job] = []
        for candidate in candidates:
            folder = self.out / candidate.student
            entry = gradebook.Entry(candidate.student, None, f"{candidate.student}/report.json")
            self.entries[candidate.student] = entry
            for stale in folder.glob(".*.tmp"):
                stale.unlink()  # left by a killed run: write_atomic's temp file, never renamed
            existing = (
                reusable(folder / json_report.FILENAME, candidate, current) if resume else None
            )
            if existing is not None:
                entry.report = existing
                self.reused += 1
                if any(not (folder / name).exists() for name in self._format_files()):
                    write_outputs(existing, folder, options.formats)
            elif candidate.folder is None:
                message = candidate.refusal or say(
                    "archive_rejected",
                    archive=inert_name(candidate.source.name),
                    reason=candidate.rejection,
                )
                entry.report = stand_in_report(candidate, self.specs, options, "missing", message)
                self.refused += 1
                if candidate.nothing_pushed:  # nothing handed in on time: missing, not rejected
                    entry.report.submission.problems = []
                write_outputs(entry.report, folder, options.formats)
            else:
                jobs.append(
                    Job(
                        student=candidate.student,
                        folder=str(candidate.folder),
                        assignments=tuple(s.name for s in self.specs),
                        timeout=options.timeout,
                        seed=options.seed,
                        lang=options.lang,
                        memory_limit=options.memory_limit,
                    )
                )
        return jobs

    def _format_files(self) -> list[str]:
        names = [n for n in self.options.formats if n != "json" and n not in BATCH_FORMATS]
        if not names:
            return []
        return [o.filename for n in names for o in registry.FORMATS[n].outputs]

    def _run(self, work: Path, started: float) -> int:
        options = self.options
        settings = options.final
        if settings is not None and settings.roster is not None:
            self.students = roster.load(settings.roster)
        if settings is not None and settings.canvas_export is not None:
            final_grading.fill_canvas(settings.canvas_export, settings.canvas_column, 0, {}, None)
        paths, ignored = discover(options.root, options.out)
        for path in ignored:
            self.say(IGNORED_FILE.format(name=inert_name(path.name)))
        if not paths:
            raise NoSubmissions(NO_SUBMISSIONS.format(root=inert_name(str(options.root))))
        candidates = prepare(paths, work / "unpacked", options.final)
        by_student = {c.student: c for c in candidates}
        jobs = self._plan(candidates)
        self._join_roster(candidates)
        done = len(candidates) - len(jobs)  # reused, or refused without grading
        progress = Progress(len(candidates), self.stream, self.tty, already_done=done)

        def on_result(job: Job, outcome: Outcome) -> None:
            candidate = by_student[job.student]
            report = _from_outcome(outcome, candidate, self.specs, options, self.current)
            write_outputs(report, self.out / candidate.student, options.formats)
            self.entries[candidate.student].report = report
            state = gradebook.status(report)
            self.errors += state == "error"
            progress.advance(candidate.student, f"{report.score:g}/{report.max_score:g} {state}")
            if time.monotonic() - self.last_gradebook > GRADEBOOK_EVERY_SECONDS:
                self.write_gradebook()

        self.write_gradebook()
        executor = (
            _dask_executor(options)
            if options.executor == "dask"
            else _local_executor(options, self.out / WORKER_LOG)
        )
        try:
            if jobs:
                executor(jobs, on_result)
        finally:
            progress.close()
        self.write_gradebook(final=True)
        self._drop_empty_log()
        self.say(
            DONE_LINE.format(
                graded=len(jobs),
                reused=self.reused,
                refused=self.refused,
                errors=self.errors,
                seconds=time.monotonic() - started,
            )
        )
        self.say(
            WRITTEN_LINE.format(
                gradebook=self.out / gradebook.GRADEBOOK, summary=self.out / gradebook.SUMMARY
            )
        )
        if (self.out / dashboard.FILENAME).exists():
            self.say(DASHBOARD_LINE.format(path=self.out / dashboard.FILENAME))
        return 0

    def _drop_empty_log(self) -> None:
        log = self.out / WORKER_LOG
        if log.exists() and log.stat().st_size == 0:
            os.unlink(log)
