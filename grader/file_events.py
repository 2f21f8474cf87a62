"""Wake `grade watch` the moment a student saves, where Linux's inotify is there to say so.

Polling alone makes every save wait for the next poll. inotify reports the end of a write (a
file closed after writing, a file renamed into place, a deletion) as it happens. The watch
still compares snapshots after each wake and at least once a second, so a folder whose file
system sends no events (some network and container mounts) is still watched, by polling.
Best effort: without inotify, `wait` just sleeps.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import struct
import time
from collections.abc import Iterator
from pathlib import Path

_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = 0o2000000
_IN_ISDIR = 0x40000000
_IN_Q_OVERFLOW = 0x4000
_IN_ONLYDIR = 0x01000000
# Written and closed, attributes changed, moved in or out, created, deleted.
_WATCHED = 0x8 | 0x4 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
_NEW_FOLDER = 0x80 | 0x100
_EVENT = struct.Struct("iIII")
MAX_FOLDERS = 500


def walk(
    root: Path, skipped: frozenset[str], ignored: frozenset[str] = frozenset()
) -> Iterator[tuple[str, list[str]]]:
    """Each folder beneath `root` with its file names, sorted, leaving out folders named in
    `skipped` and the folders at the absolute paths in `ignored` (the watch's own output:
    its report must not count as a change the student made)."""
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = sorted(
            d for d in subdirs if d not in skipped and os.path.join(folder, d) not in ignored
        )
        yield folder, sorted(names)


class FileEvents:
    """Changes beneath `root`, except in the folders `walk` leaves out."""

    def __init__(
        self, root: Path, skipped: frozenset[str], ignored: frozenset[str] = frozenset()
    ) -> None:
        self.root = root
        self.skipped = skipped
        self.ignored = ignored
        self.fd = -1
        try:
            self._libc = ctypes.CDLL(None, use_errno=True)
            self._libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
            self.fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            self.fd = -1
        if self.fd >= 0:
            self._watch_tree()

    @property
    def active(self) -> bool:
        """Whether changes are reported as they happen (else `wait` only sleeps)."""
        return self.fd >= 0

    def _watch_tree(self) -> None:
        for count, (folder, _names) in enumerate(walk(self.root, self.skipped, self.ignored)):
            if count >= MAX_FOLDERS:
                return
            self._libc.inotify_add_watch(self.fd, os.fsencode(folder), _WATCHED | _IN_ONLYDIR)

    def wait(self, timeout: float) -> bool:
        """Block until something changed or `timeout` passed; True when an event came."""
        if self.fd < 0:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        if self._drain():
            self._watch_tree()  # a new folder, or events were lost: watch the tree again
        return True

    def _drain(self) -> bool:
        """Read every pending event; True when a folder appeared or the queue overflowed."""
        rewatch = False
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return rewatch
            except OSError:
                return rewatch
            offset = 0
            while offset + _EVENT.size <= len(data):
                _wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & _IN_Q_OVERFLOW or (mask & _IN_ISDIR and mask & _NEW_FOLDER):
                    rewatch = True

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
