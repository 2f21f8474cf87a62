"""Preloaded grading workers: import torch once, then fork one process per submission.

A worker is a fresh interpreter (`python -I -m grader.batch.workers FD`) that warms itself once
(`preload.warm_worker`) and then serves jobs over a Unix socket. For each job it forks a
grading process, which runs `engine.grade` and so forks that submission's own sandbox zygote
and judge. Nothing a submission does outlives its fork, so no state passes between students.

The worker never sees a report. The client sends, with each job, the write end of a fresh
pipe (SCM_RIGHTS); the grading process writes the report there and exits. A worker's memory,
which every later sandbox is forked from, therefore never holds another student's results or
any expected value: the worker imports no check module (only the judge, forked per submission,
does).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

READY = "ready"
DONE = "done"
FRAME = struct.Struct(">Q")
MAX_MESSAGE = 1 << 16
MAX_REPORT_BYTES = 256 << 20
BACKSTOP_GRACE_SECONDS = 120.0
ORPHAN_SWEEPS = 5
ORPHAN_SWEEP_SECONDS = 0.1
_PR_SET_PDEATHSIG = 1
SCRATCH_PREFIX = "torchgrade-worker-"
SCRATCH_VARIABLE = "TORCHGRADE_WORKER_SCRATCH"
_PR_SET_CHILD_SUBREAPER = 36


class WorkerFailed(Exception):
    """A worker died before it was ready: the installation, not a submission, is at fault."""


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def reap_orphans(keep: set[int]) -> None:
    """Kill and reap this process's children other than `keep`.

    A worker that dies can leave a probe child behind (one spinning in a student's infinite
    loop, say). With this process marked a child subreaper, such orphans are re-parented here
    instead of to init, so the client can end them.
    """
    children: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/children") as handle:
                children.extend(int(p) for p in handle.read().split())
    for pid in children:
        if pid in keep:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def become_subreaper(on: bool = True) -> None:
    _prctl(_PR_SET_CHILD_SUBREAPER, int(on))


@dataclass(frozen=True)
class Job:
    """One submission to grade: where its folder is, and the grading options."""

    student: str
    folder: str
    assignments: tuple[str, ...] = ()
    timeout: float | None = None
    seed: int = 0
    lang: str = "en"
    memory_limit: int | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Job:
        raw = json.loads(data)
        raw["assignments"] = tuple(raw["assignments"])
        return cls(**raw)


@dataclass
class Outcome:
    """The report JSON when grading finished, else why it did not."""

    report_json: str | None = None
    error: str = ""


# --------------------------------------------------------------------------- worker side


def _grade_child(job: Job, result_fd: int, control: socket.socket, scratch: str) -> None:
    """The per-submission process. Never returns. Its temp files (staging, the sandbox's run
    folder, the judge's) all go to `scratch`, which the worker removes once it has exited,
    however it ended."""
    code = 0
    try:
        control.close()
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        os.environ["TMPDIR"] = tempfile.tempdir = scratch
        from grader import spec
        from grader.engine import GradeOptions, grade

        specs = spec.select(list(job.assignments))
        options = GradeOptions.build(job.timeout, job.seed, job.lang, job.memory_limit)
        report = grade(Path(job.folder), specs, options)
        data = report.model_dump_json().encode()
        with open(result_fd, "wb", closefd=True) as out:
            out.write(FRAME.pack(len(data)) + data)
    except BaseException:
        traceback.print_exc()
        code = 70
    finally:
        os._exit(code)


def _backstop(job: Job) -> float:
    from grader import spec
    from grader.engine import GradeOptions, _judge_deadline

    specs = spec.select(list(job.assignments))
    return _judge_deadline(specs, GradeOptions(timeout=job.timeout)) + BACKSTOP_GRACE_SECONDS


def _wait(pid: int, control: socket.socket, deadline: float) -> tuple[str, str]:
    """Wait for the grading process; kill it at the deadline or when the client goes away."""
    from grader.sandbox import linux

    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    exited = linux.exit_descriptor(pid)
    if exited is not None:
        selector.register(exited, selectors.EVENT_READ, "exited")
    try:
        while True:
            waited, status = os.waitpid(pid, os.WNOHANG)
            if waited:
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                    return "ok", ""
                return "crashed", "the grading process " + _describe_exit(status)
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return "crashed", "the grading process took too long and was stopped"
            ready = [key for key, _ in selector.select(0.05) if key.data != "exited"]
            if ready:
                try:
                    gone = control.recv(MAX_MESSAGE, socket.MSG_PEEK) == b""
                except OSError:
                    gone = True
                if gone:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    return "gone", ""
                time.sleep(0.05)
    finally:
        selector.close()
        if exited is not None:
            os.close(exited)


def serve(control_fd: int) -> None:
    """The worker's main loop: warm up, then grade each job the client sends. However it
    ends (the client gone mid-way, a send that fails), nothing of it is left behind."""
    from grader import preload
    from grader.sandbox.zygote import reap_descendants

    control = socket.socket(fileno=control_fd)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        preload.warm_worker()
        control.send(json.dumps({"op": READY, "pid": os.getpid()}).encode())
        _grade_jobs(control)
    except OSError:
        pass  # the client went away: only the cleanup below is left to do
    finally:
        reap_descendants()
        _remove_own_scratch()


def _grade_jobs(control: socket.socket) -> None:
    from grader.sandbox.zygote import force_rmtree, reap_descendants

    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, MAX_MESSAGE, 1)
        except OSError:
            return
        if not message or not fds:
            return
        job = Job.from_json(message)
        result_fd = fds[0]
        # Recreated if something removed it meanwhile (a /tmp cleaner): a job must not fail so.
        os.makedirs(tempfile.gettempdir(), mode=0o700, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="job-")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        pid = os.fork()
        if pid == 0:
            _grade_child(job, result_fd, control, scratch)
        os.close(result_fd)
        status, detail = _wait(pid, control, time.monotonic() + _backstop(job))
        reap_descendants()
        with contextlib.suppress(OSError):
            force_rmtree(Path(scratch))
        if status == "gone":
            return
        control.send(json.dumps({"op": DONE, "status": status, "detail": detail}).encode())


def _remove_own_scratch() -> None:
    """A worker whose client is gone (killed, say) removes the temp folder the client made for
    it, since that client cannot. Only that folder: the one named in the environment, which is
    also this process's temp folder and carries the worker prefix."""
    from grader.sandbox.zygote import force_rmtree

    own = os.environ.get(SCRATCH_VARIABLE, "")
    folder = Path(own)
    if own and str(folder) == tempfile.gettempdir() and folder.name.startswith(SCRATCH_PREFIX):
        with contextlib.suppress(OSError):
            force_rmtree(folder)


# --------------------------------------------------------------------------- client side


def _worker_command(control_fd: int) -> list[str]:
    return [sys.executable, "-I", "-m", "grader.batch.workers", str(control_fd)]


class WorkerProcess:
    """The client's handle on one worker: start it, hand it jobs, collect the outcomes."""

    def __init__(self, log: IO[bytes] | None = None) -> None:
        from grader.spec import ASSIGNMENTS_ENV, assignments_root

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        from grader.sandbox.torch_cache import TORCH_CACHE_VARIABLE

        # Every temp file of the worker's process tree goes here, so that a worker killed
        # mid-grading (a crash, Ctrl-C, a lost client) leaves nothing behind once it is removed.
        self.scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
        environment = {
            **os.environ,
            ASSIGNMENTS_ENV: str(assignments_root()),
            "TMPDIR": str(self.scratch),
            SCRATCH_VARIABLE: str(self.scratch),
        }
        # torch's compile cache too, unless the caller chose one: it goes with the folder.
        environment.setdefault(TORCH_CACHE_VARIABLE, str(self.scratch / "torch-cache"))
        try:
            self.process = subprocess.Popen(
                _worker_command(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log if log is not None else subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            self.remove_scratch()
            raise
        finally:
            theirs.close()
        self.control = ours
        self.ready = False
        self.job: Job | None = None
        self.result_r: int | None = None
        self.buffer = bytearray()

    @property
    def busy(self) -> bool:
        return self.job is not None

    def submit(self, job: Job) -> None:
        result_r, result_w = os.pipe()
        try:
            socket.send_fds(self.control, [job.to_json()], [result_w])
        finally:
            os.close(result_w)
        os.set_blocking(result_r, False)
        self.job, self.result_r, self.buffer = job, result_r, bytearray()

    def read_result(self) -> None:
        """Drain what the grading process has written so far (it may exceed a pipe's buffer)."""
        if self.result_r is None:
            return
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while chunk := os.read(self.result_r, 1 << 20):
                self.buffer += chunk
                if len(self.buffer) > MAX_REPORT_BYTES + FRAME.size:
                    break

    def receive(self) -> dict[str, Any] | None:
        """The next control message, or None when the worker has gone away."""
        try:
            data = self.control.recv(MAX_MESSAGE)
        except OSError:
            return None
        return json.loads(data) if data else None

    def finish(self, status: str, detail: str) -> tuple[Job, Outcome]:
        """Close the current job and turn what arrived into its outcome."""
        self.read_result()
        job, buffer = self.job, bytes(self.buffer)
        assert job is not None
        self._close_result()
        self.job = None
        if status == "ok" and len(buffer) >= FRAME.size:
            (size,) = FRAME.unpack(buffer[: FRAME.size])
            if len(buffer) == FRAME.size + size:
                return job, Outcome(report_json=buffer[FRAME.size :].decode())
        return job, Outcome(error=detail or "the grading process ended without a report")

    def _close_result(self) -> None:
        if self.result_r is not None:
            with contextlib.suppress(OSError):
                os.close(self.result_r)
            self.result_r = None

    def grade(self, job: Job, deadline: float | None = None) -> Outcome:
        """Grade one job and wait for it (the Dask path). The worker must be idle."""
        self.submit(job)
        assert self.result_r is not None
        selector = selectors.DefaultSelector()
        selector.register(self.control, selectors.EVENT_READ, "control")
        selector.register(self.result_r, selectors.EVENT_READ, "result")
        try:
            while True:
                if deadline is not None and time.monotonic() > deadline:
                    self.stop()
                    return self.finish("crashed", "the worker did not answer in time")[1]
                for key, _ in selector.select(1.0):
                    if key.data == "result":
                        self.read_result()
                        continue
                    message = self.receive()
                    if message is None:
                        return self.finish("crashed", self.exit_detail())[1]
                    if message.get("op") == DONE:
                        return self.finish(message["status"], message.get("detail", ""))[1]
                    if message.get("op") == READY:
                        self.ready = True
        finally:
            selector.close()

    def exit_detail(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        code = self.process.returncode
        if code is None:
            return "the worker stopped answering"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"the worker was killed by {signal.Signals(-code).name}"
        return f"the worker exited with code {code}"

    def stop(self) -> None:
        """Stop the worker and everything below it (its grading process dies with it)."""
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(ChildProcessError):
            self.process.wait()
        self._close_result()
        self.remove_scratch()

    def remove_scratch(self) -> None:
        """Remove the worker's temp folder (again, once its orphans are reaped)."""
        from grader.sandbox.zygote import force_rmtree

        with contextlib.suppress(OSError):
            force_rmtree(self.scratch)


ResultCallback = Callable[[Job, Outcome], None]


class LocalPool:
    """`jobs` workers on this machine, each grading one submission at a time."""

    def __init__(self, jobs: int, log: IO[bytes] | None = None) -> None:
        self.size = max(1, jobs)
        self.log = log
        self.workers: list[WorkerProcess] = []

    def _start(self) -> WorkerProcess:
        worker = WorkerProcess(self.log)
        self.workers.append(worker)
        return worker

    def run(self, jobs: Iterable[Job], on_result: ResultCallback) -> None:
        """Grade every job; call `on_result` in the client as each one finishes."""
        queue = deque(jobs)
        become_subreaper()
        workers = min(self.size, len(queue))
        for _ in range(workers):
            self._start()
        selector = selectors.DefaultSelector()
        for worker in self.workers:
            selector.register(worker.control, selectors.EVENT_READ, ("control", worker))
        try:
            while queue or any(w.busy for w in self.workers):
                for worker in self.workers:
                    if not worker.busy and queue:
                        worker.submit(queue.popleft())
                        assert worker.result_r is not None
                        selector.register(worker.result_r, selectors.EVENT_READ, ("result", worker))
                for key, _ in selector.select(1.0):
                    kind, worker = key.data
                    if worker not in self.workers:
                        continue
                    if kind == "result":
                        worker.read_result()
                        continue
                    self._on_control(worker, selector, queue, on_result)
        finally:
            selector.close()
            stopped = list(self.workers)
            self.close()
            reap_orphans(keep=set())
            for worker in stopped:
                worker.remove_scratch()
            become_subreaper(False)

    def _on_control(
        self,
        worker: WorkerProcess,
        selector: selectors.BaseSelector,
        queue: deque[Job],
        on_result: ResultCallback,
    ) -> None:
        message = worker.receive()
        if message is not None and message.get("op") == READY:
            worker.ready = True
            return
        if worker.result_r is not None:
            selector.unregister(worker.result_r)
        if message is not None and message.get("op") == DONE:
            on_result(*worker.finish(message["status"], message.get("detail", "")))
            return
        selector.unregister(worker.control)
        detail = worker.exit_detail()
        self.workers.remove(worker)
        if not worker.ready:
            worker.stop()
            raise WorkerFailed(detail)
        if worker.busy:
            on_result(*worker.finish("crashed", detail))
        worker.stop()
        for _ in range(ORPHAN_SWEEPS):
            reap_orphans(keep={w.process.pid for w in self.workers})
            time.sleep(ORPHAN_SWEEP_SECONDS)
        worker.remove_scratch()
        if queue:
            replacement = self._start()
            selector.register(replacement.control, selectors.EVENT_READ, ("control", replacement))

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


def main(argv: list[str] | None = None) -> None:
    from grader.sandbox import accelerators

    accelerators.hide()  # before anything asks torch how many GPUs there are
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0].isdigit():
        sys.exit("usage: python -m grader.batch.workers CONTROL_FD (grade batch runs it)")
    serve(int(argv[0]))


if __name__ == "__main__":
    main()
