"""Layered protections around student code, each detected at run time and used when available.

The trust boundary (data-only results, verdicts in the judge) does not depend on any of this.
These layers keep a hostile submission from reading what it must not read (the reference, the
hidden checks, other submissions, the grader's files), from reaching the network, from touching
the grader's processes, and from leaving anything behind.

Detection is a dry run: before grading, `plan()` forks throwaway processes that apply each
layer exactly as a probe child would and verify it works (a Landlocked process must fail to read
the grader's own files, a filtered one must fail to open a TCP socket, and so on). Only layers
that passed are used, and the report's environment section says which were on and why the
others were off. A layer that passed the dry run but fails for real fails the probe closed.

Where each layer is applied:

- holder (one per zygote incarnation): pid, mount and network namespaces;
- zygote: a fresh /proc for the pid namespace, a size-limited tmpfs for the scratch folders,
  and non-dumpable (so /proc/<zygote>/fd and ptrace are closed to its children);
- probe child: scrubbed environment, rlimits, no_new_privs, Landlock, seccomp, then the
  privilege drop (uid nobody) or, where the Python installation is unreadable to nobody,
  dropping every capability while keeping uid 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.sandbox import (
    accelerators,
    cgroups,
    landlock,
    linux,
    plan_cache,
    private_root,
    seccomp,
    torch_cache,
)

if TYPE_CHECKING:
    from grader.sandbox.limits import Limits

OFF_VARIABLE = "TORCHGRADE_PROTECTIONS_OFF"
SAFE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
ALWAYS_ON = (
    "fork_per_probe",
    "data_only_results",
    "wall_clock_timeout",
    "rlimits",
    "environment_scrubbed",
    "process_reaping",
)
LAYERS = (
    "pid_namespace",
    "network_namespace",
    "scratch_quota",
    "private_root",
    "hidden_files",
    "non_dumpable",
    "no_new_privs",
    "landlock",
    "landlock_network",
    "landlock_signals",
    "landlock_unix_sockets",
    "seccomp",
    "privilege_drop",
    "capabilities_dropped",
    "process_limit",
    "pids_cgroup",
)
NOBODY_NAME = "nobody"
NOBODY_FALLBACK = 65534
PROCESS_LIMIT = 256
SCRATCH_QUOTA_BYTES = 128 << 20
DRY_RUN_SECONDS = 20.0
SYSTEM_READABLE = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/sys/devices/system/cpu",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
)
DEVICE_WRITABLE = ("/dev/null",)
_OWN_DISTRIBUTION = re.compile(r"^(__editable__[._])?torchgrade", re.IGNORECASE)


_NOT_HIDDEN = (
    "neither landlock nor private_root is available: student code can read the grader, the "
    "hidden checks, the reference and any file its user can read"
)


def _off(reason: str) -> str:
    return f"off ({reason})"


# What `pid_namespace` stands for: its own pids and /proc, its own mounts, and its own System V
# IPC objects (the host's shared memory and message queues are out of sight, and whatever a
# sandbox makes dies with it; seccomp keeps the children of one sandbox apart as well).
PROCESS_NAMESPACES = linux.CLONE_NEWPID | linux.CLONE_NEWNS | linux.CLONE_NEWIPC


@dataclass(frozen=True)
class Plan:
    """Which layers to apply, with the report's 'on' or 'off (reason)' for each."""

    status: dict[str, str] = field(default_factory=dict)
    landlock_abi: int = 0
    user_namespace: bool = False
    pids_hierarchy: cgroups.Hierarchy | None = None

    def on(self, layer: str) -> bool:
        return self.status.get(layer) == "on"

    @property
    def namespace_flags(self) -> int:
        flags = 0
        if self.on("pid_namespace"):
            flags |= PROCESS_NAMESPACES
        if self.on("network_namespace"):
            flags |= linux.CLONE_NEWNET
        return flags


# --------------------------------------------------------------------------- what is readable


def nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(NOBODY_NAME)
    except KeyError:
        return NOBODY_FALLBACK, NOBODY_FALLBACK
    return entry.pw_uid, entry.pw_gid


def protected_paths() -> tuple[str, ...]:
    """What a probe must never read: the grader, its assignments and (in a checkout) the rest
    of the repository, which holds reference/ and the test fixtures."""
    from grader.spec import assignments_root

    return _protected_paths(str(assignments_root()))


