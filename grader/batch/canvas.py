"""Filling one assignment column of the instructor's own Canvas gradebook export.

A Canvas export starts with the student keys `Student`, `ID`, `SIS User ID`, `SIS Login ID`
(sometimes `Integration ID`) and `Section`, then one column per assignment, named
`Name (canvas id)`, and read-only totals. Its second row is `Points Possible`. Canvas imports
the file back by column name: an existing column updates that assignment, a new name creates
one. So this edits the export in place, byte for byte: it replaces the cells of one column (or
appends one), and leaves every other byte as it was (quoting, line endings, a BOM). It never
invents a Canvas id: students are matched by the keys already in the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from grader.formats.text import inert_name

KEY_COLUMNS = ("ID", "SIS User ID", "SIS Login ID", "Integration ID")
POINTS_POSSIBLE = "Points Possible"
BOM = b"\xef\xbb\xbf"


class CanvasError(Exception):
    """The export cannot be filled in; the message says why."""


@dataclass
class _Record:
    fields: list[tuple[int, int]]  # byte spans of each field, quotes included
    end: int  # where the record's line ending starts (or the end of the file)


def _records(data: bytes, start: int) -> list[_Record]:
    """Split CSV bytes into records of field spans, honouring quotes ("" escapes, newlines)."""
    records: list[_Record] = []
    position, length = start, len(data)
    while position < length:
        spans: list[tuple[int, int]] = []
        field_start = position
        quoted = False
        index = position
        while True:
            if index >= length:
                spans.append((field_start, index))
                records.append(_Record(spans, index))
                position = index
                break
            char = data[index : index + 1]
            if quoted:
                if char == b'"':
                    if data[index + 1 : index + 2] == b'"':
                        index += 2
                        continue
                    quoted = False
                index += 1
                continue
            if char == b'"':
                quoted = True
                index += 1
            elif char == b",":
                spans.append((field_start, index))
                index += 1
                field_start = index
            elif char in (b"\n", b"\r"):
                spans.append((field_start, index))
                records.append(_Record(spans, index))
                index += 2 if data[index : index + 2] == b"\r\n" else 1
                position = index
                break
            else:
                index += 1
        if quoted:
            raise CanvasError("the export ends inside a quoted field")
    return records


def _value(data: bytes, span: tuple[int, int]) -> str:
    raw = data[span[0] : span[1]].decode("utf-8")
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        raw = raw[1:-1].replace('""', '"')
    return raw


def _quote(text: str) -> bytes:
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return ('"' + text.replace('"', '""') + '"').encode()
    return text.encode()


class Unclear(Enum):
    """What `score_for` returns for a row that more than one student could be."""

    AMBIGUOUS = "ambiguous"


@dataclass
class Filled:
    data: bytes
    matched: int = 0
    unmatched_rows: list[str] = field(default_factory=list)
    ambiguous_rows: list[str] = field(default_factory=list)


def fill(
    data: bytes,
    column: str,
    points_possible: float,
    score_for: Callable[[dict[str, str]], float | Unclear | None],
) -> Filled:
    """The export `data` with column `column` set from `score_for(row)` (None, or
    `Unclear.AMBIGUOUS`, leaves the cell as it was and lists the row).

    `row` maps the file's key columns (Student, ID, SIS User ID, ...) to their values."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise CanvasError("the export is not UTF-8 (export it again from Canvas)") from None
    start = len(BOM) if data.startswith(BOM) else 0
    records = _records(data, start)
    if not records:
        raise CanvasError("the export is empty")
    header = [_value(data, span) for span in records[0].fields]
    if "Student" not in header or not any(key in header for key in KEY_COLUMNS):
        raise CanvasError(
            "not a Canvas gradebook export: expected the columns Student, ID, SIS User ID, "
            "SIS Login ID and Section"
        )
    target = header.index(column) if column in header else None
    edits: list[tuple[int, int, bytes]] = []  # (start, end, replacement)
    if target is None:
        edits.append((records[0].end, records[0].end, b"," + _quote(column)))
    filled = Filled(b"")
    keys = [k for k in ("Student", *KEY_COLUMNS, "Section") if k in header]
    for record in records[1:]:
        values = [_value(data, span) for span in record.fields]
        if len(values) == 1 and not values[0]:
            continue  # a blank line
        row = {k: values[header.index(k)] for k in keys if header.index(k) < len(values)}
        first = row.get("Student", "").strip()
        if first == POINTS_POSSIBLE:
            cell: str | None = f"{points_possible:g}" if target is None else None
        else:
            score = score_for(row)
            if score is None:
                filled.unmatched_rows.append(first or row.get("ID", "?"))
                cell = None
            elif isinstance(score, Unclear):
                filled.ambiguous_rows.append(first or row.get("ID", "?"))
                cell = None
            else:
                filled.matched += 1
                cell = f"{score:g}"
        if target is None:
            edits.append((record.end, record.end, b"," + (cell or "").encode()))
        elif cell is not None:
            if target >= len(record.fields):
                raise CanvasError(
                    f"the row of {inert_name(first) or '?'} has fewer columns than the header"
                )
            begin, finish = record.fields[target]
            edits.append((begin, finish, cell.encode()))
    out = bytearray(data)
    for begin, finish, replacement in sorted(edits, reverse=True):
        out[begin:finish] = replacement
    filled.data = bytes(out)
    return filled
