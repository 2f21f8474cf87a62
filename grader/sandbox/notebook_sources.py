"""Which notebook provides which exercise, and the module written for it into the staged folder.

Runs in the trusted process after staging and before anything is imported: the generated
`my_linear.py` is what the sandbox imports, and its line map lets messages name the cell and
the line in it. A `.py` file in the submission always wins over a notebook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.messages import say
from grader.report import IntegrityFinding, LeftOut, NotebookInfo
from grader.sandbox import extraction, notebooks
from grader.sandbox.staging import Staged
from grader.spec import AssignmentSpec


@dataclass
class SourceMap:
    """Where each line of a generated module came from."""

    notebook: str
    module: str
    origin: list[tuple[int, int]]
    labels: dict[int, str]
    attaching: list[extraction.Attaching] = field(default_factory=list)

    @property
    def display(self) -> str:
        return say("notebook_module", file=self.module, notebook=self.notebook)

    def left_out_help(self, error: dict[str, Any]) -> str:
        """For an AttributeError on a class that a left-out statement would have completed
        (a loop of `setattr(MySGD, ...)`), the help that names that statement; else ""."""
        cls, name = error.get("owner"), error.get("missing")
        if error.get("type") != "AttributeError" or not isinstance(cls, str):
            return ""
        if not isinstance(name, str) or error.get("owner_kind") not in ("instance", "class"):
            return ""
        found = next((a for a in self.attaching if a.sets(cls, name)), None)
        if found is None:
            return ""
        return say(
            "notebook_attach_left_out",
            cell=found.cell,
            statement=found.statement,
            cls=cls,
            name=name,
        )

    def where(self, line: int) -> tuple[str, int] | None:
        if 1 <= line <= len(self.origin):
            cell, cell_line = self.origin[line - 1]
            return f"{self.notebook}, {self.labels.get(cell, f'cell {cell}')}", cell_line
        return None


@dataclass
class Provided:
    maps: dict[str, SourceMap] = field(default_factory=dict)
    notebook_of: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)
    notebooks: list[NotebookInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def note(self, assignment: str, text: str) -> None:
        self.notes.setdefault(assignment, []).append(text)


_FILE_LINE = re.compile(r"\((?P<file>[A-Za-z_][A-Za-z0-9_]*\.py), line (?P<line>\d+)\)")


def relocate(error: dict[str, Any], maps: dict[str, SourceMap]) -> dict[str, Any]:
    """The sandbox's description of an exception, with generated lines turned into cells."""
    if not maps:
        return error
    frames = []
    for frame in error.get("frames") or []:
        try:
            file, line, function, code = frame
            mapped = maps[file].where(int(line)) if file in maps else None
        except (TypeError, ValueError):
            mapped = None
        frames.append([*mapped, function, code] if mapped else frame)

    def cell_of(match: re.Match[str]) -> str:
        source_map = maps.get(match.group("file"))
        mapped = source_map.where(int(match.group("line"))) if source_map else None
        return f"({mapped[0]}, line {mapped[1]})" if mapped else match.group(0)

    message = error.get("message")
    if isinstance(message, str):
        message = _FILE_LINE.sub(cell_of, message)
    return {**error, "frames": frames, "message": message}


def relocate_findings(
    findings: list[IntegrityFinding], provided: Provided
) -> list[IntegrityFinding]:
    """Integrity findings in generated modules, pointed at the notebook's cells, plus a note of
    what each notebook had left out."""
    out = []
    for finding in findings:
        source_map = provided.maps.get(finding.file)
        mapped = source_map.where(finding.line) if source_map else None
        if mapped:
            finding = finding.model_copy(update={"file": mapped[0], "line": mapped[1]})
        out.append(finding)
    for info in provided.notebooks:
        if info.left_out:
            cells = sorted({row.cell for row in info.left_out})
            out.append(
                IntegrityFinding(
                    file=info.path,
                    line=0,
                    code="notebook-left-out",
                    reason=say(
                        "notebook_left_out_finding",
                        count=len(info.left_out),
                        cells=", ".join(str(c) for c in cells),
                    ),
                )
            )
    return out


# What file managers and Jupyter add to a copy: "hw (1)", "hw-Copy1", "hw_copy", "hw copy 2".
_COPY_SUFFIX = re.compile(
    r"(?:\s*\(\d+\)|\s*-\s*copy\s*\d*|[_ ]copy\s*\d*|-checkpoint)$", re.IGNORECASE
)


def _stem(notebook: str) -> str:
    """A notebook's name without `.ipynb` and without copy suffixes."""
    stem = notebook[: -len(".ipynb")] if notebook.endswith(".ipynb") else notebook
    while True:
        shorter = _COPY_SUFFIX.sub("", stem).rstrip()
        if shorter == stem or not shorter:
            return stem
        stem = shorter


def _candidates(
    spec: AssignmentSpec, parsed: dict[str, extraction.Parsed]
) -> list[tuple[str, str]]:
    """(notebook, how) for each notebook that could provide `spec`, best first: a
    `%%writefile` of its file, the notebook named for it, a copy so named (`my_sgd (1).ipynb`)
    that defines something it needs, then the notebooks that define the most of what it needs.
    Defining means a `class`, `def`, import or a callable value, not `LR = 0.1`; a cell with a
    syntax error counts where it reads as the definition (`class LR(`), not where it only
    mentions the name."""
    found: list[tuple[int, int, str, str]] = []
    needs = set(spec.needs)
    for name, nb in sorted(parsed.items()):
        broken = set().union(*(extraction.defines_broken(b.code.source, needs) for b in nb.broken))
        defined = len({n for n in needs if nb.defines(n)} | broken)
        if spec.student_file in nb.notebook.files:
            found.append((0, 0, name, "writefile"))
        elif name == f"{spec.module_name}.ipynb":
            found.append((1, 0, name, "named"))
        elif _stem(name) == spec.module_name and (defined or not needs):
            found.append((2, len(needs) - defined, name, "named"))
        elif needs and defined:
            found.append((3, len(needs) - defined, name, "needs"))
    return [(name, how) for _, _, name, how in sorted(found)]


