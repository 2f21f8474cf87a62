"""The sandbox: a torch-preloaded zygote that forks one short-lived child per probe call.

The zygote holds no test code and no expected values: only torch, the assignments' probes and
the path of the staged submission. Each child copies the submission into its own scratch
folder, imports the student module, runs one probe and sends back data. The zygote owns the
clock and the process tree: it kills a child at its deadline, caps its output, and reaps every
descendant, including ones that started a new session.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import mmap
import os
import random
import resource
import select
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TextIO

import torch

from grader.sandbox import (
    cgroups,
    lean_torch,
    linux,
    protections,
    seccomp,
    sockets,
    source,
    torch_cache,
    wire,
)
from grader.sandbox.limits import Limits
from grader.sandbox.probing import PROBE_MARK, names_of
from grader.spec import AssignmentSpec

OutcomeStatus = Literal["ok", "timeout", "crashed", "memory", "garbage"]

OUTPUT_HEAD_BYTES = 2048
OUTPUT_TAIL_BYTES = 6144
POLL_SECONDS = 0.02
MAX_RESTARTS = 50
CLOSE_GRACE_SECONDS = 5.0
DRAIN_LIMIT_BYTES = 8 << 20
_CHUNK = 1 << 16
_RING_BYTES = 1 << 20
_NONBLOCK = getattr(os, "SPLICE_F_NONBLOCK", 2)
# The child writes this byte on its result pipe just before student code is first imported.
# What comes after it is the student's to forge; a grader error is believed only without it.
# (An envelope itself starts with the wire's magic, b"TGW1".)
STUDENT_CODE_FOLLOWS = b"\xff"
FORK_RETRY_SECONDS = 5.0
ALLOC_FAILURE_TEXT = (
    "can't allocate memory",
    "cannot allocate memory",
    "not enough memory",
    "out of memory",
)

_PR_SET_PDEATHSIG = linux.PR_SET_PDEATHSIG
_PR_SET_CHILD_SUBREAPER = linux.PR_SET_CHILD_SUBREAPER


@dataclass
class ProbeOutcome:
    """What the zygote saw of one probe call. `value` is the child's decoded envelope."""

    status: OutcomeStatus
    detail: str = ""
    output: str = ""
    output_bytes: int = 0
    duration_s: float = 0.0
    sandbox_lost: bool = False
    notices: list[str] = field(default_factory=list)
    phase: str = ""
    # Whether the child got as far as student code, as the zygote saw it (not the child's word).
    student_code_ran: bool = False
    value: Any = None


@dataclass
class _Spool:
    """What a child writes on one pipe, moved into an anonymous file with splice(2), so that it
    never enters the zygote's memory: every later child is a copy of that memory, and could
    read there what an earlier probe was given or returned, a hidden check's inputs say.

    It keeps the first `head_limit` bytes and, when `tail_limit` is set, the last `tail_limit`
    bytes after those (through a ring in the file, larger than the tail so that a flood moves
    in big splices); it counts everything and discards the rest.
    """

    fd: int
    discard: int
    head_limit: int
    tail_limit: int = 0
    total: int = 0
    discarding: bool = False

    @property
    def _ring(self) -> int:
        return max(self.tail_limit, _RING_BYTES) if self.tail_limit else 0

    def take(self, source: int) -> int:
        """Move what `source` holds now; 0 at end of file. Raises BlockingIOError if empty."""
        room, offset = 0, 0
        if not self.discarding and self.total < self.head_limit:
            room, offset = self.head_limit - self.total, self.total
        elif not self.discarding and self._ring:
            position = (self.total - self.head_limit) % self._ring
            room, offset = self._ring - position, self.head_limit + position
        if room:
            moved = os.splice(source, self.fd, min(room, _CHUNK), None, offset, _NONBLOCK)
        else:
            moved = os.splice(source, self.discard, _CHUNK, None, None, _NONBLOCK)
        self.total += moved
        return moved

    def parts(self, skip: int = 0) -> list[tuple[int, int, int]]:
        """The kept bytes, in order, as (fd, offset, length) for `send_message_from_files`;
        the head and the tail apart (the bytes cut between them are not kept)."""
        head = min(self.total, self.head_limit)
        found = [(self.fd, skip, head - skip)]
        rest = self.total - head
        tail = min(rest, self.tail_limit)
        if tail:
            end = rest % self._ring if rest > self._ring else rest  # where the ring stopped
            if end >= tail:
                found.append((self.fd, self.head_limit + end - tail, tail))
            else:
                wrapped = tail - end
                found.append((self.fd, self.head_limit + self._ring - wrapped, wrapped))
                found.append((self.fd, self.head_limit, end))
        return [part for part in found if part[2] > 0]

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)
        self.total, self.discarding = 0, False


