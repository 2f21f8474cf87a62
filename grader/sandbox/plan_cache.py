"""The protection plan's dry run, remembered for as long as nothing it depends on changes.

The dry run forks throwaway processes that enter namespaces, build a private root of a few
hundred bind mounts and test each layer: about half a CPU-second, as much as the rest of a
one-exercise grading. Its answer depends only on the kernel, the process's credentials and
namespaces, the Python installation, the paths a probe may read and the grader's own code,
so it is stored under a key made of exactly those, and a new boot, a container, another
user, another virtualenv or another grader version each get a dry run of their own.

The cache can only make a layer that passed look as if it still passes. A layer that no
longer works then fails the probe closed at the moment it is applied, so a stale entry costs
an error, never a silent weaker sandbox; and what a cheap look can confirm (the Landlock ABI,
the pids cgroup folder) is confirmed before an entry is used. Files are private to their
owner and ignored when anyone else could have written them.
`TORCHGRADE_PROTECTIONS_CACHE=off` disables the cache; any other value is the folder to keep
it in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "TORCHGRADE_PROTECTIONS_CACHE"
_STATUS_FIELDS = ("Seccomp:", "NoNewPrivs:", "CapEff:", "CapBnd:", "CapPrm:")
_NAMESPACES = ("user", "mnt", "pid", "net", "cgroup", "ipc", "uts")


def _folder() -> Path | None:
    chosen = os.environ.get(CACHE_VARIABLE, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "torchgrade"


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _process_facts() -> list[str]:
    status = _read("/proc/self/status").splitlines()
    facts = [line for line in status if line.startswith(_STATUS_FIELDS)]
    for name in _NAMESPACES:
        with contextlib.suppress(OSError):
            facts.append(os.readlink(f"/proc/self/ns/{name}"))
    return facts


def key(inputs: dict[str, Any]) -> str:
    """A digest of everything the dry run's answer depends on, plus the caller's `inputs`."""
    import grader

    package = Path(grader.__file__).resolve().parent / "sandbox"
    code = hashlib.sha256()
    for module in sorted(package.glob("*.py")):
        with contextlib.suppress(OSError):
            code.update(module.name.encode() + module.read_bytes())
    material = {
        "inputs": inputs,
        "code": code.hexdigest(),
        "boot": _read("/proc/sys/kernel/random/boot_id").strip(),
        "kernel": list(os.uname()),
        "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), *os.getgroups()],
        "python": [sys.executable, sys.prefix, sys.base_prefix, sys.version],
        "cgroup": _read("/proc/self/cgroup"),
        "process": _process_facts(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]


def load(digest: str) -> dict[str, Any] | None:
    """The stored dry-run answer for `digest`, or None (absent, unsafe or unreadable)."""
    folder = _folder()
    if folder is None:
        return None
    path = folder / f"protections-{digest}.json"
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            value = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def store(digest: str, value: dict[str, Any]) -> None:
    """Remember `value` for `digest`; best effort, never an error."""
    folder = _folder()
    if folder is None:
        return
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".protections-")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(value, out)
            os.replace(temporary, folder / f"protections-{digest}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