@cache
def _protected_paths(assignments: str) -> tuple[str, ...]:
    import grader

    package = Path(grader.__file__).resolve().parent
    found = {str(package), assignments}
    if (package.parent / "pyproject.toml").is_file():
        found.add(str(package.parent))
    for entry in sys.path:
        with contextlib.suppress(OSError):
            for child in os.scandir(entry or "."):
                if _OWN_DISTRIBUTION.match(child.name) or _is_a_grader(child.path):
                    found.add(os.path.realpath(child.path))
    return tuple(sorted(found))


def _is_a_grader(path: str) -> bool:
    """Another installed copy of this grader (with its hidden checks), e.g. a wheel in
    site-packages beside the checkout being run."""
    return os.path.basename(path) == "grader" and os.path.isfile(
        os.path.join(path, "sandbox", "zygote.py")
    )


def _beneath(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _grant_tree(rules: dict[str, int], path: str, protected: tuple[str, ...]) -> None:
    """Read access beneath `path`, except for protected paths inside it. Landlock has no deny
    rules, so an ancestor of a protected path gets listing rights only, and each of its other
    children is granted on its own."""
    if any(_beneath(path, p) for p in protected):
        return
    if not any(_beneath(p, path) for p in protected):
        rules[path] = rules.get(path, 0) | landlock.READ
        return
    rules[path] = rules.get(path, 0) | landlock.READ_DIR
    with contextlib.suppress(OSError):
        for child in os.scandir(path):
            target = os.path.realpath(child.path) if child.is_symlink() else child.path
            _grant_tree(rules, target, protected)


@cache
def readable_roots() -> tuple[str, ...]:
    """Python's own installation and the system libraries, resolved, existing paths only.

    The working directory is left out even when it is on sys.path (`python -m grader` puts it
    there): an instructor may well run the grader from the folder that holds every submission.
    """
    here = os.path.realpath(os.getcwd())
    candidates = [p for p in sys.path if p and os.path.realpath(p) != here]
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        candidates += [str(Path(prefix) / "lib"), str(Path(prefix) / "lib64")]
    candidates += SYSTEM_READABLE
    resolved = {os.path.realpath(c) for c in candidates if os.path.exists(c)}
    return tuple(sorted(resolved))


def readable_rules() -> tuple[tuple[str, int], ...]:
    """The read-only part of every probe's ruleset. Computed once per set of protected paths
    and before the zygote forks, because walking site-packages is far slower than applying
    the result."""
    return _readable_rules(protected_paths())


@cache
def _readable_rules(protected: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    rules: dict[str, int] = {}
    for root in readable_roots():
        _grant_tree(rules, root, protected)
    return tuple(sorted(rules.items()))


def base_layer(scratch_root: Path, abi: int, whole_proc: bool) -> landlock.Ruleset:
    """The layer a zygote builds once and every child of it enforces: read what Python and
    torch need, write beneath the scratch root. Each child narrows the writing to its own
    folder with `scratch_layer`.

    `whole_proc` grants /proc for reading. That is only right inside the sandbox's own pid
    namespace, where /proc shows the sandbox's processes alone, and with `hidepid`, which
    hides the zygote from a child: Landlock denies ptrace outside a child's domain, and
    hidepid hides what a process may not ptrace.
    Without it, only the calling process's own /proc entry is granted: the layer is then
    right only for the process that builds it (a child without a zygote layer, the dry run).
    """
    ruleset = landlock.Ruleset(abi, dict(readable_rules()))
    if whole_proc:
        ruleset.allow("/proc", landlock.READ)
    else:
        with contextlib.suppress(OSError):
            ruleset.allow(os.path.realpath("/proc/self"), landlock.READ)
    for device in DEVICE_WRITABLE:
        ruleset.allow(device, landlock.READ_FILE | landlock.WRITE_FILE | landlock.TRUNCATE)
    ruleset.allow(str(scratch_root), landlock.WRITE_ALL)
    return ruleset


def scratch_layer(scratch: Path, abi: int) -> landlock.Ruleset:
    """A child's own layer on top of the base: it handles every right but reading, and grants
    them beneath the child's scratch folder only, so no probe writes into another's."""
    handled = landlock.fs_rights(abi) & ~(landlock.READ | landlock.EXECUTE)
    ruleset = landlock.Ruleset(abi, handled=handled, scoped=False)
    for device in DEVICE_WRITABLE:
        ruleset.allow(device, landlock.WRITE_FILE | landlock.TRUNCATE)
    ruleset.allow(str(scratch), landlock.WRITE_ALL)
    return ruleset


def zygote_layer(plan: Plan, scratch_root: Path) -> int:
    """Zygote side, once: the base layer as a ruleset descriptor that its children inherit,
    or -1 where each child must build its whole ruleset itself (no Landlock, or a /proc that
    is not safe to grant: not the sandbox's own, or one that shows children the zygote)."""
    if not (plan.on("landlock") and plan.on("pid_namespace") and _proc_hides_others()):
        return -1
    return base_layer(scratch_root, plan.landlock_abi, whole_proc=True).build()


def _enforce_landlock(scratch: Path, abi: int, base: int) -> None:
    if base < 0:  # no zygote layer: this child's whole ruleset, with its own /proc entry
        base_layer(scratch, abi, whole_proc=False).enforce()
        return
    try:
        landlock.restrict(base)
    finally:
        os.close(base)
    scratch_layer(scratch, abi).enforce()


# --------------------------------------------------------------------------- applying layers


def _set_limit(kind: int, value: int) -> None:
    """The hard limit too: with the soft one alone, student code could raise it again."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(kind, (value, value))


def enter_namespaces(flags: int, user_namespace: bool) -> None:
    """Holder side: new pid, mount and network namespaces for the zygote about to be forked.

    Without root, a user namespace comes first; inside it this process is uid 0 (mapped to
    its real uid), which is what mounting /proc and a tmpfs needs.
    """
    if not flags:
        return
    if user_namespace:
        uid, gid = os.getuid(), os.getgid()
        linux.unshare(linux.CLONE_NEWUSER)
        # A non-dumpable process's /proc/self files belong to root: it could not write its
        # own maps. Dumpable for these three writes only.
        dumpable = linux.prctl(linux.PR_GET_DUMPABLE)
        linux.prctl(linux.PR_SET_DUMPABLE, 1)
        maps = (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1"))
        try:
            for name, text in maps:
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
        finally:
            linux.prctl(linux.PR_SET_DUMPABLE, dumpable)
    linux.unshare(flags)


# Newest spelling first: `invisible` since Linux 5.8, `2` before. Either hides each process
# from those that may not ptrace it, so a Landlocked child sees itself but not the zygote;
# except from members of the mount's `gid`, which is 0 unless set: a group no probe is in.
# (Inside a user namespace that gid is not mapped, the mount falls back to a plain /proc, and
# each child builds its own ruleset.) Not used inside a user namespace: `mount_private_proc`.
_UNUSED_GID = 2147483646
_HIDEPID = (f"hidepid=invisible,gid={_UNUSED_GID}", f"hidepid=2,gid={_UNUSED_GID}")


def mount_private_proc(hide: bool = True) -> None:
    """As pid 1 of a new pid namespace: a /proc that shows this namespace, unshared, and
    with `hide`, where the kernel allows it, hides from each process the ones it may not
    ptrace. Never inside a user namespace: there the zygote may not ptrace its own children
    (their memory belongs to the initial namespace), and its memory watchdog reads their
    /proc entries."""
    linux.mount("none", "/", None, linux.MS_REC | linux.MS_PRIVATE, None)
    flags = linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC
    for options in (*(_HIDEPID if hide else ()), None):
        try:
            linux.mount("proc", "/proc", "proc", flags, options)
            break
        except OSError:
            if options is None:
                raise
    if os.getpid() != 1 or os.readlink("/proc/self") != "1":
        raise OSError(0, "the new /proc does not show the pid namespace")


def _proc_hides_others() -> bool:
    """Whether this mount namespace's /proc hides processes from probes (`_HIDEPID`)."""
    try:
        with open("/proc/self/mountinfo") as handle:
            for line in handle:
                fields, _, tail = line.partition(" - ")
                parts, options = fields.split(), tail.split()
                if len(parts) > 4 and parts[4] == "/proc" and len(options) > 2:
                    chosen = options[2].split(",")
                    return f"gid={_UNUSED_GID}" in chosen and any(
                        o.startswith("hidepid=") for o in chosen
                    )
    except OSError:
        pass
    return False


def mount_scratch(scratch_root: Path, size: int) -> None:
    """A size-limited tmpfs for the probes' scratch folders: a disk quota that needs no quota
    support from the file system, and vanishes with the mount namespace."""
    linux.mount(
        "torchgrade-scratch",
        str(scratch_root),
        "tmpfs",
        linux.MS_NOSUID | linux.MS_NODEV,
        f"size={size},mode=0711",
    )


def setup_zygote(plan: Plan, scratch_root: Path, staging: Path | None = None) -> None:
    """Zygote side, once: its own /proc (pid namespace), the scratch tmpfs, the private root,
    non-dumpable, and the environment every child starts from."""
    if plan.on("pid_namespace"):
        mount_private_proc(hide=not plan.user_namespace)
    if plan.on("scratch_quota"):
        mount_scratch(scratch_root, SCRATCH_QUOTA_BYTES)
    if plan.on("private_root") and staging is not None:
        enter_private_root(scratch_root.parent / f"{scratch_root.name}.root", scratch_root, staging)
    if plan.on("non_dumpable"):
        linux.prctl(linux.PR_SET_DUMPABLE, 0)
    scrub_environment()


def enter_private_root(new_root: Path, scratch_root: Path, staging: Path) -> None:
    """Pivot into a root that holds only what Landlock would allow, plus the submission."""
    readable = [(p, r) for p, r in readable_rules() if not _beneath(p, "/proc")]
    writable = [str(scratch_root), *DEVICE_WRITABLE]
    private_root.enter(
        new_root, readable, writable, read_only=[str(staging)], protected=protected_paths()
    )


def prepare_scratch(scratch: Path) -> None:
    """Zygote side, before the fork: the probe's scratch folder, private to its owner. Once the
    environment is scrubbed, it is also named HOME and TMPDIR here, so no child writes to its
    inherited environment (each page a child writes is a copy-on-write fault)."""
    scratch.mkdir(mode=0o700)
    if _environment_scrubbed:
        os.environ.update(_scratch_environment(str(scratch)))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for directory, subdirs, files in os.walk(root):
        for name in subdirs + files:
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)


_CLEAN_NAMES = frozenset(
    {*SAFE_ENV, *accelerators.VARIABLES, "HOME", "TMPDIR", torch_cache.TORCH_CACHE_VARIABLE}
)
_environment_scrubbed = False


def _scratch_environment(folder: str) -> dict[str, str]:
    """What names a child's scratch folder: HOME, TMPDIR and torch's compile cache, which the
    real `torch._dynamo` makes at import (a student's `torch.func` or `torch.compile` loads it)
    and which would otherwise default to a folder under the zygote's read-only /tmp. A dot
    folder, so that it can never shadow an import of the submission's."""
    return {
        "HOME": folder,
        "TMPDIR": folder,
        torch_cache.TORCH_CACHE_VARIABLE: os.path.join(folder, ".torch-cache"),
    }


def scrub_environment() -> None:
    """Only `SAFE_ENV`, and the exec-time copy of the environment zeroed. The zygote does it
    once, so its children start clean and each only names its own scratch folder."""
    global _environment_scrubbed
    os.environ.clear()
    with contextlib.suppress(OSError, ValueError, IndexError):
        linux.wipe_initial_environment()
    os.environ.update(SAFE_ENV)
    accelerators.hide()  # the scrub must not bring the GPUs back
    _environment_scrubbed = True


def _scrub_environment(scratch: Path) -> None:
    folder = str(scratch)
    # tempfile caches the folder it found first (the zygote's, from its own mkdtemp): the child
    # forgets it, so that `tempfile` and everything built on it use the scratch folder.
    tempfile.tempdir = folder
    wanted = _scratch_environment(folder)
    if _environment_scrubbed and _CLEAN_NAMES.issuperset(os.environ):
        if all(os.environ.get(name) == value for name, value in wanted.items()):
            return
    else:
        scrub_environment()
    os.environ.update(wanted)


def _drop_to_nobody() -> None:
    uid, gid = nobody()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(0, "the privilege drop did not take")


def enter_child(
    scratch: Path,
    limits: Limits,
    baseline_data: int,
    plan: Plan | None = None,
    protected_pids: tuple[int, ...] = (),
    landlock_base: int = -1,
) -> None:
    """Child side, after the submission is copied in and before student code is imported.
    `landlock_base` is the zygote's base layer (`zygote_layer`), consumed here.

    Raises if a layer the plan marked 'on' cannot be applied: the probe then fails closed.
    """
    plan = plan or Plan()
    _scrub_environment(scratch)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_FSIZE, limits.max_output_file_bytes)
    _set_limit(resource.RLIMIT_NOFILE, limits.max_open_files)
    if baseline_data:
        _set_limit(resource.RLIMIT_DATA, baseline_data + limits.memory_bytes)
    if plan.on("privilege_drop"):
        _chown_tree(scratch, *nobody())
    if plan.on("no_new_privs"):
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    if plan.on("landlock"):
        _enforce_landlock(scratch, plan.landlock_abi, landlock_base)
    if plan.on("seccomp"):
        seccomp.install(protected_pids)
    if plan.on("privilege_drop"):
        _drop_to_nobody()
        if plan.on("process_limit"):
            resource.setrlimit(resource.RLIMIT_NPROC, (PROCESS_LIMIT, PROCESS_LIMIT))
    elif plan.on("capabilities_dropped"):
        linux.drop_capabilities()
    linux.try_prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)


