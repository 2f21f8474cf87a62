"""`grade watch`: grade once, then regrade each exercise whose file changes, on a warm worker.

The worker is a batch worker (`grader.batch.workers`): torch is imported and warmed once, and
each grading is a fresh fork of it with its own sandbox and judge, so a regrade costs a fork,
not a cold start, and nothing passes from one grading to the next. Only the exercises whose
student file changed are regraded; a change to any other file regrades them all.

Everything the worker's process tree creates in the temp folder goes to one private folder,
and the watch process is a subreaper: on Ctrl-C it stops the worker, kills and reaps whatever
is left below it, and removes that folder, so nothing stays behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from grader.atomic import write_atomic
from grader.batch import workers
from grader.file_events import FileEvents, walk
from grader.formats import json_report, views
from grader.report import Report
from grader.sandbox.zygote import reap_descendants
from grader.spec import AssignmentSpec

POLL_SECONDS = 0.1
EVENT_POLL_SECONDS = 1.0  # with inotify, a poll is only the safety net for a silent mount
SETTLE_SECONDS = 0.05
MAX_FILES = 2000
SKIPPED_FOLDERS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".venv"})
Snapshot = dict[str, tuple[int, int, str]]


def _files(root: Path, ignored: frozenset[str]) -> Iterator[Path]:
    count = 0
    for folder, names in walk(root, SKIPPED_FOLDERS, ignored):
        for name in names:
            count += 1
            if count > MAX_FILES:
                return
            yield Path(folder) / name


def snapshot(
    root: Path, previous: Snapshot | None = None, ignored: frozenset[str] = frozenset()
) -> Snapshot:
    """Each file's mtime, size and content hash; a file whose mtime and size did not change
    keeps its previous hash, so a poll reads no file that nobody touched. Folders at the
    absolute paths in `ignored` are left out."""
    found: Snapshot = {}
    for path in _files(root, ignored):
        with contextlib.suppress(OSError):
            stat = path.stat()
            key = str(path.relative_to(root))
            old = (previous or {}).get(key)
            if old is not None and old[:2] == (stat.st_mtime_ns, stat.st_size):
                found[key] = old
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[key] = (stat.st_mtime_ns, stat.st_size, digest)
    return found


def changed_files(before: Snapshot, after: Snapshot) -> set[str]:
    """Files added, removed, or whose content changed (a touch alone is not a change)."""
    names = set(before) | set(after)
    return {n for n in names if (before.get(n) or ("",) * 3)[2] != (after.get(n) or ("",) * 3)[2]}


def affected(specs: list[AssignmentSpec], changed: set[str]) -> list[AssignmentSpec]:
    """The exercises to regrade: those whose file changed, or all when another file did."""
    own = {s.student_file: s for s in specs}
    if any(name not in own for name in changed):
        return list(specs)
    return [s for s in specs if s.student_file in changed]


@dataclass
class Changes:
    newly_passing: list[str]
    newly_failing: list[tuple[str, str]]


def compare(before: Report, after: Report, student: bool) -> Changes:
    """Checks that pass now and did not, and checks that passed and do not now (with why)."""
    old = {c.id: c for a in views.for_reader(before, student).assignments for c in a.checks}
    new = [c for a in views.for_reader(after, student).assignments for c in a.checks]
    passing = [
        c.name
        for c in new
        if c.status == "passed" and (c.id not in old or old[c.id].status != "passed")
    ]
    failing = [
        (c.name, c.message)
        for c in new
        if c.status != "passed" and c.id in old and old[c.id].status == "passed"
    ]
    return Changes(passing, failing)


def merge(current: Report, regraded: Report) -> Report:
    """The latest report: regraded exercises replace their old results, the rest stay."""
    fresh = {a.name: a for a in regraded.assignments}
    merged = regraded.model_copy()
    merged.assignments = [fresh.get(a.name, a) for a in current.assignments]
    merged.recompute()
    return merged


class GradingFailed(Exception):
    """The worker could not grade (it crashed or stopped answering)."""


class Watcher:
    """One warm worker and the latest report of the watched folder."""

    def __init__(
        self,
        folder: Path,
        specs: list[AssignmentSpec],
        out: Path,
        options: dict[str, Any],
    ) -> None:
        self.folder = folder
        self.specs = specs
        self.out = out
        # The report folder may well be inside the watched one (`grade watch .` writes
        # ./grade-report): rewriting it must not look like a save.
        self.ignored = frozenset({os.path.realpath(out)})
        self.options = options
        self.worker: workers.WorkerProcess | None = None
        self.report: Report | None = None

    def start(self) -> None:
        """Start the worker (every temp file of its process tree goes to its own folder)."""
        workers.become_subreaper(True)
        self.worker = workers.WorkerProcess()

    def grade(self, specs: list[AssignmentSpec]) -> Report:
        assert self.worker is not None
        job = workers.Job(
            student="watch",
            folder=str(self.folder),
            assignments=tuple(s.name for s in specs),
            **self.options,
        )
        outcome = self.worker.grade(job)
        if outcome.report_json is None:
            raise GradingFailed(outcome.error)
        regraded = Report.model_validate_json(outcome.report_json)
        self.report = regraded if self.report is None else merge(self.report, regraded)
        write_atomic(self.out / json_report.FILENAME, json_report.render(self.report))
        return self.report

    def close(self) -> None:
        """Stop the worker, kill and reap anything left below this process, remove temp."""
        if self.worker is not None:
            self.worker.stop()
        reap_descendants()
        if self.worker is not None:
            self.worker.remove_scratch()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(
    watcher: Watcher,
    show_first: Callable[[Report], None],
    show_regrade: Callable[[list[str], Report, Changes, float], None],
    show_failure: Callable[[str], None],
    student: bool,
    polls: int | None = None,
) -> None:
    """Grade once, then poll and regrade until Ctrl-C (or SIGTERM); `polls` bounds the loop."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # Started in the background by a shell, a process may inherit SIGINT ignored: Ctrl-C (or
    # `kill -INT`) must still stop the watch and clean up.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    events = FileEvents(watcher.folder, SKIPPED_FOLDERS, watcher.ignored)
    idle = EVENT_POLL_SECONDS if events.active else POLL_SECONDS
    try:
        watcher.start()
        seen = snapshot(watcher.folder, ignored=watcher.ignored)
        try:
            show_first(watcher.grade(watcher.specs))
        except GradingFailed as exc:
            show_failure(str(exc))
        while polls is None or polls > 0:
            polls = None if polls is None else polls - 1
            events.wait(idle)
            now = snapshot(watcher.folder, seen, watcher.ignored)
            changed = changed_files(seen, now)
            if not changed:
                continue
            time.sleep(SETTLE_SECONDS)  # an editor may still be writing
            now = snapshot(watcher.folder, now, watcher.ignored)
            changed = changed_files(seen, now)
            seen = now
            if not changed:
                continue
            targets = affected(watcher.specs, changed)
            before = watcher.report
            started = time.monotonic()
            try:
                after = watcher.grade(targets)
            except GradingFailed as exc:
                show_failure(str(exc))
                continue
            changes = compare(before, after, student) if before else Changes([], [])
            show_regrade(sorted(changed), after, changes, time.monotonic() - started)
    except KeyboardInterrupt:
        pass
    finally:
        events.close()
        watcher.close()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