def _anonymous_file(name: str, folder: Path) -> int:
    """A memfd, or where there is none an unlinked file in `folder`: no child can open it by
    name, and each child closes it before any student code runs."""
    with contextlib.suppress(AttributeError, OSError):
        return os.memfd_create(f"torchgrade-{name}")
    descriptor, path = tempfile.mkstemp(prefix=f"{name}-", dir=folder)
    os.unlink(path)
    return descriptor


@dataclass
class _CallFiles:
    """The zygote's three files for a call's data: the inputs the judge sent, and the child's
    output and result. Emptied after every call."""

    inputs: int
    output: _Spool
    result: _Spool
    discard: int

    @classmethod
    def make(cls, folder: Path) -> _CallFiles:
        discard = os.open(os.devnull, os.O_WRONLY)
        output = _Spool(
            _anonymous_file("output", folder), discard, OUTPUT_HEAD_BYTES, OUTPUT_TAIL_BYTES
        )
        result = _Spool(_anonymous_file("result", folder), discard, wire.MAX_PAYLOAD_BYTES + 2)
        return cls(_anonymous_file("inputs", folder), output, result, discard)

    def reset(self) -> None:
        os.ftruncate(self.inputs, 0)
        self.output.reset()
        self.result.reset()


def output_text(head: bytes, tail: bytes, total: int, scratch: str = "") -> str:
    """A probe's captured output as the judge shows it: the start and the end, with what was
    cut between them counted, and the child's scratch folder left out of paths."""
    text = head.decode("utf-8", "replace")
    skipped = total - len(head) - len(tail)
    if skipped > 0:
        text += f"\n[... {skipped} bytes of output cut ...]\n"
    text += tail.decode("utf-8", "replace")
    return text.replace(f"{scratch}{os.sep}", "") if scratch else text


def load_probes(spec: AssignmentSpec) -> ModuleType:
    """Import an assignment's probes module under a private name."""
    module_name = f"torchgrade_probes_{spec.name}"
    loader_spec = importlib.util.spec_from_file_location(module_name, spec.probes_path)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"cannot load {spec.probes_path}")
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module


_warmed = False


def warm_up() -> None:
    """Pay torch's first-use costs once per process tree, before the zygote forks any child,
    instead of in every child. A process forked from a warmed one returns at once."""
    global _warmed
    if _warmed:
        return
    lean_torch.ensure()
    model = torch.nn.Linear(3, 2)
    for optimizer in (
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        torch.optim.Adam(model.parameters(), lr=0.1),
    ):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.ones(4, 3)), torch.zeros(4, 2))
        loss.backward()
        optimizer.step()
    torch.nn.functional.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]))
    torch.nn.functional.binary_cross_entropy(torch.full((2,), 0.5), torch.ones(2))
    wire.decode(wire.encode({"x": torch.ones(2), "n": [1, 2.0, "s", None]}))
    _warmed = True


# --------------------------------------------------------------------------- child side


def _student_frames(tb: Any, scratch: str) -> list[tuple[str, int, str, str]]:
    frames = []
    for frame in traceback.extract_tb(tb):
        if frame.filename.startswith(scratch + os.sep):
            relative = os.path.relpath(frame.filename, scratch)
            frames.append((relative, frame.lineno or 0, frame.name, (frame.line or "").strip()))
    return frames


def _safe_str(exc: BaseException) -> str:
    try:
        text = str(exc)
    except BaseException:
        text = "<the exception's message could not be shown>"
    return text[:2000]