def harden_trusted_process() -> None:
    """For the judge and the zygote: no core dumps, no ptrace, no /proc/<pid>/fd for others."""
    with contextlib.suppress(OSError, AttributeError):
        linux.prctl(linux.PR_SET_DUMPABLE, 0)


# --------------------------------------------------------------------------- the dry run


def _in_fork(body: Callable[[int, Path], None]) -> dict[str, Any]:
    """Run `body(write_fd, scratch)` in a forked process, which writes JSON lines to the pipe.

    The scratch folder is made and removed here, in the parent: a Landlocked or unprivileged
    child could not remove it from /tmp itself.
    """
    scratch = Path(tempfile.mkdtemp(prefix="torchgrade-probe-"))
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            body(write_fd, scratch)
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    try:
        while select.select([read_fd], [], [], DRY_RUN_SECONDS)[0]:
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        shutil.rmtree(scratch, ignore_errors=True)
    merged: dict[str, Any] = {}
    for line in b"".join(chunks).splitlines():
        with contextlib.suppress(ValueError):
            merged.update(json.loads(line))
    return merged


def _send(fd: int, result: dict[str, str]) -> None:
    os.write(fd, json.dumps(result).encode() + b"\n")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _expect_denied(action: Callable[[], object]) -> bool:
    try:
        action()
    except PermissionError:
        return True
    except OSError:
        return False
    return False


