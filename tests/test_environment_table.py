"""The README's table of protections per environment is what this machine shows.

As root this checks the `root` column; `.ci/run` runs it once more as an unprivileged user,
where it checks the column for user namespaces allowed or blocked. `on` and `off` cells must
match; `kernel` and `either` cells depend on the machine and are reported with a reason.
"""

from __future__ import annotations

import os

from grader.sandbox import linux, protections
from tests.conftest import ROOT

COLUMNS = (
    "root",
    "unprivileged, user namespaces",
    "unprivileged, no user namespaces",
    "Gradescope container",
)


def readme_table() -> dict[str, dict[str, str]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- protections-table -->")[1].split("<!-- /protections-table -->")[0]
    rows = [line for line in block.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert tuple(header[1:]) == COLUMNS, header
    table = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table[cells[0].strip("`")] = dict(zip(COLUMNS, cells[1:], strict=True))
    return table


def user_namespaces_allowed() -> bool:
    """Tried directly, not through the sandbox, so a broken layer cannot pick its own column."""
    pid = os.fork()
    if pid == 0:
        try:
            linux.unshare(linux.CLONE_NEWUSER)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def this_column() -> str:
    if os.geteuid() == 0:
        return "root"
    if user_namespaces_allowed():
        return "unprivileged, user namespaces"
    return "unprivileged, no user namespaces"


def test_every_layer_has_a_row():
    assert set(readme_table()) == set(protections.LAYERS)


def test_this_machine_shows_what_the_table_says():
    column = this_column()
    status = protections.plan().status
    wrong = {}
    for layer, expected in readme_table().items():
        cell = expected[column]
        if cell == "on" and status[layer] != "on":
            wrong[layer] = (cell, status[layer])
        if cell == "off" and not status[layer].startswith("off ("):
            wrong[layer] = (cell, status[layer])
    assert wrong == {}, f"{column}: {wrong}"
