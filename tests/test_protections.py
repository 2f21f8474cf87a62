"""Protection layers: detected at run time, reported with a reason when off, and usable
without root (the path GitHub-hosted runners take)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import threading

import pytest
import torch

from grader import spec
from grader.sandbox import accelerators, linux, protections, seccomp, torch_cache
from grader.sandbox.staging import stage
from grader.sandbox.zygote import Sandbox
from tests.conftest import REFERENCE, SUBMISSIONS

STATUS = re.compile(r"^(on|off \(.+\))$")


def test_every_layer_is_reported_on_or_with_the_reason_it_is_off():
    active = protections.active()
    assert set(active) == {*protections.ALWAYS_ON, *protections.LAYERS}
    for layer, status in active.items():
        assert STATUS.match(status), f"{layer}: {status!r}"
    assert all(active[layer] == "on" for layer in protections.ALWAYS_ON)


def test_a_layer_switched_off_says_so(monkeypatch):
    monkeypatch.setenv(protections.OFF_VARIABLE, "landlock, seccomp")
    status = protections.plan().status
    reason = f"off (disabled by {protections.OFF_VARIABLE})"
    assert status["landlock"] == status["seccomp"] == reason
    for layer in ("landlock_network", "landlock_signals"):
        assert status[layer].startswith("off ("), status[layer]
    monkeypatch.setenv(protections.OFF_VARIABLE, "all")
    assert set(protections.plan().status.values()) == {reason}


def test_layers_depend_on_what_they_need():
    status = protections.plan().status
    if status["process_limit"] == "on":
        assert status["privilege_drop"] == "on"
    if status["scratch_quota"] == "on":
        assert status["pid_namespace"] == "on"
    if status["landlock_signals"] == "on":
        assert status["landlock"] == "on"


def test_the_unprivileged_path_grades_and_still_hides_the_grader(tmp_path):
    """Plan as a non-root user would (user namespace, no privilege drop) and run one probe of
    a hostile submission through a real sandbox."""
    plan = protections.plan(unprivileged=True)
    assert plan.status["privilege_drop"] == "off (not running as root)"
    if plan.on("pid_namespace"):
        assert plan.user_namespace
    staged = stage(SUBMISSIONS / "hostile_tamper", tmp_path / "submission")
    training_loop = spec.select(["training_loop"])
    sandbox = Sandbox(training_loop, staged.folder, plan=plan)
    try:
        outcome = sandbox.call(
            "training_loop",
            "train",
            {
                "state": {"weight": torch.ones(1, 2), "bias": torch.zeros(1)},
                "inputs": torch.ones(4, 2),
                "labels": torch.zeros(4, 1),
                "criterion": "MSELoss",
                "optimizer": {"name": "SGD", "lr": 0.1},
                "epochs": 2,
            },
            seed=0,
            timeout=10,
        )
    finally:
        sandbox.close()
    assert outcome.status == "ok", outcome.detail
    assert outcome.value["ok"] is True, outcome.value
    assert len(outcome.value["value"]["values"]) == 2
    assert "STEAL grader __file__:" in outcome.output
    if plan.on("landlock"):
        for what in ("grader __file__", "hidden checks"):
            # Landlock denies it; the private root, where it is on, has no such file at all.
            assert re.search(
                rf"STEAL {what}: (PermissionError|FileNotFoundError)\n", outcome.output
            )


def _in_child(body) -> list[str]:
    """Run `body()` in a forked child and return the lines it reports."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            os.write(write_fd, "\n".join(body()).encode())
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as handle:
        text = handle.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return text.splitlines()


@pytest.mark.skipif(not seccomp.supported(), reason="no seccomp filter for this machine")
def test_the_seccomp_filter_denies_exactly_what_it_should():
    def body():
        parent = os.getppid()
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
        seccomp.install([parent])
        attempts = {
            "tcp socket": lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close(),
            "udp6 socket": lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).close(),
            "unix socket()": lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close(),
            "unix socketpair": lambda: socket.socketpair()[0].close(),
            "signal the parent": lambda: os.kill(parent, 0),
            "signal every process": lambda: os.kill(-1, 0),
            "signal a process group": lambda: os.kill(-parent, 0),
            "signal itself": lambda: os.kill(os.getpid(), 0),
            "unmount": lambda: linux.umount("/nonexistent-torchgrade-mountpoint"),
            "System V shared memory": lambda: _libc_call("shmget", 0, 4096, 0o1600),
            "System V message queue": lambda: _libc_call("msgget", 0, 0o1600),
            "System V semaphore": lambda: _libc_call("semget", 0, 1, 0o1600),
            "memfd_create": lambda: os.close(os.memfd_create("probe")),
            "clone into a new user namespace": lambda: _clone(0x10000000),
            "clone into a new IPC namespace": lambda: _clone(0x08000000),
            "fork": lambda: _clone(0),
            "start a thread": _run_a_thread,
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                yield f"{name}: allowed"
            except OSError as exc:
                yield f"{name}: {type(exc).__name__}"

    assert _in_child(body) == [
        "tcp socket: PermissionError",
        "udp6 socket: PermissionError",
        "unix socket(): PermissionError",
        "unix socketpair: allowed",
        "signal the parent: PermissionError",
        "signal every process: PermissionError",
        "signal a process group: PermissionError",
        "signal itself: allowed",
        "unmount: PermissionError",
        "System V shared memory: PermissionError",
        "System V message queue: PermissionError",
        "System V semaphore: PermissionError",
        "memfd_create: PermissionError",
        "clone into a new user namespace: PermissionError",
        "clone into a new IPC namespace: PermissionError",
        "fork: allowed",
        "start a thread: allowed",
    ]


