"""`grade batch --deadline --roster --format canvas` over git repositories made at test time.

- alice: a commit before the deadline and one after; no push history for her repository (the
  stand-in server answers 404), so commit dates decide, flagged unverified;
- bob: a buggy commit pushed on time, then a correct commit backdated to before the deadline but
  pushed late. The stand-in activity server (127.0.0.1, two pages) says so: the buggy one is
  graded, verified, with later pushes. Bob renamed his account: the roster has his old username
  and his github_id, which the pushes carry;
- carol: a hostile `.git/config` (fsmonitor, hooksPath, a smudge filter, a textconv) and hooks,
  each of which would plant a marker file if it ran; a symlink, a submodule link, a name that
  is not UTF-8 and an oversized blob in her tree;
- dave: a folder that is not a repository; mallory: a repository on no roster; erin and frank
  (never linked an account): on the roster, with no repository.
"""

from __future__ import annotations

import csv
import http.server
import io
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from grader.batch import canvas
from tests.conftest import REFERENCE, SUBMISSIONS, run_cli

DEADLINE = "2026-12-01T23:59+09:00"
GOOD = (REFERENCE / "my_linear.py").read_bytes()
BUGGY = (SUBMISSIONS / "my_linear_transposed" / "my_linear.py").read_bytes()
ORG = "course-org"


def _git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    ident = ["-c", "user.name=Student", "-c", "user.email=s@example.edu"]
    done = subprocess.run(
        ["git", *ident, *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, bytes], date: str) -> str:
    for name, data in files.items():
        (repo / name).write_bytes(data)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", f"work at {date}", date=date)
    return _git(repo, "rev-parse", "HEAD")


def _repo(root: Path, name: str) -> Path:
    repo = root / name
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    return repo


def _make_hostile(repo: Path, markers: Path) -> None:
    """Config and hooks that would each plant a marker file if git ever ran them."""
    hooks = repo / ".git" / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "pre-commit", "post-index-change", "reference-transaction"):
        script = hooks / hook
        script.write_text(f"#!/bin/sh\ntouch {markers}/hook-{hook}\n")
        script.chmod(0o755)
        shutil.copy(script, repo / ".git" / "hooks" / hook)
    with (repo / ".git" / "config").open("a") as config:
        config.write(
            f'[core]\n\tfsmonitor = "touch {markers}/fsmonitor; echo"\n'
            f"\thooksPath = {hooks}\n"
            f"\tpager = touch {markers}/pager\n"
            f'[filter "evil"]\n\tsmudge = "touch {markers}/smudge; cat"\n'
            f"\tclean = cat\n\trequired = true\n"
            f'[diff "evil"]\n\ttextconv = "touch {markers}/textconv; cat"\n'
        )


