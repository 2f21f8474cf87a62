"""Telling the judge that a probe reached for a socket (or a shared semaphore) it may not have.

The seccomp filter denies `socket()`, `connect()` and addressed sends with EACCES, which Python
raises as a bare PermissionError, often in a process the probe started (a DataLoader worker, a
multiprocessing manager's server) and far from anything the student wrote. So the child wraps
the socket class: a denied call writes one byte to a notice pipe that every descendant inherits,
and the zygote reports it with the outcome. The judge then says why, in the student's language.

Where the denial surfaces in the probe's own process (a multiprocessing queue's semaphore in
/dev/shm, which Landlock hides, or a socket), `denied_by_sandbox` recognises it from the
traceback instead.

A student can write to the pipe too; all it earns is that explanation.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import traceback
from typing import Any

SOCKETS_DENIED = "sockets_denied"
_DENIED = (errno.EACCES, errno.EPERM)
_noticed: set[int] = set()
_MACHINERY = (f"{os.sep}multiprocessing{os.sep}", f"{os.sep}socket.py", f"{os.sep}dataloader.py")


def watch(fd: int) -> None:
    """Child side, before student code runs: report denied socket calls on `fd`."""
    os.set_blocking(fd, False)
    cls: Any = socket.socket
    original_init, original_connect = cls.__init__, cls.connect

    def note(exc: OSError) -> None:
        if exc.errno in _DENIED and os.getpid() not in _noticed:
            _noticed.add(os.getpid())
            with contextlib.suppress(OSError):
                os.write(fd, b"s")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            original_init(self, *args, **kwargs)
        except OSError as exc:
            note(exc)
            raise

    def connect(self: Any, address: Any) -> None:
        try:
            original_connect(self, address)
        except OSError as exc:
            note(exc)
            raise

    cls.__init__, cls.connect = __init__, connect


def notices(fd: int, discard: int) -> list[str]:
    """Zygote side, after the probe: what the notice pipe says, without blocking. Its bytes go
    to `discard` (/dev/null), never into the zygote's memory: student code may write anything
    on the pipe, and every later child is a copy of that memory."""
    os.set_blocking(fd, False)
    with contextlib.suppress(OSError):
        if os.splice(fd, discard, 1 << 12, flags=getattr(os, "SPLICE_F_NONBLOCK", 2)):
            return [SOCKETS_DENIED]
    return []


def denied_by_sandbox(exc: BaseException) -> bool:
    """A permission error raised inside multiprocessing, socket or DataLoader machinery."""
    # ENOENT: under the private root, /dev/shm (where semaphores live) is not there at all.
    denied = (*_DENIED, errno.ENOENT)
    if not isinstance(exc, OSError) or exc.errno not in denied or exc.__traceback__ is None:
        return False
    innermost = traceback.extract_tb(exc.__traceback__)[-1].filename
    return any(part in innermost for part in _MACHINERY)
