"""Back a long-lived worker's heap with transparent huge pages, so that each fork is cheap.

A fork copies one page-table entry per 4 KiB of the parent's anonymous memory, and an exit
tears them down again. After `import torch` and its warm-up that is about 160 MiB: a bare fork
and exit of such a process cost about 20 ms of CPU on the 2-core VM this grader is developed
on, and 7 ms once the heap is collapsed into 2 MiB pages (`MADV_COLLAPSE`, Linux 6.1+). A
child that writes to a shared huge page splits it and copies just the 4 KiB it touched, so
children stay small, though each split costs the child some of the saving back. Collapsing
takes 0.2-0.3 s of CPU once. Every batch worker does it, and `grade submit` too, where it
about breaks even for one four-exercise grading. A process does it once; its forks inherit
the huge pages and skip it. Collapsing again in each zygote was measured and did not pay.
Everything here is best effort: elsewhere it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from pathlib import Path

MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def _anonymous_ranges() -> list[tuple[int, int]]:
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            name = parts[5] if len(parts) > 5 else ""
            if name not in ("", "[heap]") or not parts[1].startswith("rw"):
                continue
            low, high = (int(x, 16) for x in parts[0].split("-"))
            start = (low + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
            end = high & ~(HUGE_PAGE - 1)
            if end > start:
                ranges.append((start, end - start))
    return ranges


_collapsed = False


def collapse() -> int:
    """Ask the kernel to back this process's anonymous memory with huge pages; bytes advised.
    Once per process tree: a fork of a process that collapsed returns 0 at once."""
    global _collapsed
    if _collapsed:
        return 0
    _collapsed = True
    try:
        if "[never]" in THP_SETTING.read_text():
            return 0
        libc = ctypes.CDLL(None, use_errno=True)
        ranges = _anonymous_ranges()
    except (OSError, AttributeError):
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    advised = 0
    for start, length in ranges:
        with contextlib.suppress(Exception):
            if libc.madvise(start, length, MADV_HUGEPAGE) == 0:
                libc.madvise(start, length, MADV_COLLAPSE)
                advised += length
    return advised