def _describe_exception(exc: BaseException, where: str, scratch: str) -> dict[str, Any]:
    kind = type(exc).__name__
    message = _safe_str(exc)
    if isinstance(exc, SystemExit):
        message = f"the code called exit({exc.code!r})"
    lowered = message.lower()
    memory = isinstance(exc, MemoryError) or any(t in lowered for t in ALLOC_FAILURE_TEXT)
    innermost = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    described = {
        "type": kind,
        "message": message,
        "exit_code": repr(exc.code) if isinstance(exc, SystemExit) else "",
        "where": where,
        "memory": memory,
        "frames": _student_frames(exc.__traceback__, scratch),
        "raised_by_student": bool(innermost) and innermost[0].filename.startswith(scratch + os.sep),
        "sandbox_denied": sockets.denied_by_sandbox(exc),
    }
    described.update(_missing_name(exc))
    return described


def _missing_name(exc: BaseException) -> dict[str, Any]:
    """For an AttributeError: the missing name, who lacked it, and the names it does have, as
    data, so the judge can point at a near miss. Empty for anything else."""
    if not isinstance(exc, AttributeError):
        return {}
    try:
        owner, wanted = exc.obj, exc.name
    except Exception:
        owner, wanted = None, None
    if owner is None:
        # nn.Module.__getattr__ raises without setting obj and name; its frame holds both.
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is not None and tb.tb_frame.f_code.co_name == "__getattr__":
            local = tb.tb_frame.f_locals
            owner, wanted = local.get("self"), local.get("name")
    if not isinstance(wanted, str) or owner is None:
        return {}
    if isinstance(owner, ModuleType):
        owner_name, owner_kind = str(getattr(owner, "__name__", "")), "module"
    elif isinstance(owner, type):
        owner_name, owner_kind = owner.__name__, "class"
    else:
        owner_name, owner_kind = type(owner).__name__, "instance"
    return {
        "missing": wanted[:100],
        "owner": owner_name[:100],
        "owner_kind": owner_kind,
        "names": names_of(owner),
    }


def _send_envelope(fd: int, envelope: dict[str, Any]) -> None:
    try:
        data = wire.encode(envelope)
    except Exception as exc:  # the probe returned something that is not plain data
        data = wire.encode(
            {
                "ok": False,
                "error": {
                    "type": "WireError",
                    "message": str(exc),
                    "where": "result",
                    "memory": False,
                    "frames": [],
                },
            }
        )
    with contextlib.suppress(OSError):
        wire._write_all(fd, data)