def _namespaces_body(user_namespace: bool) -> Callable[[int, Path], None]:
    def body(fd: int, scratch: Path) -> None:
        flags = PROCESS_NAMESPACES | linux.CLONE_NEWNET
        try:
            enter_namespaces(flags, user_namespace)
        except OSError as exc:
            reason = _off(f"unshare failed: {_reason(exc)}")
            _send(fd, {"pid_namespace": reason, "network_namespace": reason})
            return
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _send(fd, _inside_namespaces(scratch, user_namespace))
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        os.waitpid(pid, 0)

    return body


def _inside_namespaces(scratch: Path, user_namespace: bool) -> dict[str, str]:
    """As the first process of the new namespaces, exactly what a zygote would do."""
    result = {}
    try:
        mount_private_proc(hide=not user_namespace)
        result["pid_namespace"] = "on"
    except OSError as exc:
        result["pid_namespace"] = _off(f"could not mount a private /proc: {_reason(exc)}")
    try:
        names = [name for _, name in socket.if_nameindex()]
        result["network_namespace"] = (
            "on" if names == ["lo"] else _off(f"interfaces left: {', '.join(names)}")
        )
    except OSError as exc:
        result["network_namespace"] = _off(_reason(exc))
    try:
        mount_scratch(scratch, SCRATCH_QUOTA_BYTES)
        size = os.statvfs(scratch)
        total = size.f_blocks * size.f_frsize
        fits = 0 < total <= SCRATCH_QUOTA_BYTES
        result["scratch_quota"] = "on" if fits else _off("the size limit did not apply")
        linux.umount(str(scratch))
    except OSError as exc:
        result["scratch_quota"] = _off(f"could not mount a tmpfs: {_reason(exc)}")
    result.update(_try_private_root(scratch))
    if user_namespace:
        result.update(_try_capability_drop(root=True))
    return result