class _Activity(http.server.BaseHTTPRequestHandler):
    """Recorded activity responses, as GitHub's /repos/{owner}/{repo}/activity sends them."""

    pages: ClassVar[dict[str, list[list[dict]]]] = {}
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.seen.append((path, self.headers.get("Authorization", "")))
        parts = path.strip("/").split("/")
        pages = self.pages.get(parts[2]) if len(parts) == 4 and parts[3] == "activity" else None
        if pages is None:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"message": "Not Found"}')
            return
        page = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("page", "1"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if page < len(pages):
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            self.send_header("Link", f'<{host}{path}?{query}&page={page + 1}>; rel="next"')
        self.end_headers()
        self.wfile.write(json.dumps(pages[page - 1]).encode())

    def log_message(self, *args: object) -> None:
        pass


def _push(after: str, before: str, when: str, kind: str = "push", actor: int = 102) -> dict:
    return {
        "id": abs(hash((after, when))) % 10**9,
        "node_id": "RA_x",
        "before": before,
        "after": after,
        "ref": "refs/heads/main",
        "timestamp": when,
        "activity_type": kind,
        "actor": {"login": "bob-new", "id": actor, "type": "User"},
    }


CANVAS = (
    b"\xef\xbb\xbfStudent,ID,SIS User ID,SIS Login ID,Section,Homework 0 (1001),Current Score\r\n"
    b"    Points Possible,,,,,5,(read only)\r\n"
    b'"Lee, Alice",11,S-1,alice@uni.edu,Sec 1,5,100\r\n'
    b'"Kim, Bob",12,S-2,bob@uni.edu,Sec 1,4,80\r\n'
    b'"Park, Carol",13,S-3,carol@uni.edu,"Sec ""2""",,\r\n'
    b'"Choi, Dave",14,S-4,dave@uni.edu,Sec 2,3,60\r\n'
    b'"Han, Erin",15,S-5,erin@uni.edu,Sec 2,,\r\n'
    b'"Student, Test",99,,,Sec 1,,\r\n'
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("final")
    markers = tmp / "markers"
    markers.mkdir()
    root = tmp / "repos"
    root.mkdir()
    commits: dict[str, str] = {}

    alice = _repo(root, "hw1-alice")
    commits["alice"] = _commit(alice, {"my_linear.py": GOOD}, "2026-12-01T20:00+09:00")
    commits["alice_late"] = _commit(alice, {"my_linear.py": BUGGY}, "2026-12-02T09:00+09:00")

    bob = _repo(root, "hw1-bob")
    commits["bob"] = _commit(bob, {"my_linear.py": BUGGY}, "2026-12-01T21:00+09:00")
    commits["bob_backdated"] = _commit(bob, {"my_linear.py": GOOD}, "2026-12-01T23:30+09:00")
    _Activity.pages = {
        "hw1-bob": [
            [_push(commits["bob_backdated"], commits["bob"], "2026-12-02T03:10:00Z")],
            [_push(commits["bob"], "0" * 40, "2026-12-01T12:05:00Z", "branch_creation")],
        ]
    }

    carol = _repo(root, "hw1-carol")
    (carol / ".gitattributes").write_text("* filter=evil diff=evil\n")
    (carol / "big.bin").write_bytes(b"\0" * (3 << 20))
    (carol / os.fsdecode(b"bad\xff.py")).write_bytes(b"x = 1\n")
    os.symlink("my_linear.py", carol / "link.py")
    (carol / "my_linear.py").write_bytes(GOOD)
    _git(carol, "add", "-A")
    _git(carol, "update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor")
    _git(carol, "commit", "-q", "-m", "carol", date="2026-12-01T22:00+09:00")
    commits["carol"] = _git(carol, "rev-parse", "HEAD")
    _make_hostile(carol, markers)

    dave = root / "hw1-dave"
    dave.mkdir()
    (dave / "my_linear.py").write_bytes(GOOD)

    mallory = _repo(root, "hw1-mallory")
    commits["mallory"] = _commit(mallory, {"my_linear.py": GOOD}, "2026-12-01T10:00+09:00")

    roster = tmp / "classroom_roster.csv"
    roster.write_text(
        "identifier,github_username,github_id,name\n"
        "alice@uni.edu,alice,101,Alice Lee\n"
        "bob@uni.edu,bobby-old,102,Bob Kim\n"
        "carol@uni.edu,carol,,Carol Park\n"
        "dave@uni.edu,dave,104,Dave Choi\n"
        "erin@uni.edu,erin,105,Erin Han\n"
        "frank@uni.edu,,,Frank Yoo\n"
    )
    export = tmp / "export.csv"
    export.write_bytes(CANVAS)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Activity)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{server.server_address[1]}"
    out = tmp / "grades"
    args = [
        "batch", root, "--out", out, "--assignment", "my_linear", "--jobs", "2",
        "--deadline", DEADLINE, "--roster", roster, "--github-org", ORG,
        "--github-token", "test-token", "--github-api", api,
        "--format", "canvas", "--canvas-export", export, "--canvas-column", "HW1 (2002)",
    ]  # fmt: skip
    first = run_cli(*args)
    second = run_cli(*args)
    server.shutdown()
    return {
        "first": first,
        "second": second,
        "out": out,
        "commits": commits,
        "markers": markers,
        "carol": carol,
    }


def _rows(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "gradebook.csv").read_text()
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text))}


def _report(out: Path, student: str) -> dict:
    return json.loads((out / student / "report.json").read_text())