def _standard_streams() -> tuple[TextIO, TextIO, TextIO]:
    """Text streams on fds 0, 1 and 2, line-buffered so that output printed before a crash is
    still captured. The zygote makes them once and never uses them; each child binds them
    after pointing those fds at its own pipes, so no child builds its own."""
    out, err = (
        open(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
        for fd in (1, 2)
    )
    return open(0, encoding="utf-8", closefd=False), out, err


def _rebind_standard_streams(streams: tuple[TextIO, TextIO, TextIO] | None = None) -> None:
    """Point sys.stdin/stdout/stderr at fds 0, 1 and 2 (now the capture pipe). The inherited
    objects may write elsewhere: an in-memory buffer under click's CliRunner, a capture file
    under pytest."""
    sys.stdin, sys.stdout, sys.stderr = streams or _standard_streams()
    for name in ("stdout", "stderr"):
        setattr(sys, f"__{name}__", getattr(sys, name))


def submission_entries(staging: Path) -> tuple[tuple[str, bool], ...]:
    """The staged submission's folders and files, as (relative path, is a folder), parents
    first. Listed once per zygote, so that no child walks the tree again."""
    entries: list[tuple[str, bool]] = []
    for directory, folders, files in os.walk(staging):
        relative = os.path.relpath(directory, staging)
        for name in sorted(folders):
            entries.append((os.path.normpath(os.path.join(relative, name)), True))
        for name in sorted(files):
            entries.append((os.path.normpath(os.path.join(relative, name)), False))
    return tuple(entries)


def copy_submission(staging: Path, entries: tuple[tuple[str, bool], ...], scratch: Path) -> None:
    """Child side: a fresh, writable copy of the submission in the child's scratch folder."""
    for relative, is_folder in entries:
        target = os.path.join(scratch, relative)
        if is_folder:
            os.mkdir(target, 0o755)
            continue
        source_fd = os.open(os.path.join(staging, relative), os.O_RDONLY)
        try:
            target_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                size, offset = os.fstat(source_fd).st_size, 0
                while offset < size:
                    sent = os.sendfile(target_fd, source_fd, offset, size - offset)
                    if not sent:
                        break
                    offset += sent
            finally:
                os.close(target_fd)
        finally:
            os.close(source_fd)


def _child_main(
    request: dict[str, Any],
    inputs_fd: int,
    inputs_length: int,
    probes: ModuleType,
    spec: AssignmentSpec,
    staging: Path,
    entries: tuple[tuple[str, bool], ...],
    scratch: Path,
    out_w: int,
    result_w: int,
    limits: Limits,
    baseline_data: int,
    plan: protections.Plan,
    protected_pids: tuple[int, ...],
    notice_w: int = -1,
    phase: mmap.mmap | None = None,
    landlock_base: int = -1,
    streams: tuple[TextIO, TextIO, TextIO] | None = None,
) -> None:
    """Runs in the forked child. Never returns: the child always ends in `os._exit`."""
    code = 0
    try:
        os.setsid()
        inputs = _read_inputs(inputs_fd, inputs_length)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        keep = sorted({0, 1, 2, result_w, notice_w, landlock_base} - {-1})
        for low, high in zip(keep, [*keep[1:], 1 << 16], strict=True):
            os.closerange(low + 1, high)
        _rebind_standard_streams(streams)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        copy_submission(staging, entries, scratch)
        try:
            protections.enter_child(
                scratch, limits, baseline_data, plan, protected_pids, landlock_base
            )
        except Exception as exc:
            _send_envelope(result_w, _grader_error(f"a sandbox protection failed: {exc}"))
            return
        if notice_w >= 0:
            sockets.watch(notice_w)
        probe_fn = getattr(probes, request["probe"], None)
        if probe_fn is None or not getattr(probe_fn, PROBE_MARK, False):
            _send_envelope(result_w, _grader_error(f"no probe named {request['probe']!r}"))
            return
        os.write(result_w, STUDENT_CODE_FOLLOWS)
        os.chdir(scratch)
        source.source_only_imports(str(scratch))
        sys.path.append(str(scratch))
        seed = int(request["seed"])
        # The CPU generator alone: torch.manual_seed also visits every accelerator backend,
        # which costs a fresh fork about 2 ms, and probes run on the CPU.
        torch.default_generator.manual_seed(seed)
        random.seed(seed)
        envelope = _run_probe(probe_fn, inputs, spec, str(scratch), phase)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        _send_envelope(result_w, envelope)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _read_inputs(fd: int, length: int) -> bytes:
    chunks, offset = [], 0
    while offset < length:
        chunk = os.pread(fd, length - offset, offset)
        if not chunk:
            raise EOFError("the inputs file is shorter than announced")
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _grader_error(message: str) -> dict[str, Any]:
    """The grader's own failure, for the judge to report as an error, not a failed check. Only
    believed when no student code had run yet (`STUDENT_CODE_FOLLOWS`): student code can send
    an envelope of this shape too."""
    error = {"type": "GraderError", "where": "probe", "memory": False, "frames": []}
    return {"ok": False, "error": {**error, "message": message}}


def _run_probe(
    probe_fn: Any,
    inputs: bytes,
    spec: AssignmentSpec,
    scratch: str,
    phase: mmap.mmap | None = None,
) -> dict[str, Any]:
    arguments = wire.decode(inputs) if inputs else {}
    try:
        path = os.path.join(scratch, spec.student_file)
        module_spec = importlib.util.spec_from_file_location(
            spec.module_name, path, loader=source.SourceOnlyLoader(spec.module_name, path)
        )
        assert module_spec is not None and module_spec.loader is not None
        student = importlib.util.module_from_spec(module_spec)
        sys.modules[spec.module_name] = student
        module_spec.loader.exec_module(student)
    except BaseException as exc:
        return {"ok": False, "error": _describe_exception(exc, "import", scratch)}
    if phase is not None:
        phase[0] = 1  # imported: a timeout from here on is the call's, not the import's
    try:
        value = probe_fn(student, **arguments)
        return {"ok": True, "value": wire.plain(value)}
    except BaseException as exc:
        return {"ok": False, "error": _describe_exception(exc, "call", scratch)}


# --------------------------------------------------------------------------- zygote side


def _children_of(pid: int | str) -> list[int]:
    found: list[int] = []
    task_dir = f"/proc/{pid}/task"
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"{task_dir}/{tid}/children") as handle:
                found.extend(int(p) for p in handle.read().split())
        except OSError:
            continue
    return found