def _libc_call(name: str, *arguments: int) -> int:
    result = getattr(ctypes.CDLL(None, use_errno=True), name)(*arguments)
    if result == -1:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
    return result


def _clone(flags: int) -> None:
    """clone(2) itself, as the C library's fork would call it, with `flags` added."""
    child = _libc_call(
        "syscall", seccomp.ARCHES[linux.machine()].clone, flags | signal.SIGCHLD, 0, 0, 0, 0
    )
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)


def _run_a_thread() -> None:
    """The C library starts threads with clone3, which the filter answers ENOSYS: it must
    fall back to clone."""
    ran = []
    thread = threading.Thread(target=ran.append, args=(1,))
    thread.start()
    thread.join()
    if ran != [1]:
        raise OSError(0, "the thread did not run")


@pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop needs root")
def test_the_privilege_drop_path_runs_student_code_as_nobody(tmp_path):
    """Force the privilege drop on (this machine's Python may be unreadable to nobody, which
    only matters for modules not loaded yet) and check what the student code runs as."""
    submission = tmp_path / "submission"
    submission.mkdir()
    source = (REFERENCE / "my_linear.py").read_text()
    probe_lines = (
        "import os, resource\n"
        "print('UID', os.getuid(), os.geteuid())\n"
        "print('NPROC', resource.getrlimit(resource.RLIMIT_NPROC)[0])\n"
        "print('WRITE', os.access(os.getcwd(), os.W_OK))\n"
    )
    (submission / "my_linear.py").write_text(probe_lines + source)
    staged = stage(submission, tmp_path / "staged")
    detected = protections.plan()
    forced = protections.Plan(
        status={**detected.status, "privilege_drop": "on", "process_limit": "on"},
        landlock_abi=detected.landlock_abi,
    )
    sandbox = Sandbox(spec.select(["my_linear"]), staged.folder, plan=forced)
    try:
        outcome = sandbox.call(
            "my_linear", "construct", {"in_features": 3, "out_features": 2}, seed=0, timeout=10
        )
    finally:
        sandbox.close()
    assert outcome.status == "ok", outcome.detail
    assert outcome.value["ok"] is True, outcome.value
    uid, _gid = protections.nobody()
    assert f"UID {uid} {uid}" in outcome.output
    assert f"NPROC {protections.PROCESS_LIMIT}" in outcome.output
    assert "WRITE True" in outcome.output


WRITER = """
import os
here = os.getcwd()
for label, action in (
    ("own", lambda: open(os.path.join(here, "mine.txt"), "w").write("ok")),
    ("sibling file", lambda: open(os.path.join(os.path.dirname(here), "theirs.txt"), "w")),
    ("sibling folder", lambda: os.mkdir(os.path.join(os.path.dirname(here), "probe-999"))),
):
    try:
        action()
        print("WRITE", label, "allowed")
    except OSError as exc:
        print("WRITE", label, type(exc).__name__)
# The zygote's layer grants the sandbox's own /proc for reading: its own entry must work, and
# the zygote's (pid 1 in the sandbox's namespace) environment, memory map and descriptors
# must stay closed.
for label, action in (
    ("own status", lambda: open("/proc/self/status").read()),
    ("zygote environ", lambda: open("/proc/1/environ", "rb").read()),
    ("zygote maps", lambda: open("/proc/1/maps").read()),
    ("zygote fds", lambda: os.listdir("/proc/1/fd")),
):
    try:
        action()
        print("READ", label, "allowed")
    except OSError as exc:
        print("READ", label, type(exc).__name__)
"""