def test_every_row_of_the_gradebook(graded):
    assert graded["first"].exit_code == 0, graded["first"].output
    out, commits = graded["out"], graded["commits"]
    rows = _rows(out)
    alice, bob = rows["hw1-alice"], rows["hw1-bob"]
    assert alice["commit"] == commits["alice"] and alice["verified"] == "unverified"
    assert alice["time_source"] == "commit" and alice["later_pushes"] == "yes"
    assert float(alice["total"]) == float(alice["max_score"])  # the reference, not the late bug
    assert alice["github_username"] == "alice" and alice["identifier"] == "alice@uni.edu"

    assert bob["commit"] == commits["bob"] != commits["bob_backdated"]
    assert bob["verified"] == "yes" and bob["time_source"] == "push"
    assert bob["pushed_at"] == "2026-12-01T12:05:00+00:00" and bob["later_pushes"] == "yes"
    assert float(bob["total"]) < float(bob["max_score"])  # the buggy commit pushed on time
    assert bob["github_id"] == "102" and bob["github_username"] == "bobby-old"  # joined on id

    carol = rows["hw1-carol"]
    assert carol["commit"] == commits["carol"] and carol["verified"] == "unverified"
    assert carol["status"] == "graded" and float(carol["total"]) == float(carol["max_score"])

    dave = rows["hw1-dave"]
    assert dave["commit"] == "" and dave["status"] == "graded" and dave["name"] == "Dave Choi"
    assert any(
        "not a git repository" in p for p in _report(out, "hw1-dave")["submission"]["problems"]
    )

    mallory = rows["hw1-mallory"]
    assert mallory["identifier"] == "" and mallory["commit"] == commits["mallory"]
    missing = {k: v for k, v in rows.items() if v["status"] == "missing"}
    assert {v["identifier"] for v in missing.values()} == {"erin@uni.edu", "frank@uni.edu"}
    assert all(float(v["total"]) == 0 for v in missing.values())

    summary = json.loads((out / "summary.json").read_text())
    assert summary["unmatched_repositories"] == ["hw1-mallory"]
    assert sorted(summary["missing_students"]) == ["erin", "frank@uni.edu"]
    assert "hw1-mallory matches no student" in graded["first"].output

    bob_report = _report(out, "hw1-bob")
    assert bob_report["revision"]["commit"] == commits["bob"]
    assert any("pushes after the deadline" in p for p in bob_report["submission"]["problems"])
    assert _activity_paths_called_with_token()


def _activity_paths_called_with_token() -> bool:
    calls = [c for c in _Activity.seen if c[0] == f"/repos/{ORG}/hw1-bob/activity"]
    return len(calls) >= 2 and all(auth == "Bearer test-token" for _, auth in calls)


def test_nothing_planted_ran_and_the_tree_rules_held(graded):
    assert sorted(p.name for p in graded["markers"].iterdir()) == []
    report = _report(graded["out"], "hw1-carol")
    problems = " | ".join(report["submission"]["problems"])
    for expected in ("link.py is a symbolic link", "vendor is a submodule", "not UTF-8", "big.bin"):
        assert expected in problems, problems
    graded_files = {f["path"] for f in report["submission"]["files"]}
    assert graded_files == {"my_linear.py", ".gitattributes"} or graded_files == {"my_linear.py"}
    assert (graded["carol"] / "my_linear.py").read_bytes() == GOOD
    # The plants are live: ordinary porcelain in that repository runs them.
    carol = graded["carol"]
    (carol / "my_linear.py").unlink()
    _git(carol, "status")
    _git(carol, "checkout", "--", "my_linear.py")
    planted = {p.name for p in graded["markers"].iterdir()}
    assert {"fsmonitor", "smudge"} <= planted, planted


def test_resume_keys_on_the_commit(graded):
    second = graded["second"]
    assert second.exit_code == 0, second.output
    assert "0 graded, 5 reused" in second.output


def _drop_last_field(line: bytes) -> bytes:
    return line[: line.rindex(b",")]


def test_canvas_export_comes_back_with_one_filled_column(graded):
    out = graded["out"]
    filled = (out / "canvas.csv").read_bytes()
    original_lines = CANVAS.split(b"\r\n")
    lines = filled.split(b"\r\n")
    assert len(lines) == len(original_lines)
    for before, after in zip(original_lines, lines, strict=True):
        if before:
            assert _drop_last_field(after) == before  # every other byte unchanged
    rows = list(csv.reader(io.StringIO(filled.decode("utf-8-sig"))))
    assert rows[0][-1] == "HW1 (2002)"
    assert rows[1][-1] == "10"  # points possible: my_linear's points
    scores = {row[3]: row[-1] for row in rows[2:] if row}
    gradebook = _rows(out)
    assert scores["alice@uni.edu"] == gradebook["hw1-alice"]["total"]
    assert scores["bob@uni.edu"] == gradebook["hw1-bob"]["total"]
    assert scores["erin@uni.edu"] == "0"  # on the roster, no repository
    assert scores[""] == ""  # the test student: not invented, left blank
    assert "Student, Test" in graded["first"].output


