"""Thin ctypes bindings for the Linux calls the sandbox needs and Python 3.10/3.11 lacks.

Every function raises `OSError` with the real errno on failure, so callers can turn a missing
kernel feature into a reason in the report instead of a crash.
"""

from __future__ import annotations

import ctypes
import os
import platform
from functools import cache
from typing import Any

PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_RELATIME = 1 << 21
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

# SECBIT_NOROOT, SECBIT_NO_SETUID_FIXUP, SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE and
# their locks: uid 0 gains no capabilities back, by exec or otherwise.
SECUREBITS_LOCKED_DOWN = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40 | 0x80
_CAPABILITY_VERSION_3 = 0x20080522
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}


@cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def machine() -> str:
    return platform.machine().lower()


def _check(result: int, what: str) -> int:
    if result == -1:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")
    return result


@cache
def _prctl() -> Any:
    call = libc().prctl
    call.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return call


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return _check(_prctl()(option, arg2, arg3, 0, 0), f"prctl({option})")


def try_prctl(option: int, arg2: int = 0) -> bool:
    """`prctl`, where a failure (or a system without it) is an answer, not an error."""
    try:
        prctl(option, arg2)
    except (OSError, AttributeError):
        return False
    return True


def unshare(flags: int) -> None:
    _check(libc().unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    call = libc().mount
    call.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    _check(
        call(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def umount(target: str) -> None:
    _check(libc().umount2(target.encode(), ctypes.c_int(MNT_DETACH)), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(machine())
    if number is None:
        raise OSError(0, f"pivot_root is not wired up for {machine()}")
    syscall(number, ctypes.c_char_p(new_root.encode()), ctypes.c_char_p(put_old.encode()))


def syscall(number: int, *args: object) -> int:
    """`syscall(2)`, with plain ints widened to `long` as the kernel reads them."""
    call = libc().syscall
    call.restype = ctypes.c_long
    wide = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return _check(call(ctypes.c_long(number), *wide), f"syscall {number}")


def drop_bounding_set() -> None:
    """Empty the capability bounding set, which only limits what an exec could gain. Each drop
    commits new credentials (about 10 us here), so a zygote does it once, before its forks."""
    for capability in range(64):
        try:
            held = prctl(PR_CAPBSET_READ, capability)
        except OSError:  # past the last capability this kernel knows
            break
        if held:
            prctl(PR_CAPBSET_DROP, capability)


def drop_capabilities() -> None:
    """Drop every capability: bounding set, ambient set, then permitted/effective/inheritable.

    For a process that keeps uid 0 (the Python installation may be unreadable to other users),
    this is what remains of root: file ownership, but no power over other processes or mounts.
    """
    number = _SYS_CAPSET.get(machine())
    if number is None:
        raise OSError(0, f"capset is not wired up for {machine()}")
    drop_bounding_set()
    try_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_DOWN)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    syscall(number, ctypes.byref(header), ctypes.byref(data))


def capabilities() -> dict[str, int]:
    """CapEff, CapPrm and CapBnd of this process, from /proc/self/status."""
    found = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("CapEff", "CapPrm", "CapBnd"):
                found[key] = int(value.strip(), 16)
    return found


def stat_fields(pid: str = "self") -> list[str]:
    """Fields of /proc/<pid>/stat after the command name, numbered from field 3 at index 0."""
    with open(f"/proc/{pid}/stat") as handle:
        raw = handle.read()
    return raw[raw.rindex(")") + 2 :].split()


def wipe_initial_environment() -> None:
    """Zero this process's copy of the environment block it was exec'ed with.

    A forked child shares that memory with the CLI (copy on write), so secrets in the CLI's
    environment would otherwise stay readable through /proc/self/environ or raw memory.
    """
    fields = stat_fields()
    start, end = int(fields[47]), int(fields[48])
    if 0 < start < end:
        ctypes.memset(start, 0, end - start)


def exit_descriptor(pid: int) -> int | None:
    """A descriptor that becomes readable when child `pid` exits (pidfd, Linux 5.3+), so a
    parent can wait for it in a selector instead of polling; None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
