"""A private root file system for the sandbox, for machines without Landlock.

Inside its own mount namespace the zygote builds a fresh, read-only tmpfs that holds only what
a probe may read (the same list Landlock allows: Python, site-packages without the grader, the
system libraries, a few devices), the staged submission (read-only) and the scratch folders,
each bind-mounted at its own path. A readable tree is bound whole, and each protected path
inside it (the grader in site-packages, its metadata) is then covered by an empty read-only
mount: a few mounts instead of one per rule, which took a zygote 0.1 s. Then it pivots into
it and detaches the old root, as bubblewrap does. The grader, the hidden checks,
`reference/`, other submissions, `/tmp`, the home folders, host sockets and `/sys/fs/cgroup`
are then not hidden but absent.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from grader.sandbox import landlock, linux

_ST_KEPT = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
_ST_TIMES = ((1024, linux.MS_NOATIME), (2048, linux.MS_NODIRATIME), (4096, linux.MS_RELATIME))
OLD_ROOT = ".old-root"
EMPTY_FILE = ".torchgrade-empty"


def _beneath(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _target(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _bind(root: Path, path: str, read_only: bool) -> None:
    target = _target(root, path)
    if os.path.isdir(path):
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    linux.mount(path, str(target), None, linux.MS_BIND | linux.MS_REC, None)
    if read_only:
        _remount_read_only(str(target), os.statvfs(path).f_flag)


def _remount_read_only(target: str, source_flags: int) -> None:
    """Read-only, keeping the flags a user namespace may not clear (nosuid, nodev, ...)."""
    flags = linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | (source_flags & _ST_KEPT)
    for statvfs_bit, mount_bit in _ST_TIMES:
        if source_flags & statvfs_bit:
            flags |= mount_bit
    linux.mount("none", target, None, flags, None)


def bind_plan(
    readable: Iterable[tuple[str, int]], protected: Iterable[str]
) -> tuple[list[str], list[str]]:
    """What to bind and what to cover. Each readable tree is bound whole: the top of it, with
    the paths Landlock grants one by one (the siblings of a protected path) coming along, so a
    root takes ten mounts rather than hundreds. Then every protected path inside a bound tree
    is covered with an empty mount, so it is absent all the same."""
    protected = sorted(protected)
    binds: list[str] = []
    for path, rights in sorted(readable):
        if any(_beneath(path, p) for p in protected) or any(_beneath(path, b) for b in binds):
            continue
        if rights & landlock.READ_FILE or any(_beneath(p, path) for p in protected):
            binds.append(path)
    covers = [p for p in protected if any(_beneath(p, b) and p != b for b in binds)]
    return binds, covers


def _cover(root: Path, path: str) -> None:
    """Hide `path`, which a bind brought along, beneath an empty read-only mount."""
    target = _target(root, path)
    if os.path.isdir(target):
        flags = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC | linux.MS_RDONLY
        linux.mount("torchgrade-hidden", str(target), "tmpfs", flags, "size=4k,mode=000")
    elif os.path.lexists(target):
        empty = root / EMPTY_FILE
        if not empty.exists():
            empty.touch(mode=0)
        linux.mount(str(empty), str(target), None, linux.MS_BIND, None)
        _remount_read_only(str(target), os.statvfs(str(empty)).f_flag)


def enter(
    new_root: Path,
    readable: Iterable[tuple[str, int]],
    writable: Iterable[str],
    read_only: Iterable[str] = (),
    protected: Iterable[str] = (),
) -> None:
    """Build the private root at `new_root` and make it this mount namespace's `/`.
    `readable` is Landlock's read-only rule list; `protected` what it leaves out."""
    new_root.mkdir(mode=0o755, exist_ok=True)
    flags = linux.MS_NOSUID | linux.MS_NODEV  # a user namespace may mount no device-capable tmpfs
    linux.mount("torchgrade-root", str(new_root), "tmpfs", flags, "mode=0755,size=4m")
    binds, covers = bind_plan(readable, protected)
    for path in binds:
        if os.path.exists(path):
            _bind(new_root, path, read_only=True)
    for path in covers:
        _cover(new_root, path)
    for path in read_only:
        _bind(new_root, path, read_only=True)
    for path in writable:
        _bind(new_root, path, read_only=False)
    _bind(new_root, "/proc", read_only=False)
    old = new_root / OLD_ROOT
    old.mkdir()
    linux.pivot_root(str(new_root), str(old))
    os.chdir("/")
    linux.umount(f"/{OLD_ROOT}")
    os.rmdir(f"/{OLD_ROOT}")
    with contextlib.suppress(OSError):
        _remount_read_only("/", os.statvfs("/").f_flag)