def _construct_calls(tmp_path, source: str, plan: protections.Plan, calls: int) -> list:
    """`calls` construct probes, one sandbox, on a my_linear.py made of `source`."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "my_linear.py").write_text(source)
    staged = stage(folder, tmp_path / "staged")
    sandbox = Sandbox(spec.select(["my_linear"]), staged.folder, plan=plan)
    try:
        return [
            sandbox.call("my_linear", "construct", {"in_features": 2, "out_features": 1}, 0, 10)
            for _ in range(calls)
        ]
    finally:
        sandbox.close()


def test_a_probe_writes_in_its_own_scratch_folder_and_nowhere_beside_it(tmp_path):
    """The zygote's shared Landlock layer allows writing beneath every probe's scratch root;
    each child's own layer must narrow that to its own folder, call after call. The layer's
    /proc grant leaves the zygote's private files closed."""
    plan = protections.plan()
    if not plan.on("landlock"):
        pytest.skip("Landlock is off here: " + plan.status["landlock"])
    outputs = _construct_calls(tmp_path, WRITER, plan, calls=2)
    for outcome in outputs:
        assert "WRITE own allowed" in outcome.output, outcome.output
        assert "WRITE sibling file PermissionError" in outcome.output, outcome.output
        assert "WRITE sibling folder PermissionError" in outcome.output, outcome.output
        assert "READ own status allowed" in outcome.output, outcome.output
        for closed in ("zygote environ", "zygote maps", "zygote fds"):
            assert re.search(rf"READ {closed} (PermissionError|FileNotFoundError)", outcome.output)


PLAN_IN_A_FRESH_PROCESS = """
import ctypes
import json
from grader.sandbox import protections
from grader.sandbox import plan_cache
ran = []
real = protections._dry_run
protections._dry_run = lambda root: ran.append(1) or real(root)
found = protections.plan()
print(json.dumps({"dry_run": bool(ran), "plan": protections._plan_as_data(found)}))
"""