def reap_descendants() -> None:
    """Kill and reap every process below this one (they were reparented here: subreaper).

    Reads /proc/self, never /proc/<getpid()>: as pid 1 of a pid namespace, getpid() names a
    different process in any /proc but the namespace's own.
    """
    for _ in range(200):
        children = _children_of("self")
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not children:
            return
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)


def _fork_when_room() -> int:
    """`os.fork`, waiting a little while the last probe's processes finish dying: under a
    per-sandbox process limit a flood's last members may still hold the budget."""
    give_up = time.monotonic() + FORK_RETRY_SECONDS
    while True:
        try:
            return os.fork()
        except BlockingIOError:
            if time.monotonic() > give_up:
                raise
            reap_descendants()
            time.sleep(0.01)


def _rss_bytes(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * resource.getpagesize()
    except (OSError, IndexError, ValueError):
        return 0


def _vm_data_bytes() -> int:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _ancestors() -> set[int]:
    """This process's ancestors that it can see (none, from inside a pid namespace)."""
    found: set[int] = set()
    pid = os.getppid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            pid = int(linux.stat_fields(str(pid))[1])
        except (OSError, IndexError, ValueError):
            break
    return found


def _own_threads() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return {os.getpid()}


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _shell_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal number."""
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {_signal_name(os.WTERMSIG(status))}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def force_rmtree(path: Path) -> None:
    """Remove a tree that a sandbox left behind, read-only folders in it included. A tree that
    is already gone is no error, and nothing outside the tree is ever made writable: not the
    folder it lies in (that may be /tmp), not what a symlink in it points to."""
    root = os.path.abspath(path)

    def retry(func: Any, target: str, exc: Any) -> None:
        error = exc[1] if isinstance(exc, tuple) else exc
        if isinstance(error, FileNotFoundError):
            return
        with contextlib.suppress(OSError):
            parent = os.path.dirname(target)
            if parent == root or parent.startswith(root + os.sep):
                os.chmod(parent, 0o700)
            if not os.path.islink(target):
                os.chmod(target, 0o700)
            func(target)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:  # pragma: no cover
        shutil.rmtree(path, onerror=lambda f, p, e: retry(f, p, e))


class _Zygote:
    def __init__(
        self,
        specs: list[AssignmentSpec],
        probes: dict[str, ModuleType],
        staging: Path,
        scratch_root: Path,
        limits: Limits,
        plan: protections.Plan,
    ) -> None:
        self.specs = {s.name: s for s in specs}
        self.probes = probes
        self.staging = staging
        self.entries = submission_entries(staging)
        self.limits = limits
        self.plan = plan
        self.scratch_root = scratch_root
        self.counter = 0
        self.landlock_base = -1  # the zygote's base Landlock layer, once it is built
        self.protected = {os.getpid(), *_ancestors(), *_own_threads()}
        self.streams = _standard_streams()
        self.files: _CallFiles | None = None

    def serve(self, req_r: int, resp_w: int) -> None:
        files = self.files = _CallFiles.make(self.scratch_root)
        while True:
            try:
                request, length = wire.recv_header(req_r)
                wire.splice_exactly(req_r, files.inputs, length, target_offset=0)
            except (EOFError, OSError, wire.WireError):
                return
            if request.get("op") == "stop":
                return
            header, parts = self.run(request, length)
            header["seq"] = request.get("seq")
            wire.send_message_from_files(resp_w, header, parts)
            files.reset()

    def _protected_for(self, request: dict[str, Any]) -> tuple[int, ...]:
        protected = set(self.protected)
        caller = request.get("caller")
        if isinstance(caller, int) and not self.plan.on("pid_namespace"):
            protected.add(caller)
        return tuple(sorted(protected))

    def run(
        self, request: dict[str, Any], inputs_length: int
    ) -> tuple[dict[str, Any], list[tuple[int, int, int]]]:
        """One probe call in a fresh child: the answer's header, and where its payload lies
        (the output, then the result) in the call files."""
        assert self.files is not None
        self.counter += 1
        scratch = self.scratch_root / f"probe-{self.counter}"
        protections.prepare_scratch(scratch)
        spec = self.specs[request["assignment"]]
        protected = self._protected_for(request)
        if self.plan.on("seccomp"):
            seccomp.compiled(protected)  # built here once, so no child pays for it
        out_r, out_w = os.pipe()
        result_r, result_w = os.pipe()
        notice_r, notice_w = os.pipe()
        # One shared byte: the child sets it once the student module has imported, so a
        # timeout can say whether the import itself hung. Only wording depends on it. A new
        # page for each call: the child may write all over it.
        phase = mmap.mmap(-1, 1)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        baseline_data = _vm_data_bytes()
        started = time.monotonic()
        pid = _fork_when_room()
        if pid == 0:
            os.close(out_r)
            os.close(result_r)
            os.close(notice_r)
            _child_main(
                request,
                self.files.inputs,
                inputs_length,
                self.probes[spec.name],
                spec,
                self.staging,
                self.entries,
                scratch,
                out_w,
                result_w,
                self.limits,
                baseline_data,
                self.plan,
                protected,
                notice_w,
                phase,
                self.landlock_base,
                self.streams,
            )
        os.close(out_w)
        os.close(result_w)
        os.close(notice_w)
        try:
            header = self._supervise(pid, out_r, result_r, started, float(request["timeout"]))
            header["notices"] = sockets.notices(notice_r, self.files.discard)
            header["scratch"] = str(scratch)
            if header["status"] == "timeout":
                header["phase"] = "call" if phase[0] else "import"
            return header, self._payload(header)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            reap_descendants()
            os.close(out_r)
            os.close(result_r)
            os.close(notice_r)
            phase.close()
            force_rmtree(scratch)

    def _payload(self, header: dict[str, Any]) -> list[tuple[int, int, int]]:
        """The output's head and tail, then the result when there is one to decode."""
        assert self.files is not None
        output = self.files.output.parts()
        header["output_parts"] = [length for _, _, length in output]
        if header["status"] != "ok":
            return output
        skip = 1 if header["student_code_ran"] else 0
        return output + self.files.result.parts(skip)

    def _supervise(
        self, pid: int, out_r: int, result_r: int, started: float, timeout: float
    ) -> dict[str, Any]:
        assert self.files is not None
        output, result = self.files.output, self.files.result
        selector = selectors.DefaultSelector()
        for fd, spool in ((out_r, output), (result_r, result)):
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ, spool)
        deadline = started + timeout
        memory_cap = _rss_bytes("self") + self.limits.memory_bytes
        status: int | None = None
        verdict: OutcomeStatus | None = None
        detail = ""
        limit = wire.MAX_PAYLOAD_BYTES + 1  # with the byte that says student code ran
        while verdict is None:
            for key, _ in selector.select(POLL_SECONDS):
                self._read(selector, key)
            if result.total > limit:
                verdict, detail = "garbage", "returned more data than allowed"
                break
            waited, raw = os.waitpid(pid, os.WNOHANG)
            if waited:
                # The child wrote everything before it exited; descendants it left behind may
                # still hold the pipes open, so take what is buffered now instead of waiting
                # for end-of-file.
                status = raw
                self._drain(selector)
                break
            if time.monotonic() > deadline:
                verdict, detail = "timeout", f"did not finish within {timeout:g} s"
            elif _rss_bytes(pid) > memory_cap:
                verdict, detail = "memory", "memory limit exceeded"
        if verdict is not None:
            result.discarding = True
            self._drain(selector)
        selector.close()
        duration = time.monotonic() - started
        student_code_ran = bool(result.total) and (
            os.pread(result.fd, 1, 0) == STUDENT_CODE_FOLLOWS
        )
        returned = result.total - (1 if student_code_ran else 0)
        if verdict is None and status is not None and not returned:
            verdict, detail = "crashed", _describe_exit(status)
        if verdict is None and returned > wire.MAX_PAYLOAD_BYTES:
            verdict, detail = "garbage", "returned more data than allowed"
        return {
            "status": verdict or "ok",
            "detail": detail,
            "output_bytes": output.total,
            "duration_s": duration,
            "student_code_ran": student_code_ran,
        }

    @staticmethod
    def _read(selector: selectors.BaseSelector, key: selectors.SelectorKey) -> int:
        try:
            moved = key.data.take(key.fd)
        except BlockingIOError:
            return 0
        if not moved:
            selector.unregister(key.fd)
        return moved

    def _drain(self, selector: selectors.BaseSelector) -> None:
        """Take what the pipes hold right now, bounded, in case something keeps writing."""
        budget = DRAIN_LIMIT_BYTES
        while budget > 0:
            ready = selector.select(0)
            if not ready:
                return
            progress = 0
            for key, _ in ready:
                progress += self._read(selector, key)
            if not progress and not selector.get_map():
                return
            budget -= max(progress, 1)


