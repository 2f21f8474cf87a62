"""How many gradings fit at once: the CPUs this process may really use, and the memory.

`os.cpu_count()` counts the machine's CPUs, not the ones a container or CI job may use. The
affinity mask (taskset, cpusets) and a cgroup v2 `cpu.max` quota (Docker's --cpus, Kubernetes
limits, GitHub Actions) both cap what can run at once; the smaller one wins. Memory caps it
too: each concurrent grading is a sandbox and a judge (about 250 MiB together, most of it
shared torch pages) plus what its probe calls may allocate.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

PER_GRADING_BYTES = 250 << 20
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_path() -> Path | None:
    """This process's cgroup v2 folder, or None (cgroup v1 or no cgroup file system)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            return CGROUP_ROOT / path.lstrip("/")
    return None


def _ancestors(folder: Path) -> list[Path]:
    """The folder and every parent up to the cgroup root: a parent's limit binds too."""
    found = [folder]
    while folder != CGROUP_ROOT and CGROUP_ROOT in folder.parents:
        folder = folder.parent
        found.append(folder)
    return found


def cpu_quota(cgroup: Path | None = None) -> float | None:
    """The tightest `cpu.max` quota, in CPUs, over this cgroup and its parents; None if none."""
    cgroup = cgroup if cgroup is not None else _cgroup_path()
    if cgroup is None:
        return None
    quotas = []
    for folder in _ancestors(cgroup):
        try:
            quota, period = (folder / "cpu.max").read_text().split()[:2]
        except (OSError, ValueError):
            continue
        if quota != "max" and int(period) > 0:
            quotas.append(int(quota) / int(period))
    return min(quotas) if quotas else None


def usable_cpus() -> int:
    """CPUs this process may run on at once: affinity mask and cgroup quota, at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def available_memory() -> int | None:
    """Bytes that can still be allocated: MemAvailable, capped by cgroup v2 memory.max."""
    available: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    cgroup = _cgroup_path()
    for folder in _ancestors(cgroup) if cgroup is not None else []:
        try:
            limit = (folder / "memory.max").read_text().strip()
            used = int((folder / "memory.current").read_text())
        except (OSError, ValueError):
            continue
        if limit != "max":
            room = max(0, int(limit) - used)
            available = room if available is None else min(available, room)
    return available


def grading_jobs(work: int, memory_limit_bytes: int, requested: int | None = None) -> int:
    """Gradings to run at once for `work` independent exercises.

    `requested` (--jobs) is taken as given, within the work there is; otherwise the usable
    CPUs, capped by memory: a sandbox and a judge each, plus one probe's memory limit.
    """
    if requested is not None:
        return max(1, min(requested, work))
    jobs = usable_cpus()
    memory = available_memory()
    if memory is not None:
        jobs = min(jobs, max(1, memory // (PER_GRADING_BYTES + memory_limit_bytes)))
    return max(1, min(jobs, work))
