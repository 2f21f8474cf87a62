"""Warming a grading process once, so that every process forked from it inherits the work.

torch's first optimizer and first `assert_close` import about 830 modules (`torch._dynamo`,
sympy): as much CPU as `import torch` itself. `grader.sandbox.lean_torch` defers them where
torch's code is as verified; what is left (or, elsewhere, those imports) `grade submit` pays
once, in the parent, before it forks the sandbox and the judge; a batch worker pays it once
for all the submissions it grades.

Everything warmed here is library code: torch, pytest, the grader's own modules. No check
module, no expected value and no student code is ever loaded in a warmed process, so the
sandbox zygote may be forked from it without crossing the trust boundary in DESIGN.md.
"""

from __future__ import annotations

import contextlib
import gc
import importlib

_warmed = False


def warm() -> None:
    """Pay torch's lazy first-use costs in this process; later calls return at once."""
    global _warmed
    if _warmed:
        return
    from grader.judge import warm_up_comparisons
    from grader.sandbox.torch_cache import private_torch_cache
    from grader.sandbox.zygote import warm_up

    private_torch_cache()
    warm_up()
    warm_up_comparisons()
    _warmed = True


def prepare_torch() -> None:
    """One thread, before any fork: forked children must not inherit an OpenMP pool. And no
    accelerator: grading runs on the CPU (`grader.accelerators`)."""
    from grader.sandbox import accelerators

    accelerators.hide()
    import torch

    from grader.sandbox import lean_torch

    lean_torch.ensure()
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def _import_pytest_plugins() -> None:
    from _pytest.config import default_plugins

    for name in default_plugins:
        with contextlib.suppress(ImportError):
            importlib.import_module(f"_pytest.{name}")


def warm_worker() -> None:
    """All that a long-lived worker does once before it forks one process per submission."""
    from grader import fingerprint
    from grader.environment import environment
    from grader.sandbox import hugepages as huge_pages

    prepare_torch()
    warm()
    _import_pytest_plugins()
    environment()
    fingerprint.checks_hash()
    gc.collect()
    gc.freeze()
    huge_pages.collapse()