def _zygote_main(zygote: _Zygote, plan: protections.Plan, req_r: int, resp_w: int) -> None:
    """The zygote: pid 1 of its namespace where that is available. Exit 0 means "asked to stop"."""
    code = 0
    try:
        linux.try_prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.try_prctl(_PR_SET_CHILD_SUBREAPER, 1)
        protections.setup_zygote(plan, zygote.scratch_root, zygote.staging)
        zygote.landlock_base = protections.zygote_layer(plan, zygote.scratch_root)
        if plan.on("capabilities_dropped"):
            # A saving, not the protection: each child still drops every capability itself,
            # and fails closed if it cannot, so a zygote that cannot do it here goes on.
            with contextlib.suppress(OSError):
                linux.drop_bounding_set()
        zygote.protected |= {os.getpid(), *_own_threads()}
        # What the children touch, they copy: keep the collector off the inherited heap.
        # (A freeze moves the generations aside without visiting an object; a collection
        # here would write to every object's header and copy the whole heap.)
        gc.freeze()
        try:
            zygote.serve(req_r, resp_w)
        finally:
            reap_descendants()
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


def _holder_main(zygote: _Zygote, plan: protections.Plan, req_r: int, resp_w: int) -> None:
    """One zygote incarnation: enter fresh namespaces, run the zygote, reap what it leaves.

    The exit code is 0 when the zygote stopped on request, else 128 + the signal that killed it
    (or its own non-zero code), for the nursery to report.
    """
    code = 70
    try:
        linux.try_prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        linux.try_prctl(_PR_SET_CHILD_SUBREAPER, 1)
        protections.enter_namespaces(plan.namespace_flags, plan.user_namespace)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _zygote_main(zygote, plan, req_r, resp_w)
        _, status = os.waitpid(pid, 0)
        reap_descendants()
        code = _shell_code(status)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _describe_death(code: int) -> str:
    if code > 128:
        return _signal_name(code - 128)
    return f"exit code {code}"


