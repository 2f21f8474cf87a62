"""GitHub Classroom's roster export, joined to the repositories of a batch.

The export (Students tab, "Download") has the columns `identifier`, `github_username`,
`github_id`, `name`. `identifier` is whatever the instructor entered (a name, an email, a student
id); `github_username` stays empty until a student links an account, and usernames can change, so
the join uses `github_id` where both sides know it (the repository's side from GitHub's push
history) and the username otherwise. Classroom names repository folders
`<assignment>-<username>`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from grader.formats.text import UNSAFE_CHARS

COLUMNS = ("identifier", "github_username", "github_id", "name")
# Control and invisible characters (tab and newline too): a roster cell is copied into the
# gradebook and printed, so none of them may come through; no real name or id holds one.
_UNSAFE = re.compile(f"[\t\n{UNSAFE_CHARS}]")


def _field(row: dict[str, str | None], column: str) -> str:
    return _UNSAFE.sub("", row.get(column) or "").strip()


class RosterError(Exception):
    """The roster cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Student:
    identifier: str
    github_username: str
    github_id: int | None
    name: str

    @property
    def key(self) -> str:
        """How the gradebook names a student without a repository."""
        return self.github_username or self.identifier


@dataclass
class Join:
    by_folder: dict[str, Student]
    missing: list[Student]
    unmatched: list[str]


def load(path: Path) -> list[Student]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: cannot be read ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    absent = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if absent:
        raise RosterError(
            f"{path}: not a GitHub Classroom roster (missing column {', '.join(absent)}; "
            f"expected {', '.join(COLUMNS)})"
        )
    students = []
    for line, row in enumerate(reader, start=2):
        raw_id = (row.get("github_id") or "").strip()
        if raw_id and not raw_id.isdigit():
            raise RosterError(f"{path}: line {line}: github_id {raw_id!r} is not a number")
        students.append(
            Student(
                identifier=_field(row, "identifier"),
                github_username=_field(row, "github_username"),
                github_id=int(raw_id) if raw_id else None,
                name=_field(row, "name"),
            )
        )
    return students


def _username_of(folder: str, students: list[Student]) -> Student | None:
    """The student whose username ends the folder name (`<assignment>-<username>`); the longest
    username wins, so `hw1-ann-lee` is ann-lee's, not lee's."""
    lowered = folder.lower()
    matches = [
        s
        for s in students
        if s.github_username
        and (
            lowered == s.github_username.lower()
            or lowered.endswith("-" + s.github_username.lower())
        )
    ]
    return max(matches, key=lambda s: len(s.github_username), default=None)


def join(students: list[Student], folders: dict[str, int | None]) -> Join:
    """Match repository folders (with the GitHub id of their pusher, when known) to students."""
    by_id = {s.github_id: s for s in students if s.github_id is not None}
    by_folder: dict[str, Student] = {}
    taken: set[int] = set()
    for folder, github_id in sorted(folders.items()):
        student = by_id.get(github_id) if github_id is not None else None
        if student is None:
            candidate = _username_of(folder, students)
            # A known id that disagrees means another account: do not join on the name.
            if candidate is not None and (
                github_id is None or candidate.github_id in (None, github_id)
            ):
                student = candidate
        if student is not None and id(student) not in taken:
            by_folder[folder] = student
            taken.add(id(student))
    missing = [s for s in students if id(s) not in taken]
    unmatched = sorted(f for f in folders if f not in by_folder)
    return Join(by_folder, missing, unmatched)
