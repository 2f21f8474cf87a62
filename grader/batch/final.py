"""Final grading of GitHub Classroom repositories: the commit at the deadline, the roster, Canvas.

`grade batch ROOT --deadline T` grades, for each cloned repository in ROOT, the last commit
pushed at or before T. With a GitHub token the push times come from GitHub's activity API
(`activity`); without one, from commit dates, which the student wrote, so the row is flagged
unverified. The files are read from git objects (`git_repos`), never checked out. A folder that
is not a repository is graded as it is, with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader.batch import activity, canvas, git_repos, roster
from grader.messages import say
from grader.report import Report, Revision

GRADEBOOK_REVISION = ("commit", "pushed_at", "time_source", "verified", "later_pushes")
GRADEBOOK_ROSTER = ("identifier", "github_username", "github_id", "name")
CANVAS_FILE = "canvas.csv"
BAD_DEADLINE = (
    "--deadline {value!r}: expected a date and time with a time zone, e.g. 2026-12-01T23:59+09:00"
)


class FinalError(Exception):
    """A usage problem with the final-grading options; the message says which."""


@dataclass
class FinalOptions:
    deadline: datetime | None = None
    token: str | None = None
    api: str = activity.DEFAULT_API
    org: str | None = None
    roster: Path | None = None
    canvas_export: Path | None = None
    canvas_column: str = "torchgrade"


@dataclass
class Prepared:
    """A repository made ready to grade, or the reason it cannot be."""

    folder: Path | None
    notes: list[str] = field(default_factory=list)
    revision: Revision | None = None
    refusal: str = ""
    github_id: int | None = None
    nothing_pushed: bool = False  # no commit by the deadline: the student is `missing`


def parse_deadline(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FinalError(BAD_DEADLINE.format(value=value)) from None
    if parsed.tzinfo is None:
        raise FinalError(BAD_DEADLINE.format(value=value))
    return parsed


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _history(
    repo: git_repos.Repository, path: Path, ref: str, options: FinalOptions
) -> tuple[list[activity.Push] | None, str]:
    if not options.token:
        return None, ""
    where = activity.parse_remote(repo.origin_url())
    if options.org:
        where = (options.org, path.name)
    if where is None:
        return None, say("git_activity_failed", detail="no github.com remote and no --github-org")
    try:
        return activity.pushes(where[0], where[1], ref, options.token, options.api), ""
    except activity.ActivityError as exc:
        return None, say("git_activity_failed", detail=str(exc))


def prepare_repository(path: Path, target: Path, options: FinalOptions) -> Prepared:
    """Pick the commit to grade in `path` and write its files into `target`."""
    assert options.deadline is not None
    deadline = options.deadline
    if not git_repos.is_repository(path):
        return Prepared(path, [say("git_not_a_repository")])
    try:
        repo = git_repos.Repository(path, target.parent / f"{target.name}.home")
        ref = repo.head_ref()
        history, problem = _history(repo, path, ref, options)
        notes = [problem] if problem else []
        github_id = activity.student_id(history) if history else None
        branch = ref.removeprefix("refs/heads/")
        if history is not None:
            on_time = [p for p in history if p.timestamp <= deadline]
            later = any(p.timestamp > deadline for p in history)
            if not on_time:
                return Prepared(
                    None,
                    notes,
                    refusal=say("git_no_commit", deadline=_iso(deadline)),
                    nothing_pushed=True,
                    github_id=github_id,
                )
            push = on_time[-1]
            if not repo.has_commit(push.after):
                return Prepared(
                    None,
                    notes,
                    refusal=say("git_commit_absent", commit=push.after[:12]),
                    github_id=github_id,
                )
            commit = repo.commit(push.after)
            revision = Revision(
                commit=commit.sha,
                time=_iso(push.timestamp),
                time_source="push",
                verified=True,
                later_pushes=later,
                deadline=_iso(deadline),
                ref=ref,
            )
            notes.append(
                say("git_graded_commit", commit=commit.sha[:12], ref=branch, time=revision.time)
            )
            if later:
                notes.append(say("git_later_pushes", deadline=_iso(deadline)))
        else:
            found = repo.last_commit_dated_by(ref, deadline)
            if found is None:
                return Prepared(
                    None,
                    notes,
                    refusal=say("git_no_commit_unverified", deadline=_iso(deadline)),
                    nothing_pushed=True,
                )
            commit = found
            later = repo.commits_dated_after(ref, deadline)
            revision = Revision(
                commit=commit.sha,
                time=_iso(commit.committed),
                time_source="commit",
                verified=False,
                later_pushes=later,
                deadline=_iso(deadline),
                ref=ref,
            )
            notes.append(
                say(
                    "git_graded_commit_unverified",
                    commit=commit.sha[:12],
                    ref=branch,
                    time=revision.time,
                )
            )
            if later:
                notes.append(say("git_later_commits", deadline=_iso(deadline)))
        extracted = repo.extract(commit, target)
    except git_repos.GitError as exc:
        return Prepared(None, refusal=say("git_unreadable", detail=str(exc)))
    return Prepared(target, [*notes, *extracted.notes], revision, github_id=github_id)


# --------------------------------------------------------------------------- gradebook columns


def revision_cells(report: Report | None) -> dict[str, str]:
    revision = report.revision if report is not None else None
    if revision is None:
        return {}
    return {
        "commit": revision.commit,
        "pushed_at": revision.time,
        "time_source": revision.time_source,
        "verified": "yes" if revision.verified else "unverified",
        "later_pushes": "yes" if revision.later_pushes else "no",
    }


def roster_cells(student: roster.Student | None) -> dict[str, str]:
    if student is None:
        return {}
    return {
        "identifier": student.identifier,
        "github_username": student.github_username,
        "github_id": "" if student.github_id is None else str(student.github_id),
        "name": student.name,
    }


def fill_canvas(
    export: Path,
    column: str,
    points_possible: float,
    scores: dict[str, float],
    students: list[roster.Student] | None,
) -> canvas.Filled:
    """The Canvas export with `column` filled in from `scores` (keyed by roster identifier or
    folder name), matching Canvas rows by their SIS Login ID, SIS User ID or ID. A row is
    filled only when exactly one identifier matches it and no other row matches that one;
    the others are `ambiguous_rows`."""
    try:
        data = export.read_bytes()
    except OSError as exc:
        raise FinalError(f"--canvas-export {export}: cannot be read ({exc.strerror})") from None

    lowered = {k.strip().lower(): v for k, v in scores.items() if k.strip()}

    def identifiers(row: dict[str, str]) -> set[str]:
        values = (row.get(key, "").strip().lower() for key in canvas.KEY_COLUMNS)
        return {value for value in values if value in lowered}

    rows_of: dict[str, int] = {}  # identifier -> how many rows it matches

    def count(row: dict[str, str]) -> None:
        for identifier in identifiers(row):
            rows_of[identifier] = rows_of.get(identifier, 0) + 1

    def score_for(row: dict[str, str]) -> float | canvas.Unclear | None:
        """The one student's score; a row whose key columns name two students, or whose
        student another row names too, is ambiguous: a guess could swap two grades."""
        found = identifiers(row)
        if not found:
            return None
        if len(found) > 1 or rows_of[next(iter(found))] > 1:
            return canvas.Unclear.AMBIGUOUS
        return lowered[found.pop()]

    try:
        canvas.fill(data, column, points_possible, count)  # a first pass counts the rows
        return canvas.fill(data, column, points_possible, score_for)
    except canvas.CanvasError as exc:
        raise FinalError(f"--canvas-export {export}: {exc}") from None