def _nursery_main(
    specs: list[AssignmentSpec],
    staging: Path,
    limits: Limits,
    plan: protections.Plan,
    req_r: int,
    resp_w: int,
    cgroup: str | None = None,
) -> None:
    """Forked from the CLI before the judge exists, so it holds no test code. It loads the
    probes and warms torch once, then forks one zygote after another: when a zygote dies
    (something killed it), the judge's pending call is answered "died" and a fresh zygote,
    in fresh namespaces, takes over the same pipes."""
    code = 0
    scratch_root: Path | None = None
    try:
        linux.try_prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if plan.pids_hierarchy is not None:
            if cgroup is None:
                raise OSError(0, "the sandbox's pids cgroup could not be made")
            cgroups.enter(cgroup)
        if plan.on("non_dumpable"):
            protections.harden_trusted_process()
        if plan.on("landlock"):
            protections.readable_rules()
        probes = {s.name: load_probes(s) for s in specs}
        warm_up()
        scratch_root = Path(tempfile.mkdtemp(prefix="torchgrade-run-"))
        os.chmod(scratch_root, 0o711)
        zygote = _Zygote(specs, probes, staging, scratch_root, limits, plan)
        for incarnation in range(MAX_RESTARTS + 1):
            zygote.scratch_root = scratch_root / f"sandbox-{incarnation}"
            zygote.scratch_root.mkdir(mode=0o711)
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            pid = os.fork()
            if pid == 0:
                _holder_main(zygote, plan, req_r, resp_w)
            _, status = os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                force_rmtree(zygote.scratch_root)
            died = _shell_code(status)
            if died == 0:
                break
            wire.send_message(resp_w, {"op": "died", "detail": _describe_death(died)})
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        if scratch_root is not None:
            with contextlib.suppress(OSError):
                force_rmtree(scratch_root)
        os._exit(code)


