"""Mutants: known-wrong student files that prove the hidden checks are sharp.

A mutant is `assignments/<name>/mutants/<mutant>.py`, a complete student file with one
deliberate, common mistake. Its module docstring declares what must happen when it is graded:

    '''The weights are stored as (out_features, in_features).

    catches: shapes, values
    hint: are the weights
    '''

The first line says what the mistake is. `catches:` lists the categories that must lose points
(at least one). `hint:` is optional: text that must appear, case-insensitively, in the message
or hint of one of its failed checks. `clauses:` names the contract clauses (ids from
assignment.toml) that the mistake breaks; a check covering one of them must fail. Any other
line is free prose, except a line that starts with a lowercase `word:`, which is read as a
field and must be one of those three.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from grader.report import CATEGORIES
from grader.spec import AssignmentSpec

FIELDS = ("catches", "hint", "clauses")
_FIELD = re.compile(r"^([a-z][a-z_]*):(.*)$")


class MutantError(Exception):
    """A mutant file is malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Mutant:
    assignment: str
    name: str
    path: Path
    description: str
    catches: tuple[str, ...]
    hint: str = ""
    clauses: tuple[str, ...] = ()


def parse_fields(docstring: str | None, where: str) -> tuple[str, dict[str, str]]:
    """(description, {field: value}) from a mutant's docstring; `where` names it in errors."""
    lines = [line.strip() for line in (docstring or "").strip().splitlines()]
    if not lines or not lines[0]:
        raise MutantError(f"{where}: the module docstring must start with a one-line description")
    description = lines[0]
    fields: dict[str, str] = {}
    for line in lines[1:]:
        match = _FIELD.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip()
        if key not in FIELDS:
            raise MutantError(
                f"{where}: unknown field '{key}:' in the docstring; known: {', '.join(FIELDS)}"
            )
        if key in fields:
            raise MutantError(f"{where}: field '{key}:' appears twice")
        fields[key] = value
    return description, fields


def parse_docstring(docstring: str | None, where: str) -> tuple[str, tuple[str, ...], str]:
    """(description, catches, hint) from a mutant's docstring; `where` names it in errors."""
    description, fields = parse_fields(docstring, where)
    if "catches" not in fields:
        raise MutantError(f"{where}: the docstring has no 'catches:' line")
    catches = tuple(c.strip() for c in fields["catches"].split(",") if c.strip())
    if not catches:
        raise MutantError(f"{where}: 'catches:' names no category")
    unknown = [c for c in catches if c not in CATEGORIES]
    if unknown:
        raise MutantError(
            f"{where}: unknown category {', '.join(unknown)} in 'catches:'; "
            f"known: {', '.join(CATEGORIES)}"
        )
    if len(set(catches)) != len(catches):
        raise MutantError(f"{where}: 'catches:' names a category twice")
    if "hint" in fields and not fields["hint"]:
        raise MutantError(f"{where}: 'hint:' is empty; remove the line or give the text")
    return description, catches, fields.get("hint", "")


def load_mutant(path: Path, assignment: str) -> Mutant:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MutantError(f"{path}: cannot be read ({exc})") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise MutantError(f"{path}: not valid Python (line {exc.lineno}: {exc.msg})") from None
    docstring = ast.get_docstring(tree)
    description, catches, hint = parse_docstring(docstring, str(path))
    _, fields = parse_fields(docstring, str(path))
    clauses = tuple(c.strip() for c in fields.get("clauses", "").split(",") if c.strip())
    return Mutant(assignment, path.stem, path, description, catches, hint, clauses)


def discover(spec: AssignmentSpec) -> list[Mutant]:
    """The mutants of one assignment, sorted by name; none when it has no mutants/ folder."""
    if not spec.mutants_dir.is_dir():
        return []
    return [
        load_mutant(path, spec.name)
        for path in sorted(spec.mutants_dir.glob("*.py"))
        if not path.name.startswith("_")
    ]


def mentions_module(source: str, module: str) -> bool:
    """Whether `source` could reach `module`: any mention of its name, as a whole word.

    Deliberately broader than an import statement (it also sees `importlib.import_module`,
    `open("my_linear.py")` and comments), so a file it clears cannot depend on the module.
    """
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(module)}(?![A-Za-z0-9_])", source) is not None


def feedback_contains(text: str, feedback: list[str]) -> bool:
    """The case-insensitive hint match of a mutant: `text` in one failed check's feedback."""
    needle = text.casefold()
    return any(needle in item.casefold() for item in feedback)