def _try_private_root(scratch: Path) -> dict[str, str]:
    """Last in the namespace dry run: it replaces this process's root."""
    import grader

    staging, writable = scratch / "staging", scratch / "writable"
    try:
        staging.mkdir()
        writable.mkdir()
        (staging / "student.py").write_text("ok")
        enter_private_root(scratch / "root", writable, staging)
        alone = os.listdir(scratch.parent) == [scratch.name]  # nothing else of /tmp is there
        hidden = alone and not os.path.exists(grader.__file__)
        usable = (staging / "student.py").read_text() == "ok" and Path(os.__file__).is_file()
        (writable / "probe.txt").write_text("ok")
    except OSError as exc:
        return {"private_root": _off(f"could not build it: {_reason(exc)}")}
    return {"private_root": "on" if hidden and usable else _off("it did not hide the grader")}


def _child_layers_body(abi: int, root: bool) -> Callable[[int, Path], None]:
    def body(fd: int, scratch: Path) -> None:
        result: dict[str, str] = {}
        parent = os.getppid()
        try:
            linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
            nnp = linux.prctl(linux.PR_GET_NO_NEW_PRIVS) == 1
            result["no_new_privs"] = "on" if nnp else _off("it did not stick")
        except (OSError, AttributeError) as exc:
            result["no_new_privs"] = _off(_reason(exc))
        result.update(_try_landlock(scratch, abi, parent))
        result.update(_try_seccomp(parent))
        result.update(_try_capability_drop(root))
        _send(fd, result)

    return body