def _outcome(header: dict[str, Any], payload: bytes) -> ProbeOutcome:
    """The zygote's answer as a `ProbeOutcome`: its payload is the output's head and tail
    (their lengths in `output_parts`), then the child's result envelope."""
    parts = header.pop("output_parts", [])
    scratch = str(header.pop("scratch", ""))
    lengths = [int(n) for n in parts if isinstance(n, int) and n >= 0][:2]
    head_length = lengths[0] if lengths else 0
    tail_length = lengths[1] if len(lengths) > 1 else 0
    head, tail = payload[:head_length], payload[head_length : head_length + tail_length]
    total = int(header.get("output_bytes", 0))
    header["output"] = output_text(head, tail, total, scratch)
    outcome = ProbeOutcome(**header)
    if outcome.status == "ok":
        try:
            outcome.value = wire.decode(payload[head_length + tail_length :])
        except wire.WireError as exc:
            outcome.status, outcome.detail = "garbage", str(exc)
    return outcome


class Sandbox:
    """The judge's handle on the sandbox: send a probe request, get a `ProbeOutcome` back."""

    def __init__(
        self,
        specs: list[AssignmentSpec],
        staging: Path,
        limits: Limits | None = None,
        plan: protections.Plan | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.plan = plan if plan is not None else protections.plan()
        torch_cache.private_torch_cache()
        self.staging = staging
        self._seq = 0
        self.cgroup: str | None = None
        if self.plan.pids_hierarchy is not None:
            with contextlib.suppress(OSError):
                self.cgroup = cgroups.create(self.plan.pids_hierarchy)
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self._req_w)
            os.close(self._resp_r)
            _nursery_main(specs, staging, self.limits, self.plan, req_r, resp_w, self.cgroup)
        os.close(req_r)
        os.close(resp_w)

    def call(
        self, assignment: str, probe: str, inputs: dict[str, Any], seed: int, timeout: float
    ) -> ProbeOutcome:
        self._seq += 1
        request = {
            "op": "probe",
            "assignment": assignment,
            "probe": probe,
            "seed": seed,
            "timeout": timeout,
            "seq": self._seq,
            "caller": os.getpid(),
        }
        try:
            wire.send_message(self._req_w, request, wire.encode(inputs) if inputs else b"")
            while True:
                header, payload = wire.recv_message(self._resp_r)
                if header.get("op") == "died":
                    detail = str(header.get("detail"))
                    return ProbeOutcome(status="crashed", detail=detail, sandbox_lost=True)
                if header.pop("seq", None) == self._seq:
                    break
        except (OSError, EOFError, wire.WireError) as exc:
            return ProbeOutcome(status="crashed", detail=f"the sandbox stopped answering ({exc})")
        return _outcome(header, payload)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            wire.send_message(self._req_w, {"op": "stop"})
        for fd in (self._req_w, self._resp_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            self._wait_for_nursery()
        finally:
            self._release_cgroup()

    def _wait_for_nursery(self) -> None:
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        exited = linux.exit_descriptor(self.pid)
        try:
            while time.monotonic() < deadline:
                try:
                    pid, _ = os.waitpid(self.pid, os.WNOHANG)
                except ChildProcessError:
                    return
                if pid:
                    return
                if exited is None:
                    time.sleep(0.01)
                else:
                    select.select([exited], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            if exited is not None:
                os.close(exited)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def _release_cgroup(self) -> None:
        """Kill anything that outlived the nursery, then remove the sandbox's cgroup."""
        if self.cgroup is not None:
            cgroups.destroy(self.cgroup)
            self.cgroup = None
