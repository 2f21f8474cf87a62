"""`grade batch` end to end: a class folder of every kind of submission, graded by real workers."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from grader.batch import runner as batch
from grader.batch.workers import Job, LocalPool, WorkerProcess
from grader.formats import junit
from grader.sandbox import linux
from grader.sandbox.torch_cache import TORCH_CACHE_VARIABLE
from grader.sandbox.zygote import force_rmtree
from grader.spec import select
from tests.batch_helpers import (
    MARKER_VARIABLE,
    batch_command,
    batch_env,
    copy,
    descendants_at_depth,
    marked_processes,
    read_gradebook,
    report,
    run_batch,
    tar_folder,
    without_timings,
    zip_folder,
    zip_with_link,
)
from tests.conftest import REFERENCE, SUBMISSIONS, run_cli

ASSIGNMENTS = tuple(s.name for s in select([]))
FULL_MARKS = sum(s.points for s in select([]))


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory: pytest.TempPathFactory):
    """Seven students: correct, buggy, hanging, empty, zipped, a hostile zip, a tar with a link."""
    root = tmp_path_factory.mktemp("class")
    copy(REFERENCE, root / "alice")
    copy(SUBMISSIONS / "training_loop_no_zero_grad", root / "bob")
    copy(SUBMISSIONS / "infinite_loop", root / "hana")
    (root / "empty").mkdir()
    zip_folder(SUBMISSIONS / "my_linear_transposed", root / "zoe.zip", prefix="zoe/")
    evil = zip_folder(REFERENCE, root / "mallory.zip")
    with zipfile.ZipFile(evil, "a") as bundle:
        bundle.writestr("../../escaped.py", "print('outside')\n")
    zip_with_link(evil, "my_linear_link.py", "/etc/passwd")
    tar_folder(
        SUBMISSIONS / "correct_variant", root / "lin.tar.gz", links={"peek.py": "../../checks"}
    )
    (root / ".hidden").mkdir()
    copy(REFERENCE, root / ".hidden" / "ghost")
    (root / "notes.txt").write_text("not a submission\n")
    out = tmp_path_factory.mktemp("class-out")
    marker = uuid.uuid4().hex
    result = run_batch(
        root, "--out", out, "--timeout", "1", "--jobs", "2", "--format", "junit", marker=marker
    )
    assert result.returncode == 0, result.stderr
    return root, out, result, marker


def test_every_student_gets_one_row_matching_their_report(class_folder):
    root, out, result, _ = class_folder
    rows = read_gradebook(out)
    assert [r["student"] for r in rows] == [
        "alice",
        "bob",
        "empty",
        "hana",
        "lin",
        "mallory",
        "zoe",
    ]
    for row in rows:
        graded = report(out, row["student"])
        assert row["report"] == f"{row['student']}/report.json"
        assert (out / row["student"] / junit.FILENAME).is_file()
        assert float(row["total"]) == graded["score"]
        assert float(row["max_score"]) == graded["max_score"] == FULL_MARKS
        assert int(row["integrity_flags"]) == len(graded["integrity"])
        for assignment in graded["assignments"]:
            assert float(row[assignment["name"]]) == assignment["score"]
    by_student = {r["student"]: r for r in rows}
    assert float(by_student["alice"]["total"]) == FULL_MARKS
    assert by_student["alice"]["status"] == "graded"
    assert by_student["empty"]["status"] == "missing" and by_student["empty"]["total"] == "0"
    assert by_student["mallory"]["status"] == "rejected"
    lin = report(out, "lin")
    assert by_student["lin"]["status"] == "graded"
    assert {c["status"] for a in lin["assignments"] for c in a["checks"]} == {"passed"}
    assert "ignored notes.txt" in result.stderr
    assert not (out / "ghost").exists() and not (root.parent / "escaped.py").exists()


def test_batch_reports_equal_grade_submit_reports(class_folder, grade_folder):
    """A worker grades exactly as `grade submit` does, archives included (paths aside)."""
    _, out, _, _ = class_folder
    for student, fixture in (
        ("bob", "training_loop_no_zero_grad"),
        ("zoe", "my_linear_transposed"),
    ):
        alone = grade_folder(SUBMISSIONS / fixture).report
        assert without_timings(report(out, student), keep_path=False) == without_timings(
            alone, keep_path=False
        )
    assert report(out, "zoe")["submission"]["path"].endswith("zoe.zip")


def test_hanging_code_times_out_and_grading_goes_on(class_folder):
    _, out, _, _ = class_folder
    hana = report(out, "hana")
    statuses = {c["status"] for a in hana["assignments"] for c in a["checks"]}
    assert "timeout" in statuses and hana["complete"]
    assert hana["score"] > 0
    training = next(a for a in hana["assignments"] if a["name"] == "training_loop")
    assert training["score"] == training["max_score"]


def test_hostile_archives_are_refused_or_defanged_with_a_message(class_folder):
    _, out, _, _ = class_folder
    mallory = report(out, "mallory")
    assert mallory["score"] == 0 and mallory["complete"]
    assert "mallory.zip was not graded" in mallory["submission"]["problems"][0]
    assert "../../escaped.py" in mallory["submission"]["problems"][0]
    assert all("outside the archive" in a["message"] for a in mallory["assignments"])
    lin = report(out, "lin")
    assert any("peek.py is a link" in p for p in lin["submission"]["problems"])
    assert "peek.py" not in {f["path"] for f in lin["submission"]["files"]}


def test_summary_matches_the_gradebook(class_folder):
    _, out, _, _ = class_folder
    summary = json.loads((out / "summary.json").read_text())
    rows = read_gradebook(out)
    assert summary["students"] == 7
    assert summary["status"] == {"graded": 5, "missing": 1, "pending": 0, "rejected": 1}
    for name in ASSIGNMENTS:
        scores = [float(r[name]) for r in rows]
        assert summary["assignments"][name]["mean"] == round(statistics.fmean(scores), 4)
        assert summary["assignments"][name]["median"] == round(statistics.median(scores), 4)
    rates = [c["failure_rate"] for c in summary["checks"]]
    assert rates == sorted(rates, reverse=True) and all(0 <= r <= 1 for r in rates)
    zero_grad = next(c for c in summary["checks"] if c["id"] == "training_loop::test_call_order")
    assert zero_grad["not_passed"] == 1 and zero_grad["attempted"] == 5


def test_no_process_outlives_the_batch(class_folder):
    *_, marker = class_folder
    assert marked_processes(marker) == []


def _start_and_stop(args: tuple, marker: str, out: Path, reports: int, sig: int, temp: Path) -> int:
    """Start `grade batch`, send `sig` once `reports` reports exist; its exit code."""
    process = subprocess.Popen(
        batch_command(*args),
        env={**batch_env(marker), "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/report.json"))) < reports and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(sig)
    code = process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while marked_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marked_processes(marker) == []
    return code


def test_interrupted_and_killed_batch_resumes_without_regrading(tmp_path):
    """Ctrl-C, then SIGKILL mid-batch, then a rerun: every report exactly once, none redone,
    and no temp folder left behind, not even by the batch that was killed."""
    root, out, temp = tmp_path / "class", tmp_path / "out", tmp_path / "temp"
    root.mkdir()
    temp.mkdir()
    students = [f"s{i:02d}" for i in range(12)]
    for student in students:
        copy(SUBMISSIONS / "only_my_linear", root / student)
    marker = uuid.uuid4().hex
    args = (root, "--out", out, "-a", "my_linear", "--jobs", "2")

    assert _start_and_stop(args, marker, out, 1, signal.SIGINT, temp) == 130
    rows = read_gradebook(out)
    assert [r["student"] for r in rows] == students
    assert "pending" in {r["status"] for r in rows} and "graded" in {r["status"] for r in rows}

    first = len(list(out.glob("*/report.json")))
    _start_and_stop(args, marker, out, first + 1, signal.SIGKILL, temp)
    before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/report.json")}
    assert first < len(before) < len(students)

    result = run_batch(*args, marker=marker, tmpdir=temp)
    assert result.returncode == 0, result.stderr
    assert f"{len(students) - len(before)} graded, {len(before)} reused" in result.stderr
    for student, mtime in before.items():
        assert (out / student / "report.json").stat().st_mtime_ns == mtime
    rows = read_gradebook(out)
    assert [r["student"] for r in rows] == students
    assert {(r["my_linear"], r["total"], r["status"]) for r in rows} == {("10", "10", "graded")}
    assert list(out.glob("**/.*.tmp")) == []
    assert marked_processes(marker) == []
    assert [p.name for p in temp.iterdir() if p.name.startswith("torchgrade-")] == []


def _own_temp_folder(monkeypatch, tmp_path) -> Path:
    """An empty $TMPDIR for this test (and torch's compile cache outside it), so that what the
    grader leaves behind, if anything, is all that can appear in it."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv(TORCH_CACHE_VARIABLE, str(tmp_path / "torch-cache"))
    return temp


def test_a_worker_that_dies_costs_one_submission_and_is_replaced(monkeypatch, tmp_path):
    """Its spinning probe child is ended too, though its sandbox died with the worker, and
    none of the temp folders of the grading it was killed in is left behind."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(MARKER_VARIABLE, marker)
    temp = _own_temp_folder(monkeypatch, tmp_path)
    pool = LocalPool(1)
    outcomes: dict[str, object] = {}
    hang = Job("hang", str(SUBMISSIONS / "infinite_loop"), ("scratch_lr",), timeout=1.0)
    fine = Job("fine", str(REFERENCE), ("my_linear",))

    def on_result(job: Job, outcome) -> None:
        outcomes[job.student] = outcome

    def kill_when_a_probe_spins() -> None:
        """Kill the worker while a probe child (worker > grader > zygote > probe) is running."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = list(pool.workers)
            if workers and descendants_at_depth(workers[0].process.pid, 3):
                time.sleep(0.3)
                os.kill(workers[0].process.pid, signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_a_probe_spins)
    killer.start()
    pool.run([hang, fine], on_result)
    killer.join()
    assert outcomes["hang"].report_json is None
    assert "killed by SIGKILL" in outcomes["hang"].error
    assert json.loads(outcomes["fine"].report_json)["score"] == 10
    assert marked_processes(marker) == []
    assert sorted(p.name for p in temp.iterdir()) == []


def test_a_grading_process_killed_mid_way_leaves_no_temp_folder(monkeypatch, tmp_path):
    """The worker removes each grading's temp folder (staging, the sandbox's run folder, the
    judge's) once the grading process is gone, even when it was killed, and goes on."""
    temp = _own_temp_folder(monkeypatch, tmp_path)
    worker = WorkerProcess()
    try:
        assert worker.scratch.parent == temp
        hang = Job("hang", str(SUBMISSIONS / "infinite_loop"), ("scratch_lr",), timeout=30.0)
        worker.submit(hang)
        deadline = time.monotonic() + 60
        while not descendants_at_depth(worker.process.pid, 3):
            assert time.monotonic() < deadline, "no probe started"
            time.sleep(0.01)
        (job_folder,) = worker.scratch.iterdir()
        assert any(job_folder.iterdir()), "the grading's temp files are not in its folder"
        (grading,) = descendants_at_depth(worker.process.pid, 1)
        os.kill(grading, signal.SIGKILL)
        message = None
        while message is None or message.get("op") != "done":
            message = worker.receive()
            assert message is not None, worker.exit_detail()
        assert message["status"] == "crashed"
        worker.finish(message["status"], message.get("detail", ""))
        assert list(worker.scratch.iterdir()) == []
        again = worker.grade(Job("fine", str(REFERENCE), ("my_linear",)))
        assert json.loads(again.report_json or "{}").get("score") == 10, again.error
        assert list(worker.scratch.iterdir()) == []
    finally:
        worker.stop()
    assert list(temp.iterdir()) == []


def test_dask_executor_gives_the_local_gradebook(class_folder, tmp_path):
    """The whole class again, on a LocalCluster of 2 workers: the same gradebook and reports."""
    pytest.importorskip("distributed")
    root, local, _, _ = class_folder
    dask = tmp_path / "dask"
    result = run_batch(root, "--out", dask, "--timeout", "1", "--executor", "dask", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert (dask / "gradebook.csv").read_text() == (local / "gradebook.csv").read_text()
    for row in read_gradebook(local):
        student = row["student"]
        assert without_timings(report(dask, student)) == without_timings(report(local, student))


def test_usage_errors_are_one_line(tmp_path, monkeypatch):
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = run_cli("batch", empty, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert batch.NO_SUBMISSIONS.format(root=empty.resolve()) in result.output
    result = run_cli("batch", REFERENCE.parent / "tests", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2 and batch.SCHEDULER_NEEDS_DASK in result.output
    monkeypatch.setattr(batch, "dask_available", lambda: False)
    result = run_cli("batch", REFERENCE.parent / "tests", "--executor", "dask")
    assert result.exit_code == 2 and batch.DASK_MISSING in result.output
    assert "Traceback" not in result.output


def test_memory_limit_reaches_every_submission(tmp_path):
    """`grade batch --memory-limit` bounds each student's probes as `grade submit` does, and
    the batch leaves nothing behind in $TMPDIR."""
    root = tmp_path / "class"
    copy(SUBMISSIONS / "hostile_exhaustion", root / "max")
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_batch(
        root,
        "--out",
        out,
        "-a",
        "my_linear",
        "--memory-limit",
        "256",
        "--jobs",
        "1",
        tmpdir=scratch,
    )
    assert result.returncode == 0, result.stderr
    assert os.listdir(scratch) == []
    check = next(
        c
        for c in report(out, "max")["assignments"][0]["checks"]
        if c["id"] == "my_linear::test_output_shape_3d"
    )
    assert check["status"] == "failed"
    assert "memory limit exceeded" in check["message"]
    assert read_gradebook(out)[0]["student"] == "max"


def _removal_in_a_child_without_root_powers(tree: Path) -> None:
    """force_rmtree(tree) in a fork that keeps uid 0 but drops every capability, so that
    permissions apply as they do to the grader's unprivileged processes."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if os.geteuid() == 0:
                linux.drop_capabilities()
            force_rmtree(tree)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_removing_a_sandbox_tree_touches_nothing_outside_it(tmp_path):
    """A tree already gone is no error and leaves its folder's mode alone (it may be /tmp);
    read-only folders inside are removed, and a symlink in one is removed without making
    what it points to writable."""
    parent = tmp_path / "parent"
    parent.mkdir()
    parent.chmod(0o755)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    outside.chmod(0o444)
    _removal_in_a_child_without_root_powers(parent / "already-gone")
    assert parent.stat().st_mode & 0o777 == 0o755
    tree = parent / "tree"
    locked = tree / "locked"
    locked.mkdir(parents=True)
    (locked / "file.txt").write_text("x")
    (locked / "link").symlink_to(outside)
    locked.chmod(0o500)
    _removal_in_a_child_without_root_powers(tree)
    assert not tree.exists()
    assert parent.stat().st_mode & 0o777 == 0o755
    assert outside.stat().st_mode & 0o777 == 0o444
    assert outside.read_text() == "keep"


def test_a_worker_whose_client_vanished_removes_its_own_folder(monkeypatch, tmp_path):
    """The client goes away before the worker has even warmed up, so the worker's first send
    fails: it must still remove the temp folder made for it, since no client will."""
    temp = _own_temp_folder(monkeypatch, tmp_path)
    worker = WorkerProcess()
    try:
        worker.control.close()
        worker.process.wait(timeout=120)
        assert not worker.scratch.exists()
        assert list(temp.iterdir()) == []
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def awkward_names(tmp_path_factory: pytest.TempPathFactory):
    """Students named like the batch's own outputs, and names whose fallback ids collide."""
    root = tmp_path_factory.mktemp("awkward")
    for name in (*OUTPUT_NAMES, "a\\x09", "a\\x09.zip", "a\\x09.zip-3"):
        (root / name).mkdir()  # the ids a tab in "a\t.zip" is shown as, and the old fallback
    zip_folder(REFERENCE, root / "a\t.zip")
    (root / "gradebook.csv.zip").write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path_factory.mktemp("awkward-out")
    result = run_batch(root, "--out", out, "-a", "my_linear", "--timeout", "2", "--jobs", "2")
    return root, out, result


OUTPUT_NAMES = (
    "gradebook.csv",
    "summary.json",
    "summary.html",
    "batch.json",
    "workers.log",
    "canvas.csv",
)


def test_students_named_like_outputs_get_their_own_folders(awkward_names):
    _, out, result = awkward_names
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = {row["student"]: row for row in read_gradebook(out)}
    for name in OUTPUT_NAMES:
        assert (out / f"{name}-2" / "report.json").is_file()
        assert rows[f"{name}-2"]["status"] == "missing"  # an empty folder: nothing handed in
    assert json.loads((out / "batch.json").read_text())["assignments"] == ["my_linear"]
    assert "mean" in json.dumps(json.loads((out / "summary.json").read_text()))
    assert rows["gradebook.csv.zip"]["status"] == "rejected"
    assert (out / "gradebook.csv").is_file()


def test_student_ids_are_unique_whatever_the_names(awkward_names):
    _, out, result = awkward_names
    assert result.returncode == 0, result.stderr
    rows = read_gradebook(out)
    ids = [row["student"] for row in rows]
    assert len(ids) == len(set(ids)) == len(OUTPUT_NAMES) + 5
    assert {"a\\x09", "a\\x09.zip", "a\\x09.zip-3", "a\\x09.zip-2"} <= set(ids)
    zipped = [row for row in rows if row["student"] == "a\\x09.zip-2"]
    assert zipped[0]["my_linear"] == "10", zipped


def test_an_out_that_is_root_or_inside_a_submission_is_refused(tmp_path):
    root = tmp_path / "root"
    copy(REFERENCE, root / "alice")
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for out, message in (
        (root, batch.OUT_IS_ROOT.format(out=root)),
        (root / "alice", batch.OUT_IN_SUBMISSION.format(out=root / "alice", student="alice")),
        (
            root / "alice" / "grades",
            batch.OUT_IN_SUBMISSION.format(out=root / "alice" / "grades", student="alice"),
        ),
    ):
        result = run_cli("batch", root, "--out", out, "-a", "my_linear")
        assert result.exit_code == 2, result.output
        assert message in result.output and "--out" in result.output
        assert "Traceback" not in result.output
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    for fine in (root / "_grades", root / ".grades" / "hw1", tmp_path / "elsewhere"):
        assert batch.out_problem(root, fine) is None
    nested = root / "new" / "grades"
    assert batch.out_problem(root, nested) == batch.OUT_NESTED.format(out=nested)
    (root / "_grades").mkdir()
    (root / "_grades" / batch.SETTINGS_FILE).write_text("{}\n")
    assert batch.out_problem(root, root / "_grades") is None  # an earlier run's output


def test_submit_refuses_an_out_that_is_the_submission(tmp_path):
    folder = copy(REFERENCE, tmp_path / "self")
    (folder / "report.md").write_text("the student's own notes\n")
    result = run_cli("submit", folder, "--out", folder, "--format", "markdown", "-a", "my_linear")
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "Traceback" not in result.output
    assert (folder / "report.md").read_text() == "the student's own notes\n"
    assert not (folder / "report.json").exists()


def test_a_fresh_out_reuses_nothing_and_counts_refused_archives_apart(awkward_names):
    _, _, result = awkward_names
    assert result.returncode == 0, result.stderr
    graded = len(OUTPUT_NAMES) + 4  # every folder, and the zip of a tab
    assert f"{graded} graded, 0 reused from an earlier run, 1 not graded" in result.stderr