def test_canvas_updates_an_existing_column_in_place():
    result = canvas.fill(
        CANVAS,
        "Homework 0 (1001)",
        5,
        lambda row: {"bob@uni.edu": 2.5}.get(row.get("SIS Login ID", "")),
    )
    assert result.data == CANVAS.replace(b"Sec 1,4,80", b"Sec 1,2.5,80")
    assert result.matched == 1 and "Lee, Alice" in result.unmatched_rows


def test_without_a_token_commit_dates_decide_and_say_so(graded, tmp_path):
    """The same backdated late commit, without push history: graded, but flagged unverified."""
    root = tmp_path / "repos"
    root.mkdir()
    shutil.copytree(graded["out"].parent / "repos" / "hw1-bob", root / "hw1-bob")
    pointer = root / "hw1-pointer"
    pointer.mkdir()
    (pointer / ".git").write_text(f"gitdir: {graded['carol'] / '.git'}\n")
    (pointer / "my_linear.py").write_bytes(GOOD)
    late = _repo(root, "hw1-late")
    _commit(late, {"my_linear.py": GOOD}, "2026-12-02T08:00+09:00")
    out = tmp_path / "grades"
    env_free = {"GITHUB_TOKEN": ""}
    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner(env=env_free).invoke(
        main,
        [str(a) for a in ("batch", root, "--out", out, "-a", "my_linear", "--deadline", DEADLINE)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    bob = rows["hw1-bob"]
    assert bob["commit"] == graded["commits"]["bob_backdated"]
    assert bob["verified"] == "unverified" and bob["time_source"] == "commit"
    assert "identifier" not in bob  # no roster, no roster columns
    assert rows["hw1-late"]["status"] == "missing" and rows["hw1-late"]["commit"] == ""
    late_report = _report(out, "hw1-late")
    assert "no commit is dated before the deadline" in late_report["assignments"][0]["message"]
    refused = rows["hw1-pointer"]
    assert refused["status"] in ("missing", "rejected") and refused["commit"] == ""
    problems = _report(out, "hw1-pointer")["submission"]["problems"]
    assert any("could not be read" in p and "pointer" in p for p in problems), problems


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--deadline", "2026-12-01 23:59"], "with a time zone"),
        (["--format", "canvas"], "needs --canvas-export"),
    ],
)
def test_bad_final_grading_options_are_usage_errors(tmp_path, extra, message):
    (tmp_path / "s").mkdir()
    result = run_cli("batch", tmp_path, "--out", tmp_path / "out", *extra)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def _hand_made_commit(repo: Path, lines: list[str], date: str) -> None:
    """A commit of a tree `git mktree` builds from `lines` ("<mode> <kind> <sha>\\t<name>")."""
    tree = subprocess.run(
        ["git", "mktree"],
        cwd=repo,
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = _git(repo, "commit-tree", tree, "-m", "hand-made", date=date)
    _git(repo, "update-ref", "refs/heads/main", commit)


def test_a_hand_made_tree_that_cannot_be_checked_out_is_refused(tmp_path):
    """A file named twice, or a file `a` beside a folder `a/`: that student's submission is
    refused with a message, and the batch grades the others."""
    root = tmp_path / "repos"
    root.mkdir()
    on_time = "2026-11-30T12:00+09:00"
    dup = _repo(root, "hw1-dup")
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=dup,
            input=GOOD,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    _hand_made_commit(dup, [f"100644 blob {blob}\tmy_linear.py"] * 2, on_time)
    clash = _repo(root, "hw1-clash")
    shutil.copytree(dup / ".git" / "objects", clash / ".git" / "objects", dirs_exist_ok=True)
    inner = subprocess.run(
        ["git", "mktree"],
        cwd=clash,
        input=f"100644 blob {blob}\tb\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _hand_made_commit(
        clash, [f"100644 blob {blob}\tmy_linear.py", f"040000 tree {inner}\tmy_linear.py"], on_time
    )
    fine = _repo(root, "hw1-fine")
    _commit(fine, {"my_linear.py": GOOD}, on_time)
    out = tmp_path / "grades"
    from click.testing import CliRunner

    from grader.cli import main

    result = CliRunner(env={"GITHUB_TOKEN": ""}).invoke(
        main,
        [str(a) for a in ("batch", root, "--out", out, "-a", "my_linear", "--deadline", DEADLINE)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = _rows(out)
    assert rows["hw1-fine"]["my_linear"] == "10"
    for name in ("hw1-dup", "hw1-clash"):
        assert rows[name]["status"] == "rejected", rows[name]
        problems = _report(out, name)["submission"]["problems"]
        assert any("my_linear.py twice, or as both a file and a folder" in p for p in problems)


def test_student_controlled_names_reach_the_terminal_inert(tmp_path):
    """Terminal escapes in a file name in ROOT, the roster and the Canvas export are shown
    escaped, never sent; the roster's control characters never reach gradebook.csv."""
    from tests.batch_helpers import read_gradebook, run_batch

    root = tmp_path / "repos"
    root.mkdir()
    (root / "hw1-zed.zip").write_bytes(b"PK\x03\x04 not a zip")
    title, clipboard = "\x1b]0;OWNED\x07", "\x1b]52;c;ZXZpbA==\x07"
    (root / f"{title}notes").write_text("x\n")
    (root / f"{clipboard}more").write_text("x\n")
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        "identifier,github_username,github_id,name\n"
        f"eve@uni.edu,{title}eve,,{clipboard}Eve\n"
        "zed@uni.edu,zed,,Zed\n"
    )
    export = tmp_path / "canvas.csv"
    export.write_bytes(
        b"Student,ID,SIS User ID,SIS Login ID,Section\r\n"
        + f"{clipboard}Mal,77,S-7,mal@uni.edu,Sec 1\r\n".encode()
    )
    out = tmp_path / "grades"
    result = run_batch(
        root, "--out", out, "-a", "my_linear", "--roster", roster_file,
        "--format", "canvas", "--canvas-export", export,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "ignored \\x1b]0;OWNED\\x07notes" in result.stderr
    assert "\\x1b]52;c;ZXZpbA==\\x07Mal" in result.stderr  # the unmatched Canvas row
    assert "]0;OWNEDeve (]52;c;ZXZpbA==Eve) is on the roster" in result.stderr  # stripped
    text = (out / "gradebook.csv").read_text()
    assert "\x1b" not in text and "\x07" not in text
    assert any(row["name"] == "]52;c;ZXZpbA==Eve" for row in read_gradebook(out))


def test_canvas_rows_that_two_students_could_be_are_left_and_reported(tmp_path):
    """Alice's SIS User ID is Bob's ID and the other way round: taking the first column that
    matches would swap their grades, so both rows are left as they were and printed."""
    from tests.batch_helpers import copy, run_batch

    root = tmp_path / "subs"
    copy(REFERENCE, root / "555")
    copy(SUBMISSIONS / "my_linear_transposed", root / "20231234")
    (root / "carol").mkdir()
    export = tmp_path / "canvas.csv"
    export.write_bytes(
        b"Student,ID,SIS User ID,SIS Login ID,Section\r\n"
        b"Alice,555,20231234,alice,Sec 1\r\n"
        b"Bob,20231234,555,bob,Sec 1\r\n"
        b"Carol,13,S-3,carol,Sec 1\r\n"
    )
    out = tmp_path / "grades"
    result = run_batch(
        root, "--out", out, "-a", "my_linear", "--format", "canvas", "--canvas-export", export,
        "--canvas-column", "HW1", "--jobs", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {row[0]: row for row in csv.reader(io.StringIO((out / "canvas.csv").read_text()))}
    assert rows["Alice"][-1] == "" and rows["Bob"][-1] == ""  # not swapped, not guessed
    assert rows["Carol"][-1] == "0"
    for name in ("Alice", "Bob"):
        assert f"Canvas row {name}: its ID columns match more than one" in result.stderr
    assert "Canvas row Carol" not in result.stderr


def test_roster_rows_never_replace_a_submission_or_each_other(tmp_path):
    """Two roster students with one identifier and no repository, and a submission whose id
    is what a missing row would be called: three rows, none lost."""
    from tests.batch_helpers import read_gradebook, run_batch

    root = tmp_path / "subs"
    root.mkdir()
    (root / "eve (no repository).zip").write_bytes(b"PK\x03\x04 not a zip")
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(
        "identifier,github_username,github_id,name\neve,,,Eve One\neve,,,Eve Two\n"
    )
    out = tmp_path / "grades"
    result = run_batch(root, "--out", out, "-a", "my_linear", "--roster", roster_file)
    assert result.returncode == 0, result.stderr
    rows = {row["student"]: row for row in read_gradebook(out)}
    assert len(rows) == 3, rows
    assert rows["eve (no repository)"]["status"] == "rejected"
    assert {rows[k]["name"] for k in rows if rows[k]["status"] == "missing"} == {
        "Eve One",
        "Eve Two",
    }
