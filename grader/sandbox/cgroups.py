"""A process budget per sandbox: one pids cgroup for each sandbox's whole process tree.

`RLIMIT_NPROC` counts per uid, so with every sandbox running as the same user one flood would
use up the budget of every sandbox beside it (`grade batch --jobs N`). A pids cgroup counts the
processes and threads in it, wherever they run, whatever their uid: the nursery joins its own
cgroup before it forks anything, so the holder, the zygote and every probe child are inside.
When the sandbox closes, whatever is left in the cgroup is killed and the cgroup removed.

cgroup v1 (a `pids` hierarchy, as on hybrid hosts) needs nothing more than write access. cgroup
v2 only enables a controller for a cgroup's children while the cgroup itself holds no process,
so the grader first moves itself into a leaf beside the sandboxes; where other processes share
its cgroup it leaves them alone and reports the layer off.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

# Processes and threads per sandbox: the nursery, holder and zygote with their threads, and
# the probe's own. An exercise needs one process; a flood stops here.
PIDS_PER_SANDBOX = 128
GRADER_LEAF = "torchgrade-grader"
_counter = itertools.count()


@dataclass(frozen=True)
class Hierarchy:
    version: int
    parent: str


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root, mount point, file system type, super options) of every cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[3], fields[4], tail[0], tail[2]))
    return found


def _own(version: int) -> str | None:
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            number, controllers, path = line.rstrip("\n").split(":", 2)
            if version == 2 and number == "0" and controllers == "":
                return path
            if version == 1 and "pids" in controllers.split(","):
                return path
    return None


def _inside(mount: str, root: str, path: str) -> str:
    relative = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    return os.path.normpath(os.path.join(mount, relative))


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def find() -> Hierarchy | str:
    """Where this process may make per-sandbox pids cgroups, or why it may not."""
    try:
        mounts = _mounts()
    except OSError as exc:
        return f"cannot read the mount table: {exc.strerror}"
    for root, mount, kind, options in mounts:
        if kind == "cgroup" and "pids" in options.split(","):
            own = _own(1)
            if own is None:
                continue
            parent = os.path.join(_inside(mount, root, own), "torchgrade")
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                return f"cannot make a pids cgroup under {mount}: {exc.strerror}"
            return Hierarchy(1, parent)
    for root, mount, kind, _options in mounts:
        if kind == "cgroup2":
            own = _own(2)
            if own is not None:
                return _prepare_v2(_inside(mount, root, own))
    return "no pids cgroup hierarchy is mounted"


def _prepare_v2(here: str) -> Hierarchy | str:
    try:
        available = Path(here, "cgroup.controllers").read_text().split()
        enabled = Path(here, "cgroup.subtree_control").read_text().split()
    except OSError as exc:
        return f"cannot read {here}: {exc.strerror}"
    if "pids" not in available:
        return f"the pids controller is not delegated to {here}"
    if "pids" in enabled:
        return Hierarchy(2, here)
    leaf = os.path.join(here, GRADER_LEAF)
    try:
        os.makedirs(leaf, exist_ok=True)
        _write(os.path.join(leaf, "cgroup.procs"), "0")
    except OSError as exc:
        return f"cannot move the grader into a leaf cgroup of {here}: {exc.strerror}"
    try:
        _write(os.path.join(here, "cgroup.subtree_control"), "+pids")
    except OSError as exc:
        with contextlib.suppress(OSError):
            _write(os.path.join(here, "cgroup.procs"), "0")
        if exc.errno == errno.EBUSY:
            return f"other processes share the grader's cgroup {here}"
        return f"cannot enable the pids controller in {here}: {exc.strerror}"
    return Hierarchy(2, here)


def _sweep(parent: str) -> None:
    """Remove empty cgroups left by graders that were killed before they could clean up."""
    with contextlib.suppress(OSError):
        for entry in os.listdir(parent):
            owner = entry.split("-")[1] if entry.startswith("sandbox-") else ""
            if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(parent, entry))


def create(hierarchy: Hierarchy, limit: int = PIDS_PER_SANDBOX) -> str:
    """A fresh cgroup for one sandbox, limited to `limit` processes and threads."""
    _sweep(hierarchy.parent)
    path = os.path.join(hierarchy.parent, f"sandbox-{os.getpid()}-{next(_counter)}")
    os.mkdir(path)
    try:
        _write(os.path.join(path, "pids.max"), str(limit))
    except OSError:
        os.rmdir(path)
        raise
    return path


def enter(path: str) -> None:
    """Move the calling process (and so everything it forks from now on) into `path`."""
    _write(os.path.join(path, "cgroup.procs"), "0")


def members(path: str) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in Path(path, "cgroup.procs").read_text().split()]
    return []


def destroy(path: str) -> None:
    """Kill whatever is still in `path` (a process that escaped the reaper) and remove it."""
    for _ in range(200):
        left = members(path)
        if not left:
            break
        with contextlib.suppress(OSError):
            _write(os.path.join(path, "cgroup.kill"), "1")
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    with contextlib.suppress(OSError):
        os.rmdir(path)