def _try_landlock(scratch: Path, abi: int, parent: int) -> dict[str, str]:
    layers = ("landlock", "landlock_network", "landlock_signals", "landlock_unix_sockets")
    if abi <= 0:
        return dict.fromkeys(layers, _off("the kernel has no Landlock, or it is disabled"))
    import grader

    listener = _unix_listener(scratch) if abi >= landlock.RESOLVE_UNIX_ABI else None
    # Both layers, as a zygote and its child stack them: the base over the scratch's parent,
    # the child's own over the scratch.
    own = scratch / "own"
    own.mkdir()
    try:
        _enforce_landlock(own, abi, base_layer(scratch, abi, whole_proc=False).build())
    except OSError as exc:
        return dict.fromkeys(layers, _off(f"could not enforce a ruleset: {_reason(exc)}"))
    hidden = _expect_denied(lambda: Path(grader.__file__).read_bytes())
    fenced = _expect_denied(lambda: (scratch / "sibling.txt").write_text("no"))
    try:
        Path(os.__file__).read_bytes()
        (own / "probe.txt").write_text("ok")
        usable = True
    except OSError:
        usable = False
    usable = usable and fenced
    result = {"landlock": "on" if hidden and usable else _off("the ruleset did not behave")}
    if abi < 4:
        result["landlock_network"] = _off(f"needs Landlock ABI 4, the kernel has {abi}")
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            denied = _expect_denied(lambda: tcp.connect(("127.0.0.1", 9)))
        result["landlock_network"] = "on" if denied else _off("a TCP connect got out")
    if abi < 6:
        result["landlock_signals"] = _off(f"needs Landlock ABI 6, the kernel has {abi}")
    else:
        denied = _expect_denied(lambda: os.kill(parent, 0))
        result["landlock_signals"] = "on" if denied else _off("a signal to the parent got out")
    result["landlock_unix_sockets"] = _try_resolve_unix(listener, abi)
    return result


