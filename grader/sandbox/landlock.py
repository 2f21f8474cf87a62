"""Landlock: an unprivileged, allow-list file system (and TCP, and signal) sandbox in the kernel.

A probe child is restricted by two stacked layers: a base layer, built once in the zygote,
with read-only access to what Python and torch need and read-write access to the zygote's
scratch root; and its own narrow layer, which handles the writing rights only and grants
them beneath its own scratch folder. Building the base layer walks about 700 paths, far too
slow to repeat in every child. After `restrict_self` the process and all its
descendants can no longer open anything outside those paths, whatever their uid. ABI 4 adds
TCP bind/connect control; ABI 6 adds scoping, so signals and abstract unix sockets cannot reach
processes outside the sandbox (the zygote, the judge, the CLI); ABI 9 adds RESOLVE_UNIX, which
no rule grants, so no pathname unix socket made outside the sandbox can be connected to.
"""

from __future__ import annotations

import ctypes
import os
import stat
from dataclasses import dataclass, field

from grader.sandbox import linux

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13
TRUNCATE = 1 << 14
IOCTL_DEV = 1 << 15
RESOLVE_UNIX = 1 << 16
RESOLVE_UNIX_ABI = 9

NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = READ_FILE | READ_DIR
WRITE_ALL = (
    READ
    | WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SOCK
    | MAKE_FIFO
    | MAKE_SYM
    | REFER
    | TRUNCATE
)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def abi_version() -> int:
    """The Landlock ABI the kernel offers, or 0 when Landlock is missing or disabled."""
    try:
        return linux.syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except OSError:
        return 0


def fs_rights(abi: int) -> int:
    """Every file system right this ABI knows: all of them are handled, so all are denied by
    default."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    if abi >= RESOLVE_UNIX_ABI:
        rights |= RESOLVE_UNIX
    return rights


@dataclass
class Ruleset:
    """Paths and the rights granted beneath each; every handled right is denied elsewhere.

    `handled` narrows the rights this layer restricts (all of them by default), and `scoped`
    says whether it also handles TCP and scopes signals and abstract sockets. A narrow layer
    stacked on a full one restricts only what it handles: that is how a child adds its own
    scratch folder to a base layer built once in the zygote.
    """

    abi: int
    rules: dict[str, int] = field(default_factory=dict)
    handled: int | None = None
    scoped: bool = True

    def allow(self, path: str, rights: int) -> None:
        self.rules[path] = self.rules.get(path, 0) | rights

    def build(self) -> int:
        """The ruleset as a kernel object: a file descriptor, which a fork shares."""
        handled = fs_rights(self.abi) if self.handled is None else self.handled
        attr = _RulesetAttr(handled_access_fs=handled)
        size = 8
        if self.scoped and self.abi >= 4:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
            size = 16
        if self.scoped and self.abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
            size = 24
        ruleset = linux.syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0)
        try:
            for path, rights in sorted(self.rules.items()):
                self._add(ruleset, path, rights & handled)
        except BaseException:
            os.close(ruleset)
            raise
        return ruleset

    def enforce(self) -> None:
        """Apply to this process and its future descendants. Needs no_new_privs (or root)."""
        ruleset = self.build()
        try:
            restrict(ruleset)
        finally:
            os.close(ruleset)

    @staticmethod
    def _add(ruleset: int, path: str, rights: int) -> None:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                rights &= FILE_RIGHTS
            if rights:
                rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
                linux.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        finally:
            os.close(fd)


def restrict(ruleset: int) -> None:
    """Enforce a built ruleset on this process: a new Landlock domain, stacked on any before."""
    linux.syscall(_RESTRICT_SELF, ruleset, 0)