def _plan_in_a_fresh_process(cache, **env) -> dict:
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", PLAN_IN_A_FRESH_PROCESS],
        env={**os.environ, "TORCHGRADE_PROTECTIONS_CACHE": str(cache), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_dry_run_is_remembered_only_where_nothing_it_depends_on_changed(tmp_path):
    import json

    cache = tmp_path / "cache"
    first = _plan_in_a_fresh_process(cache)
    again = _plan_in_a_fresh_process(cache)
    assert first["dry_run"] and not again["dry_run"]
    assert again["plan"] == first["plan"]
    (entry,) = cache.iterdir()
    assert entry.stat().st_mode & 0o077 == 0
    # Another operator setting is another key: it gets a dry run of its own.
    other = _plan_in_a_fresh_process(cache, **{protections.OFF_VARIABLE: "seccomp"})
    assert other["dry_run"] and other["plan"]["status"]["seccomp"].startswith("off (")
    # A remembered pids cgroup folder that is gone sends the plan back to the dry run.
    if first["plan"]["pids_hierarchy"] is not None:
        data = json.loads(entry.read_text())
        data["pids_hierarchy"][1] = str(tmp_path / "removed")
        entry.write_text(json.dumps(data))
        assert _plan_in_a_fresh_process(cache)["dry_run"]
    # An entry that someone else could have written is not trusted.
    entry.chmod(0o666)
    assert _plan_in_a_fresh_process(cache)["dry_run"]
    assert _plan_in_a_fresh_process(tmp_path / "unused", TORCHGRADE_PROTECTIONS_CACHE="off")[
        "dry_run"
    ]


ENVIRONMENT = """
import json, os, sys, tempfile
with open("/proc/self/status") as status:
    bounding = [line.split()[1] for line in status if line.startswith("CapBnd:")]
cache = os.environ.get("TORCHINDUCTOR_CACHE_DIR", "")
print(json.dumps({"cwd": os.getcwd(), "env": dict(os.environ), "bounding": bounding,
                  "tempdir": tempfile.gettempdir(),
                  "cache_in_scratch": cache == os.path.join(os.getcwd(), ".torch-cache")}))
print("unterminated", os.getcwd(), end="")
"""


LIMITS_AND_IPC = """
import json, os, resource
names = ("RLIMIT_NOFILE", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_CORE")
limits = {name: resource.getrlimit(getattr(resource, name)) for name in names}
try:
    ipc = os.readlink("/proc/self/ns/ipc")
except OSError as exc:
    ipc = type(exc).__name__
print(json.dumps({"limits": limits, "ipc": ipc}))
"""


def test_a_probe_cannot_raise_its_limits_and_has_its_own_ipc_namespace(tmp_path):
    """Each limit is set hard as well as soft (student code may raise a soft limit up to the
    hard one), and the sandbox has its own System V IPC namespace, so the host's shared
    memory segments and message queues are out of its sight."""
    plan = protections.plan()
    (outcome,) = _construct_calls(tmp_path, LIMITS_AND_IPC, plan, calls=1)
    seen = json.loads(outcome.output)
    for name, (soft, hard) in seen["limits"].items():
        assert soft == hard, (name, soft, hard)
    if plan.on("pid_namespace"):
        assert seen["ipc"].startswith("ipc:["), seen
        assert seen["ipc"] != os.readlink("/proc/self/ns/ipc"), seen


MEMORY_SCANNER = """
import ctypes
import re
import torch
from torch import nn


def _markers_in_memory():
    # Read through ctypes, not /proc/self/mem: a non-dumpable child's /proc files belong to
    # root, so without root it cannot open its own. Only readable anonymous mappings, which
    # never fault; in pieces, so that a large reservation costs no memory.
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            path = fields[5] if len(fields) > 5 else ""
            private = path in ("", "[heap]", "[stack]") or path.startswith("[anon:")
            if not fields[1].startswith("r") or not private:
                continue
            start, end = (int(n, 16) for n in fields[0].split("-"))
            for at in range(start, end, 1 << 24):
                data = ctypes.string_at(at, min(end - at, (1 << 24) + 64))
                found.update(m.decode() for m in re.findall(rb"TGMARK-[0-9a-f]{16}", data))
    return sorted(found)


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        print("RAW", x.numpy().tobytes().decode("latin-1"))
        print("SEEN", " ".join(_markers_in_memory()))
        return x.clone()
"""


def _marker_input(marker: str) -> torch.Tensor:
    """`marker`'s bytes as the input tensor of a probe call: (2, 3) float32, 24 bytes."""
    return torch.frombuffer(bytearray((marker + "!").encode()), dtype=torch.float32).reshape(2, 3)


def test_a_probe_finds_nothing_of_earlier_calls_in_its_memory(tmp_path):
    """Every child is a copy of the zygote's memory. The inputs the judge sent an earlier call,
    and what that call printed and returned, pass through files the zygote splices, never
    through its own memory, so a later child (a visible check, say) cannot dig a hidden
    check's inputs out of it. The markers are made after the sandbox has forked, so the
    sandbox cannot have them from the test process; each call must see its own."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "my_linear.py").write_text(MEMORY_SCANNER)
    staged = stage(folder, tmp_path / "staged")
    sandbox = Sandbox(spec.select(["my_linear"]), staged.folder, plan=protections.plan())
    try:
        markers = [f"TGMARK-{os.urandom(8).hex()}" for _ in range(3)]
        seen = []
        for marker in markers:
            inputs = {"in_features": 3, "out_features": 2, "x": _marker_input(marker)}
            outcome = sandbox.call("my_linear", "forward", inputs, 0, 30)
            assert outcome.status == "ok", outcome
            line = next(x for x in outcome.output.splitlines() if x.startswith("SEEN"))
            seen.append(set(line.split()[1:]))
    finally:
        sandbox.close()
    for index, marker in enumerate(markers):
        assert marker in seen[index], (marker, seen)  # the scan works: it finds its own input
        assert not seen[index] & set(markers[:index]), (index, seen)


def test_each_probe_starts_with_its_own_clean_environment_and_streams(tmp_path, monkeypatch):
    """The zygote names each child's scratch folder as HOME and TMPDIR before forking it, and
    makes the children's standard streams once: every call must still see its own folder,
    nothing of the grader's environment, an empty capability bounding set where capabilities
    are dropped, and none of the previous call's output. torch's compile cache, which the real
    torch._dynamo makes at import, and `tempfile` (which cached the zygote's folder) are in the
    scratch folder too: anywhere else is read-only."""
    monkeypatch.setenv("TORCHGRADE_TEST_SECRET", "must-not-reach-a-probe")
    plan = protections.plan()
    outputs = _construct_calls(tmp_path, ENVIRONMENT, plan, calls=3)
    cache = torch_cache.TORCH_CACHE_VARIABLE
    allowed = {*protections.SAFE_ENV, *accelerators.VARIABLES, "HOME", "TMPDIR", cache}
    folders = []
    for outcome in outputs:
        first, _, rest = outcome.output.partition("\n")
        seen = json.loads(first)
        assert seen["env"]["HOME"] == seen["env"]["TMPDIR"] == seen["tempdir"] == seen["cwd"]
        assert seen["cache_in_scratch"], seen
        assert set(seen["env"]) <= allowed, seen["env"]
        assert rest == f"unterminated {seen['cwd']}", outcome.output
        if plan.on("capabilities_dropped"):
            assert seen["bounding"] == ["0000000000000000"], seen
        folders.append(seen["cwd"])
    assert len(set(folders)) == len(folders), folders
