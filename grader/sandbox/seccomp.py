"""A small seccomp filter for probe children: no network sockets, no signals to the grader.

The filter is a classic BPF program, written out by hand here so the grader needs no
libseccomp. It denies (with an errno, so Python raises a clean `OSError`):

- `socket()` for every address family, AF_UNIX included, `connect()`, `sendto()` with an
  address, `sendmsg()` and `sendmmsg()` (whose address seccomp cannot read), and io_uring
  (which can do all of these): no probe reaches a socket it did not make with `socketpair()`,
  which keeps working. Pathname Unix sockets are the way to a host's services (docker, D-Bus,
  systemd); glibc's own nscd lookup gets the errno and falls back;
- `ptrace`, `process_vm_readv/writev`, `bpf`, `perf_event_open`, `userfaultfd`, `unshare`,
  `setns`, every call that mounts or unmounts, and the keyring calls, none of which an
  exercise needs (inside a user namespace a child would otherwise be allowed to unmount the
  sandbox's own /proc);
- the System V IPC calls (shared memory, semaphores, message queues) and POSIX message queues:
  their objects outlive a process and are found by key, so they would carry data from one
  probe child to the next, from one student to another in a batch, and past every memory
  limit; the sandbox's own IPC namespace fences the host's objects off as well;
- `memfd_create` and `memfd_secret`: anonymous files whose pages no rlimit and no RSS count
  sees, a way around the memory limit;
- `clone` with any `CLONE_NEW*` flag (a new user namespace hands out capabilities, inside
  it, that open much more of the kernel), and `clone3`, whose flags seccomp cannot read:
  it fails with ENOSYS, so the C library falls back to `clone`, as it does on older kernels;
- `kill`, `tkill`, `tgkill`, `rt_(tg)sigqueueinfo` and `pidfd_open` aimed at a protected pid
  (the zygote and everything above it), at a process group, or at every process (`-1`).

Everything else is allowed. Only x86_64 and aarch64 are wired up; other machines report the
layer as off.
"""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from grader.sandbox import linux

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_X32_SYSCALL_BIT = 0x40000000

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16

_OFFSET_ARG5_LOW = 16 + 5 * 8
# pidfd_getfd (another process's descriptors), the same number on every architecture.
PIDFD_GETFD = 438
# open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr: the same numbers on
# every architecture.
NEW_MOUNT_API = (428, 429, 430, 431, 432, 433, 442)
# clone3 and memfd_secret, the same numbers on every architecture.
CLONE3 = 435
MEMFD_SECRET = 447
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID and
# CLONE_NEWNET: a clone that asks for any of them is denied.
CLONE_NEW_NAMESPACES = 0x7E020000


@dataclass(frozen=True)
class _Arch:
    audit: int
    socket: int
    # connect, sendmsg, sendmmsg: denied outright; sendto: denied when it names an address.
    connecting: tuple[int, ...]
    sendto: int
    io_uring_setup: int
    clone: int
    denied: tuple[int, ...]
    signalling: tuple[int, ...]