def _unix_listener(scratch: Path) -> socket.socket | None:
    """A pathname socket made before the ruleset, as a host service's socket would be."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(scratch / "listener.sock"))
        server.listen(1)
    except OSError:
        server.close()
        return None
    return server


def _try_resolve_unix(listener: socket.socket | None, abi: int) -> str:
    if abi < landlock.RESOLVE_UNIX_ABI:
        return _off(f"needs Landlock ABI {landlock.RESOLVE_UNIX_ABI}, the kernel has {abi}")
    if listener is None:
        return _off("no socket to try it on")
    with listener, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        denied = _expect_denied(lambda: client.connect(listener.getsockname()))
    return "on" if denied else _off("a connect to a pathname socket got out")


def _try_seccomp(parent: int) -> dict[str, str]:
    if not seccomp.supported():
        return {"seccomp": _off(f"no filter written for {linux.machine()}")}
    try:
        seccomp.install([parent])
    except (OSError, AttributeError) as exc:
        return {"seccomp": _off(_reason(exc))}
    blocked = _expect_denied(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    no_unix = _expect_denied(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    shielded = _expect_denied(lambda: os.kill(parent, 0))
    try:
        for end in socket.socketpair():
            end.close()
        paired = True
    except OSError:
        paired = False
    behaved = blocked and no_unix and shielded and paired
    return {"seccomp": "on" if behaved else _off("the filter did not behave")}


def _try_capability_drop(root: bool) -> dict[str, str]:
    if not root:
        return {"capabilities_dropped": _off("not running as root: none to drop")}
    try:
        linux.drop_capabilities()
        caps = linux.capabilities()
    except (OSError, AttributeError) as exc:
        return {"capabilities_dropped": _off(_reason(exc))}
    left = caps.get("CapEff", 1) or caps.get("CapBnd", 1)
    return {"capabilities_dropped": "on" if not left else _off("some capabilities remained")}


def _privilege_body(fd: int, scratch: Path) -> None:
    import torch

    try:
        _chown_tree(scratch, *nobody())
        _drop_to_nobody()
        for path in (os.__file__, torch.__file__, *readable_roots()):
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb"):
                    pass
        (scratch / "probe.txt").write_text("ok")
        _send(fd, {"privilege_drop": "on"})
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _send(fd, {"privilege_drop": _off(f"nobody cannot use this Python: {_reason(exc)}{where}")})


def _try_pids_cgroup() -> tuple[dict[str, str], cgroups.Hierarchy | None]:
    """Make a cgroup that allows 4 processes, put a throwaway process in it, and check that
    its ninth fork fails."""
    found = cgroups.find()
    if isinstance(found, str):
        return {"pids_cgroup": _off(found)}, None
    try:
        path = cgroups.create(found, limit=4)
    except OSError as exc:
        return {"pids_cgroup": _off(f"cannot make a pids cgroup: {_reason(exc)}")}, None
    try:
        pid = os.fork()
        if pid == 0:
            forked = 0
            try:
                cgroups.enter(path)
                for _ in range(8):
                    if os.fork() == 0:
                        signal.pause()
                        os._exit(0)
                    forked += 1
            except BaseException:
                pass
            os._exit(forked)
        _, status = os.waitpid(pid, 0)
    finally:
        cgroups.destroy(path)
    forked = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    if 0 <= forked < 8:
        return {"pids_cgroup": "on"}, found
    return {"pids_cgroup": _off("the limit did not hold")}, None


def _dry_run(root: bool) -> dict[str, str]:
    """Each layer tried for real in throwaway processes. Without root, the capability drop is
    tried inside the user namespace, where the sandbox is uid 0 with its namespace's powers."""
    status = _in_fork(_namespaces_body(user_namespace=not root))
    namespaced = {k: v for k, v in status.items() if k == "capabilities_dropped"}
    status.update(_in_fork(_child_layers_body(landlock.abi_version(), root)))
    if root:
        status.update(_in_fork(_privilege_body))
    else:
        status["privilege_drop"] = _off("not running as root")
        if status.get("pid_namespace") == "on":
            status.update(namespaced)
    status["non_dumpable"] = "on"
    return status


