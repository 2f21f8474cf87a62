"""Reading notebooks as data: nbformat JSON in, code cells out, outputs stripped. Nothing runs.

A notebook is untrusted input like any file. This module only parses it: `json` and
`nbformat` for the file, IPython's `TransformerManager` for IPython syntax (a pure text
transformation). Turning the cells into a module is `grader.sandbox.extraction`'s job.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from typing import Any

SKIP_MARKER = re.compile(r"^\s*#\s*torchgrade\s*:\s*skip\b", re.IGNORECASE)
SKIP_TAGS = frozenset({"torchgrade-skip", "torchgrade:skip", "skip-grading"})
# Cell magics whose body is Python that IPython runs as it is: the body is kept, the magic not.
CODE_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
MAX_RAW_NOTEBOOK_BYTES = 64 << 20
FIRST_LINE_CHARS = 60
MAX_IPYTHON_LINES_PER_CELL = 100
MAX_IPYTHON_LINES = 300
# A line that may need IPython's transformer: `!cmd`, `%magic`, `x = !cmd`, `obj?`.
_IPYTHON_LINE = re.compile(r"^\s*[!%]|^[^#\n]*=\s*[!%]|\?\s*$", re.MULTILINE)
_WRITEFILE = re.compile(r"^%%writefile((?:\s+-a|\s+--append)*)\s+(\S+)\s*$")
_MODULE_FILE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")


class NotebookError(Exception):
    """The file is not a notebook at all (not JSON, or JSON without cells)."""


@dataclass
class Cell:
    """One cell, located the way a student finds it: its position and its first line."""

    position: int
    kind: str
    source: str
    execution_count: int | None = None
    tags: tuple[str, ...] = ()

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip() and not SKIP_MARKER.match(line):
                text = line.strip()
                return text if len(text) <= FIRST_LINE_CHARS else text[: FIRST_LINE_CHARS - 1] + "…"
        return ""

    @property
    def label(self) -> str:
        return f'cell {self.position} "{self.first_line}"'

    @property
    def skipped(self) -> bool:
        lines = [line for line in self.source.splitlines() if line.strip()]
        marked = bool(lines) and bool(SKIP_MARKER.match(lines[0]))
        return marked or any(tag.lower() in SKIP_TAGS for tag in self.tags)


@dataclass
class CodeCell:
    """A code cell as Python: `source` is the transformed text, `offset` the number of cell
    lines before the text it was made from (a `%%time` line and blank lines above it), and
    `lines` the line of that text each line of `source` came from, where IPython's transformer
    moved lines (it drops leading blank lines and joins a `!cmd \\` with its continuation)."""

    cell: Cell
    source: str
    offset: int = 0
    magic: str = ""
    lines: list[int] = field(default_factory=list)

    def cell_line(self, line: int) -> int:
        """The line number in the cell of line `line` of `source`."""
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1] + self.offset
        return line + self.offset


@dataclass
class Notebook:
    name: str
    cells: list[Cell]
    code: list[CodeCell] = field(default_factory=list)
    # file name: [(cell, body, line number of the body's first line in the cell)]
    files: dict[str, list[tuple[Cell, str, int]]] = field(default_factory=dict)

    def file_text(self, name: str) -> tuple[str, list[tuple[int, int]]]:
        """A `%%writefile` file's text (with `-a` parts appended) and each line's cell and line."""
        text, origin = "", []
        for cell, body, first in self.files[name]:
            body = body if body.endswith("\n") else body + "\n"
            text += body
            origin += [(cell.position, n + first) for n in range(body.count("\n"))]
        return text, origin

    left_out: list[tuple[Cell, str]] = field(default_factory=list)
    # `%%writefile` cells whose file the grader does not write: (cell, the file as written)
    unwritten: list[tuple[Cell, str]] = field(default_factory=list)
    # How many more lines of IPython syntax may still be translated (see `_transform`).
    ipython_budget: int = MAX_IPYTHON_LINES

    def cell(self, position: int) -> Cell:
        return self.cells[position - 1]


def strip_outputs(data: bytes) -> bytes | None:
    """The notebook's JSON without outputs, attachments or widget state; None if not a notebook.

    Runs before any size limit, so a notebook that is megabytes of plots around kilobytes of
    code is judged by its code. Execution counts stay: they say in which order cells ran."""
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    cell_lists = [raw.get("cells")]
    for sheet in raw.get("worksheets") or []:  # nbformat 3
        if isinstance(sheet, dict):
            cell_lists.append(sheet.get("cells"))
    if not any(isinstance(cells, list) for cells in cell_lists):
        return None
    for cells in cell_lists:
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict):
                if "outputs" in cell:
                    cell["outputs"] = []
                cell.pop("attachments", None)
    if isinstance(raw.get("metadata"), dict):
        raw["metadata"].pop("widgets", None)
    try:
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, RecursionError):
        return None


def stage_notebook(
    source: str | os.PathLike[str], target: str | os.PathLike[str], limit: int
) -> tuple[str, int] | None:
    """Staging's copy of a notebook: read it (bounded, no links), strip outputs, then apply
    `limit` to what is left. Returns (sha256, size) of the staged file, or None when over."""
    import hashlib

    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(source, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 16):
            size += len(chunk)
            if size > MAX_RAW_NOTEBOOK_BYTES:
                return None
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    data = strip_outputs(data) or data
    if len(data) > limit:
        return None
    with open(target, "wb") as out:
        out.write(data)
    return hashlib.sha256(data).hexdigest(), len(data)


def _text(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def read(data: bytes, name: str) -> Notebook:
    """Parse a notebook with nbformat (any version, upgraded to 4), tolerating files that fail
    strict validation, as Colab and VS Code notebooks often do."""
    try:
        import nbformat
    except ImportError:
        raise NotebookError("the grader was installed without its notebook extra") from None
    try:
        text = data.decode("utf-8-sig")
        json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotebookError(str(exc).splitlines()[0][:200]) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # nbformat's reader and upgrade, without strict validation: Colab and VS Code
            # notebooks often fail it, and it costs more than the rest of the reading.
            node = nbformat.convert(nbformat.reader.reads(text), 4)
        raw_cells = list(node.get("cells") or [])
    except Exception as exc:  # nbformat raises many kinds for malformed files
        raise NotebookError(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    cells = []
    for position, raw in enumerate(raw_cells, 1):
        if not isinstance(raw, dict):
            continue
        found = raw.get("metadata")
        metadata: dict[str, Any] = found if isinstance(found, dict) else {}
        listed = metadata.get("tags")
        tags: list[Any] = listed if isinstance(listed, list) else []
        count = raw.get("execution_count")
        cells.append(
            Cell(
                position=position,
                kind=str(raw.get("cell_type", "")),
                source=_text(raw.get("source")),
                execution_count=count if isinstance(count, int) else None,
                tags=tuple(str(t) for t in tags),
            )
        )
    notebook = Notebook(name=name, cells=cells)
    _split(notebook)
    return notebook


def _transform(source: str, notebook: Notebook) -> str:
    """IPython syntax as Python. A cell that already parses as Python has none (a magic,
    `!cmd`, `x = !cmd` or `obj?` is never valid Python), so IPython is imported only when
    some cell needs it.

    IPython's transformer runs here, in the trusted process, and its cost grows with the
    square of a cell's IPython lines (300 `!` lines take seconds, 2,000 a minute): beyond
    `MAX_IPYTHON_LINES_PER_CELL` in a cell, or `MAX_IPYTHON_LINES` in the notebook, a cell is
    left as it is, so that it does not parse and is left out like any broken cell."""
    try:
        ast.parse(source)
        return source
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    lines = len(_IPYTHON_LINE.findall(source))
    if lines > min(MAX_IPYTHON_LINES_PER_CELL, notebook.ipython_budget):
        return source
    notebook.ipython_budget -= lines
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # the transformer gives up on some broken input; ast will say why
        return source


def _line_map(original: str, transformed: str) -> list[int]:
    """For each line of `transformed`, the line of `original` it came from: equal lines match
    in order (indentation aside); a line the transformer wrote (`get_ipython()...`) stands
    where the next unmatched line of the original is."""
    if original == transformed:
        return []
    before = [line.strip() for line in original.split("\n")]
    result, at = [], 0
    for line in transformed.split("\n"):
        text = line.strip()
        found = -1
        if text:
            found = next((k for k in range(at, len(before)) if before[k] == text), -1)
        if found < 0:
            found = min(at, len(before) - 1)
        result.append(found + 1)
        at = found + 1
    return result


def _code_cell(
    notebook: Notebook, cell: Cell, body: str, offset: int = 0, magic: str = ""
) -> CodeCell:
    source = _transform(body, notebook)
    return CodeCell(cell, source, offset, magic, _line_map(body, source))


def _split(notebook: Notebook) -> None:
    """Sort the code cells: skipped, `%%writefile` files, other cell magics, Python."""
    for cell in notebook.cells:
        if cell.kind != "code" or not cell.source.strip():
            continue
        if cell.skipped:
            notebook.left_out.append((cell, "skipped"))
            continue
        lines = cell.source.split("\n")
        # Like IPython, blank lines before a cell magic do not hide it.
        blank = next(i for i, line in enumerate(lines) if line.strip())
        head = lines[blank].strip()
        writefile = _WRITEFILE.match(head)
        if writefile:
            body = "\n".join(lines[blank + 1 :])
            written = writefile.group(2).strip("'\"")
            file = written
            while file.startswith("./"):
                file = file[2:].lstrip("/")
            if not _MODULE_FILE.match(file):
                notebook.left_out.append((cell, "magic"))
                notebook.unwritten.append((cell, written))
                continue
            parts = notebook.files.get(file, []) if writefile.group(1) else []
            notebook.files[file] = [*parts, (cell, body, blank + 2)]
            continue
        if head.startswith("%%"):
            magic = head[2:].split()[0] if head[2:].split() else ""
            if magic in CODE_CELL_MAGICS:
                body = "\n".join(lines[blank + 1 :])
                notebook.code.append(_code_cell(notebook, cell, body, blank + 1, magic))
            else:
                notebook.left_out.append((cell, "magic"))
            continue
        notebook.code.append(_code_cell(notebook, cell, cell.source))
