"""What grading left out of each notebook, as plain lines that the terminal and Markdown share.

Students see which top-level statements did not run (by cell number and the cell's first line,
since Colab shows no cell numbers), so a training loop that was skipped is never a surprise.
"""

from __future__ import annotations

from grader.formats import views
from grader.report import Report

MAX_CELLS = 20
MAX_STATEMENTS = 3


def left_out_lines(report: Report) -> list[str]:
    """One heading per notebook, then one line per cell with what was left out of it."""
    lines: list[str] = []
    for info in report.submission.notebooks:
        if not info.left_out:
            continue
        lines.append(f"{info.path}: {views.say(report, 'notebook_left_out')}")
        cells: dict[int, list[str]] = {}
        firsts: dict[int, str] = {}
        for row in info.left_out:
            cells.setdefault(row.cell, []).append(row.statement or row.reason)
            firsts[row.cell] = row.first_line
        for cell, statements in list(cells.items())[:MAX_CELLS]:
            shown = "; ".join(statements[:MAX_STATEMENTS])
            more = (
                f"; … (+{len(statements) - MAX_STATEMENTS})"
                if len(statements) > MAX_STATEMENTS
                else ""
            )
            lines.append(f'  cell {cell} "{firsts[cell]}": {shown}{more}')
        if len(cells) > MAX_CELLS:
            lines.append(f"  … (+{len(cells) - MAX_CELLS})")
    return lines
