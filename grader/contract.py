"""The contract students read, rendered from the clauses: one source of truth.

Each exercise's contract is its `[[clauses]]` in `assignment.toml`. The prose in the
repository's README ("The submission contract") and in `student_template/README.md` is not
written by hand: it sits between marker comments and is rendered from the clauses,

    <!-- contract:my_linear -->
    1. ... [`class-name`]
    <!-- /contract -->

so the sentences students read and the clauses the checks cover cannot drift apart.
`grade contract` prints the rendering, `grade contract --write` rewrites the blocks in place,
and a test fails when a README differs from the rendering. A README's language is its
`<!-- contract-lang:ko -->` comment when it has one (default English).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.spec import AssignmentSpec

START = "<!-- contract:{name} -->"
END = "<!-- /contract -->"
_BLOCK = re.compile(
    r"<!-- contract:(?P<name>[A-Za-z0-9_]+) -->\n(?P<body>.*?)<!-- /contract -->", re.S
)
_LANG = re.compile(r"<!-- contract-lang:(?P<lang>[a-z]{2}) -->")
NO_CLAUSES = {"en": "(no clauses declared yet)", "ko": "(아직 선언된 조항이 없습니다)"}
CONTRACT_FILES = ("README.md", "student_template/README.md")


class ContractError(Exception):
    """A README names an exercise that does not exist, or a block is not closed."""


def clause_text(spec: AssignmentSpec, clause_id: str, lang: str = "en") -> str:
    clause = spec.clause(clause_id)
    return (clause.text_ko or clause.text) if lang == "ko" else clause.text


def render(spec: AssignmentSpec, lang: str = "en") -> str:
    """An exercise's contract as a numbered Markdown list, each clause with its id."""
    if not spec.clauses:
        return NO_CLAUSES.get(lang, NO_CLAUSES["en"]) + "\n"
    lines = []
    for number, clause in enumerate(spec.clauses, start=1):
        text = (clause.text_ko or clause.text) if lang == "ko" else clause.text
        lines.append(f"{number}. {' '.join(text.split())} [`{clause.id}`]")
    return "\n".join(lines) + "\n"


def language_of(text: str) -> str:
    match = _LANG.search(text)
    return match.group("lang") if match else "en"


def apply(text: str, specs: Iterable[AssignmentSpec]) -> str:
    """`text` with every contract block replaced by the rendering of its exercise."""
    by_name = {s.name: s for s in specs}
    lang = language_of(text)
    opened = text.count("<!-- contract:")
    if opened != text.count(END):
        raise ContractError(f"{opened} contract blocks opened but {text.count(END)} closed")

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in by_name:
            raise ContractError(f"contract block for unknown exercise {name!r}")
        return f"{START.format(name=name)}\n{render(by_name[name], lang)}{END}"

    return _BLOCK.sub(replace, text)


def blocks(text: str) -> list[str]:
    """The exercise names of the contract blocks in `text`, in order."""
    return [m.group("name") for m in _BLOCK.finditer(text)]


@dataclass(frozen=True)
class Drift:
    path: Path
    current: str
    rendered: str


def drift(root: Path, specs: list[AssignmentSpec]) -> list[Drift]:
    """The contract files under `root` whose blocks differ from the rendering."""
    found = []
    for relative in CONTRACT_FILES:
        path = root / relative
        if not path.is_file():
            continue
        current = path.read_text(encoding="utf-8")
        rendered = apply(current, specs)
        if rendered != current:
            found.append(Drift(path, current, rendered))
    return found


def write(root: Path, specs: list[AssignmentSpec]) -> list[Path]:
    """Rewrite every drifted contract file under `root`; return the paths written."""
    written = []
    for item in drift(root, specs):
        item.path.write_text(item.rendered, encoding="utf-8")
        written.append(item.path)
    return written


def render_all(specs: list[AssignmentSpec], lang: str = "en") -> str:
    """Every exercise's contract, for `grade contract` without `--write`."""
    parts = []
    for spec in specs:
        parts.append(f"## {spec.student_file}: {spec.title}\n\n{render(spec, lang)}")
    return "\n".join(parts)


def repository_root() -> Path:
    """The folder holding the contract files: the working directory when it has them, else the
    source checkout the grader runs from."""
    here = Path.cwd()
    if all((here / f).is_file() for f in CONTRACT_FILES):
        return here
    import grader

    return Path(grader.__file__).resolve().parent.parent
