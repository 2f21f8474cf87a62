"""`grade batch --executor dask`: the same per-submission jobs, as tasks on a Dask cluster.

Each Dask worker keeps one preloaded grading worker (`workers.WorkerProcess`), started by a
worker plugin as soon as the Dask worker joins, so torch is imported once per Dask worker. A
task carries the submission's files (workers need not share a filesystem with the client),
unpacks them into the Dask worker's private scratch, and returns the report JSON. Only the
client writes reports and the gradebook.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from grader.batch.workers import Job, Outcome, WorkerProcess, become_subreaper, reap_orphans
from grader.sandbox import staging
from grader.spec import ASSIGNMENTS_ENV, assignments_root

PLUGIN_NAME = "torchgrade-grader"
MAX_BUNDLE_FILES = staging.MAX_FILES + 1

Entry = tuple[str, str, bytes]


def pack(folder: Path) -> list[Entry]:
    """The folder as (kind, relative path, bytes): what staging will look at, and no more."""
    entries: list[Entry] = []
    for directory, subdirs, names in os.walk(folder, followlinks=False):
        here = Path(directory)
        relative_dir = here.relative_to(folder)
        kept = []
        for sub in sorted(subdirs):
            if (here / sub).is_symlink():
                entries.append(("link", (relative_dir / sub).as_posix(), b""))
            elif not sub.startswith(".") and sub not in staging.SKIPPED_DIRS:
                kept.append(sub)
        subdirs[:] = kept
        entries.append(("dir", relative_dir.as_posix(), b""))
        for name in sorted(names):
            path, relative = here / name, (relative_dir / name).as_posix()
            if name.startswith("."):
                continue
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                entries.append(("link", relative, b""))
            elif not stat.S_ISREG(mode):
                entries.append(("special", relative, b""))
            elif len(entries) < MAX_BUNDLE_FILES:
                with path.open("rb") as handle:
                    entries.append(("file", relative, handle.read(staging.MAX_FILE_BYTES + 1)))
    return entries


def unpack(entries: list[Entry], target: Path) -> None:
    """Recreate a packed folder; links point nowhere, since staging never follows them."""
    target.mkdir(parents=True, exist_ok=True)
    for kind, relative, data in entries:
        path = target / relative
        if not path.resolve().is_relative_to(target.resolve()):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dir":
            path.mkdir(parents=True, exist_ok=True)
        elif kind == "file":
            path.write_bytes(data)
        elif kind == "link":
            os.symlink("/nonexistent", path)
        elif kind == "special":
            os.mkfifo(path)


class GraderPlugin(WorkerPlugin):
    """Starts a preloaded grading worker beside each Dask worker, and stops it on teardown."""

    name = PLUGIN_NAME

    def setup(self, worker: Any) -> None:
        become_subreaper()
        self.lock = threading.Lock()
        self.process: WorkerProcess | None = WorkerProcess()

    def teardown(self, worker: Any) -> None:
        if self.process is not None:
            self.process.stop()

    def grade(self, job: Job) -> Outcome:
        with self.lock:
            if self.process is None or self.process.process.poll() is not None:
                self.process = WorkerProcess()
            outcome = self.process.grade(job)
            if self.process.process.poll() is not None:
                self.process.stop()
                self.process = None
                reap_orphans(keep=set())
            return outcome


def grade_task(fields: dict[str, Any], entries: list[Entry]) -> dict[str, Any]:
    """Runs on a Dask worker: grade one packed submission with that worker's grader."""
    plugin = cast(GraderPlugin, get_worker().plugins[PLUGIN_NAME])
    with tempfile.TemporaryDirectory(prefix="torchgrade-dask-") as scratch:
        folder = Path(scratch) / "submission"
        unpack(entries, folder)
        fields = {**fields, "folder": str(folder), "assignments": tuple(fields["assignments"])}
        outcome = plugin.grade(Job(**fields))
    return {"report_json": outcome.report_json, "error": outcome.error}


def run(
    jobs: list[Job],
    on_result: Callable[[Job, Outcome], None],
    scheduler: str | None,
    n_workers: int,
) -> None:
    """Grade `jobs` on the cluster at `scheduler`, or on a new local cluster of `n_workers`."""
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={ASSIGNMENTS_ENV: str(assignments_root())},
        )
        client = Client(cluster)
    try:
        client.register_plugin(GraderPlugin())
        futures = {
            client.submit(grade_task, asdict(job), pack(Path(job.folder)), pure=False): job
            for job in jobs
        }
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = Outcome(**future.result())
            except Exception as exc:
                outcome = Outcome(error=f"the Dask task failed: {type(exc).__name__}: {exc}")
            on_result(job, outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