def _settle(status: dict[str, str], off: set[str], root: bool) -> dict[str, str]:
    """Apply what was switched off by the operator, and the dependencies between layers."""
    settled = {layer: status.get(layer, _off("not detected")) for layer in LAYERS}
    for layer in off & set(LAYERS):
        settled[layer] = _off(f"disabled by {OFF_VARIABLE}")
    for layer in ("scratch_quota", "private_root"):
        if settled["pid_namespace"] != "on" and settled[layer] == "on":
            settled[layer] = _off("needs the pid and mount namespaces")
    if "hidden_files" not in off:
        hiding = [layer for layer in ("landlock", "private_root") if settled[layer] == "on"]
        settled["hidden_files"] = "on" if hiding else _off(_NOT_HIDDEN)
    if settled["privilege_drop"] == "on" and settled["capabilities_dropped"] == "on":
        settled["capabilities_dropped"] = _off("not needed: the privilege drop is on")
    if settled["pids_cgroup"] == "on" and "process_limit" not in off:
        # RLIMIT_NPROC counts per uid, across sandboxes: with a budget of their own it would
        # only let one sandbox's flood starve the next.
        settled["process_limit"] = _off("not needed: pids_cgroup bounds each sandbox")
    elif settled["privilege_drop"] == "on":
        if "process_limit" not in off:
            settled["process_limit"] = "on"
    elif "process_limit" not in off:
        settled["process_limit"] = _off("needs the privilege drop: the limit counts per user")
    if not root and settled["no_new_privs"] != "on":
        for layer in ("landlock", "seccomp"):
            if settled[layer] == "on":
                settled[layer] = _off("needs no_new_privs")
    if settled["landlock"] != "on":
        for layer in ("landlock_network", "landlock_signals", "landlock_unix_sockets"):
            if settled[layer] == "on":
                settled[layer] = _off("needs landlock")
    return settled


@cache
def _cached_plan(disabled: str, unprivileged: bool) -> Plan:
    off = {name.strip() for name in disabled.split(",") if name.strip()}
    if sys.platform != "linux":
        return Plan(status={layer: _off("not Linux") for layer in LAYERS})
    if "all" in off:
        return Plan(status={layer: _off(f"disabled by {OFF_VARIABLE}") for layer in LAYERS})
    root = os.geteuid() == 0 and not unprivileged
    rules = readable_rules() if "landlock" not in off else ()
    digest = plan_cache.key(
        {"off": sorted(off), "root": root, "rules": rules, "protected": protected_paths()}
    )
    remembered = plan_cache.load(digest)
    if remembered is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            found = _plan_from(remembered)
            if _still_in_place(found):
                return found
    detected = _dry_run(root)
    hierarchy = None
    if "pids_cgroup" not in off:
        pids, hierarchy = _try_pids_cgroup()
        detected.update(pids)
    status = _settle(detected, off, root)
    found = Plan(
        status=status,
        landlock_abi=landlock.abi_version() if status["landlock"] == "on" else 0,
        user_namespace=not root and status["pid_namespace"] == "on",
        pids_hierarchy=hierarchy if status["pids_cgroup"] == "on" else None,
    )
    plan_cache.store(digest, _plan_as_data(found))
    return found


def _plan_as_data(found: Plan) -> dict[str, Any]:
    hierarchy = found.pids_hierarchy
    return {
        "status": found.status,
        "landlock_abi": found.landlock_abi,
        "user_namespace": found.user_namespace,
        "pids_hierarchy": None if hierarchy is None else [hierarchy.version, hierarchy.parent],
    }


def _still_in_place(found: Plan) -> bool:
    """What a remembered plan relies on and a cheap look can confirm: the same Landlock ABI,
    and the pids cgroup folder the dry run made (someone may have removed it)."""
    if found.landlock_abi and landlock.abi_version() != found.landlock_abi:
        return False
    hierarchy = found.pids_hierarchy
    return hierarchy is None or os.path.isdir(hierarchy.parent)


def _plan_from(data: dict[str, Any]) -> Plan:
    status = {layer: str(data["status"][layer]) for layer in LAYERS}
    hierarchy = data["pids_hierarchy"]
    return Plan(
        status=status,
        landlock_abi=int(data["landlock_abi"]),
        user_namespace=bool(data["user_namespace"]),
        pids_hierarchy=None if hierarchy is None else cgroups.Hierarchy(*hierarchy),
    )


def plan(unprivileged: bool = False) -> Plan:
    """The layers this machine supports, minus those named in $TORCHGRADE_PROTECTIONS_OFF
    (a comma-separated list of layer names, or `all`).

    `unprivileged` plans as a non-root user would (a user namespace instead of root's powers,
    no privilege drop), so that path can be exercised where the grader runs as root.
    """
    return _cached_plan(os.environ.get(OFF_VARIABLE, ""), unprivileged)


def active(current: Plan | None = None) -> dict[str, str]:
    """Which protections the sandbox has, for the report's environment section."""
    current = current or plan()
    return {**dict.fromkeys(ALWAYS_ON, "on"), **current.status}