ARCHES = {
    "x86_64": _Arch(
        audit=0xC000003E,
        socket=41,
        connecting=(42, 46, 307),
        sendto=44,
        io_uring_setup=425,
        clone=56,
        # ptrace, process_vm_readv/writev, bpf, perf_event_open, userfaultfd, unshare, setns,
        # mount, umount2, pivot_root, add_key, request_key, keyctl; shmget, shmat, shmctl,
        # shmdt, semget, semop, semctl, semtimedop, msgget, msgsnd, msgrcv, msgctl; mq_open,
        # mq_unlink, mq_timedsend, mq_timedreceive, mq_notify, mq_getsetattr; memfd_create
        denied=(
            *(101, 310, 311, 321, 298, 323, 272, 308, 165, 166, 155, 248, 249, 250),
            *(29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71),
            *(240, 241, 242, 243, 244, 245),
            319,
        ),
        # kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_open
        signalling=(62, 200, 234, 129, 297, 434),
    ),
    "aarch64": _Arch(
        audit=0xC00000B7,
        socket=198,
        connecting=(203, 211, 269),
        sendto=206,
        io_uring_setup=425,
        clone=220,
        denied=(
            *(117, 270, 271, 280, 241, 282, 97, 268, 40, 39, 41, 217, 218, 219),
            *(194, 196, 195, 197, 190, 193, 191, 192, 186, 189, 188, 187),
            *(180, 181, 182, 183, 184, 185),
            279,
        ),
        signalling=(129, 130, 131, 138, 240, 434),
    ),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def supported() -> bool:
    return linux.machine() in ARCHES


def _deny(number: int) -> int:
    return _RET_ERRNO | number


def program(protected: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; `protected` are pids nobody may signal."""
    arch = ARCHES[linux.machine()]
    shielded = sorted({p & 0xFFFFFFFF for p in protected if p > 0})
    code: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        (_JEQ_K, 1, 0, arch.audit),
        (_RET_K, 0, 0, _deny(errno.EPERM)),
        (_LD_W_ABS, 0, 0, _OFFSET_NR),
        (_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        (_RET_K, 0, 0, _deny(errno.EPERM)),
    ]
    for number in (*arch.denied, *NEW_MOUNT_API, PIDFD_GETFD, arch.io_uring_setup, MEMFD_SECRET):
        code += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, _deny(errno.EPERM))]
    code += [(_JEQ_K, 0, 1, CLONE3), (_RET_K, 0, 0, _deny(errno.ENOSYS))]
    # clone(flags, ...): a thread or a process, yes; a new namespace, no.
    code += [
        (_JEQ_K, 0, 4, arch.clone),
        (_LD_W_ABS, 0, 0, _OFFSET_ARG0_LOW),
        (_JSET_K, 0, 1, CLONE_NEW_NAMESPACES),
        (_RET_K, 0, 0, _deny(errno.EPERM)),
        (_RET_K, 0, 0, RET_ALLOW),
    ]
    # No new socket and no way to address one: EACCES, as for a path one may not open.
    for number in (arch.socket, *arch.connecting):
        code += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, _deny(errno.EACCES))]
    # sendto(fd, buf, len, flags, addr, addrlen): the kernel ignores addr when addrlen is 0.
    code += [
        (_JEQ_K, 0, 4, arch.sendto),
        (_LD_W_ABS, 0, 0, _OFFSET_ARG5_LOW),
        (_JEQ_K, 0, 1, 0),
        (_RET_K, 0, 0, RET_ALLOW),
        (_RET_K, 0, 0, _deny(errno.EACCES)),
    ]
    # Signals: the first argument must be 0 or a positive pid that is not protected.
    checks = [(_JGE_K, len(shielded) + 1, 0, 0x80000000)]
    for index, pid in enumerate(shielded):
        checks.append((_JEQ_K, len(shielded) - index, 0, pid))
    checks += [(_RET_K, 0, 0, RET_ALLOW), (_RET_K, 0, 0, _deny(errno.EPERM))]
    load_arg = [(_LD_W_ABS, 0, 0, _OFFSET_ARG0_LOW)]
    dispatch = []
    for position, number in enumerate(arch.signalling):
        remaining = len(arch.signalling) - position - 1
        dispatch.append((_JEQ_K, remaining, 0, number))
    code += [*dispatch[:-1], (_JEQ_K, 0, len(load_arg) + len(checks), arch.signalling[-1])]
    code += load_arg + checks
    code.append((_RET_K, 0, 0, RET_ALLOW))
    return code


@cache
def compiled(protected: tuple[int, ...]) -> _SockFprog:
    """The filter for `protected`, ready for the kernel. Cached, so a zygote that builds it
    before forking hands every child a finished program."""
    instructions = program(protected)
    array = (_SockFilter * len(instructions))(*[_SockFilter(*i) for i in instructions])
    return _SockFprog(len(instructions), array)  # ctypes keeps `array` alive with it


def install(protected: Iterable[int]) -> None:
    """Install the filter on this thread's process (needs no_new_privs unless root)."""
    fprog = compiled(tuple(protected))
    linux.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