def provide(staged: Staged, specs: list[AssignmentSpec]) -> Provided:
    """Read the submission's top-level notebooks and write a module for each exercise whose
    `.py` file is absent and that a notebook provides."""
    provided = Provided()
    folder = staged.folder
    names = sorted(f.path for f in staged.files if f.path.endswith(".ipynb") and "/" not in f.path)
    parsed: dict[str, extraction.Parsed] = {}
    unreadable: dict[str, str] = {}
    for name in names:
        try:
            book = notebooks.read((folder / name).read_bytes(), name)
        except (OSError, notebooks.NotebookError) as exc:
            unreadable[name] = say("not_a_notebook", file=name, detail=str(exc))
            provided.problems.append(unreadable[name])
            continue
        try:
            parsed[name] = extraction.parse(book)
        except (RecursionError, MemoryError, ValueError) as exc:
            unreadable[name] = say("not_a_notebook", file=name, detail=type(exc).__name__)
            provided.problems.append(unreadable[name])
    for name, nb in sorted(parsed.items()):
        for cell, file in nb.notebook.unwritten:
            provided.problems.append(
                say("notebook_writefile_ignored", notebook=name, cell=cell.label, file=file)
            )
    infos: dict[str, NotebookInfo] = {name: NotebookInfo(path=name) for name in parsed}
    kept_cells: dict[str, set[int]] = {name: set() for name in parsed}
    kept_units: dict[str, set[int]] = {name: set() for name in parsed}
    local = {Path(f.path).stem for f in staged.files if f.path.endswith(".py")}
    local |= {Path(file).stem for p in parsed.values() for file in p.notebook.files}
    student_files = {spec.student_file for spec in specs}
    written: set[str] = set()
    for spec in specs:
        named = f"{spec.module_name}.ipynb"
        options = _candidates(spec, parsed)
        if staged.has(spec.student_file):
            if options:
                provided.note(
                    spec.name, say("py_wins", file=spec.student_file, notebook=options[0][0])
                )
            continue
        blocked = (
            spec.student_file in staged.links
            or spec.student_file in staged.skipped
            or (folder / spec.student_file).exists()
        )
        if blocked:
            continue
        if not options:
            if named in unreadable:
                provided.unusable[spec.name] = unreadable[named]
            continue
        name, how = options[0]
        for other, _ in options[1:]:
            provided.note(spec.name, say("notebook_also", notebook=name, other=other))
        nb = parsed[name]
        if how == "writefile":
            source, origin = nb.notebook.file_text(spec.student_file)
            kept_cells[name] |= {cell for cell, _ in origin}
            notes: list[tuple[str, dict[str, str]]] = []
            attaching: list[extraction.Attaching] = []
        else:
            # What the exercise needs, and what that depends on; only a named notebook of a
            # spec that declares no needs keeps every public definition, as a .py file would.
            roots = set(spec.needs) or nb.top_definitions()
            try:
                module = extraction.extract(nb, roots, folder, local)
            except (RecursionError, MemoryError, ValueError) as exc:
                detail = type(exc).__name__
                provided.unusable[spec.name] = say("not_a_notebook", file=name, detail=detail)
                continue
            source, origin, notes = module.source, module.origin, module.notes
            attaching = extraction.attaching(nb, module.kept)
            kept_cells[name] |= {cell for cell, _ in origin}
            kept_units[name] |= module.kept
            missing = sorted(set(spec.needs) - module.found)
            if missing and not module.broken:
                provided.note(
                    spec.name,
                    say("notebook_needs_missing", notebook=name, names=", ".join(missing)),
                )
        (folder / spec.student_file).write_text(source, encoding="utf-8")
        labels = {c.position: c.label for c in nb.notebook.cells}
        provided.maps[spec.student_file] = SourceMap(
            name, spec.student_file, origin, labels, attaching
        )
        provided.notebook_of[spec.name] = name
        infos[name].assignments.append(spec.name)
        for key, params in notes:
            provided.note(spec.name, say(key, **params))
        for file in nb.notebook.files:
            if file in student_files or file in written:
                continue
            if (folder / file).exists():
                cell = nb.notebook.files[file][0][0]
                provided.problems.append(
                    say("notebook_writefile_exists", notebook=name, cell=cell.label, file=file)
                )
            else:
                (folder / file).write_text(nb.notebook.file_text(file)[0], encoding="utf-8")
            written.add(file)
    for name, nb in parsed.items():
        info = infos[name]
        if not info.assignments:
            continue
        rows = [
            LeftOut(cell=c.position, first_line=c.first_line, reason=why)
            for c, why in nb.notebook.left_out
        ]
        rows += [
            LeftOut(cell=c.position, first_line=c.first_line, statement=line, reason=why)
            for c, line, why in extraction.left_out(nb, kept_units[name], kept_cells[name])
        ]
        info.left_out = sorted(rows, key=lambda r: r.cell)
        provided.notebooks.append(info)
    return provided
