"""No socket outside the sandbox: real listeners, started by the test outside the sandbox.

The hostile_sockets fixture tries each listener at import time: a stream connect (to a
pathname socket in /tmp and under /run, and to an abstract one), and a datagram sendto, connect
and sendmsg through a socketpair, which needs no socket() call. With every protection off the
probe reaches them: that is the positive control. With the protections on, the listeners count
nothing and the probe's own socketpair still works.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.sandbox.protections import OFF_VARIABLE
from tests.conftest import SUBMISSIONS, Graded
from tests.test_hostile import lines, output_of


class Listener:
    """A Unix socket outside the sandbox that counts what reaches it and answers PONG."""

    def __init__(self, address: str, kind: int) -> None:
        self.address = address
        self.reached = 0
        self.sock = socket.socket(socket.AF_UNIX, kind)
        self.sock.bind(address)
        if kind == socket.SOCK_STREAM:
            self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(kind,), daemon=True)
        self.thread.start()

    @property
    def name(self) -> str:
        return "@" + self.address[1:] if self.address.startswith("\0") else self.address

    def _serve(self, kind: int) -> None:
        while not self.stopped.is_set():
            try:
                if kind == socket.SOCK_STREAM:
                    connection, _ = self.sock.accept()
                    self.reached += 1
                    with connection:
                        connection.settimeout(1)
                        connection.recv(16)
                        connection.sendall(b"PONG")
                else:
                    self.sock.recv(16)
                    self.reached += 1
            except OSError:
                continue

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.sock.close()
        if not self.address.startswith("\0"):
            os.unlink(self.address)


@pytest.fixture
def listeners(tmp_path: Path) -> Iterator[list[Listener]]:
    token = uuid.uuid4().hex[:12]
    run = Path("/run") / f"torchgrade-test-{token}"
    made: list[Listener] = []
    try:
        made.append(Listener(str(tmp_path / "service.sock"), socket.SOCK_STREAM))
        made.append(Listener(f"\0torchgrade-test-{token}", socket.SOCK_STREAM))
        made.append(Listener(str(tmp_path / "journal.dgram"), socket.SOCK_DGRAM))
        try:
            run.mkdir()
        except OSError:
            pass  # /run is not writable for this user: /tmp and the abstract socket remain
        else:
            made.append(Listener(str(run / "docker.sock"), socket.SOCK_STREAM))
        for listener in made:  # reachable by anyone, as a host service's socket often is
            if not listener.address.startswith("\0"):
                os.chmod(listener.address, 0o777)
                os.chmod(os.path.dirname(listener.address), 0o755)
        yield made
    finally:
        for listener in made:
            listener.close()
        shutil.rmtree(run, ignore_errors=True)


def grade_against(
    listeners: list[Listener], folder: Path, out: Path, env: dict[str, str]
) -> Graded:
    submission = folder / "submission"
    shutil.copytree(SUBMISSIONS / "hostile_sockets", submission)
    (submission / "targets.txt").write_text("".join(f"{t.name}\n" for t in listeners))
    result = CliRunner(env=env).invoke(
        main,
        ["submit", str(submission), "--out", str(out), "-a", "training_loop"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return Graded(result, out)


def attempts(graded: Graded) -> dict[str, str]:
    return lines(output_of(graded, "training_loop"), "SOCKET")


def test_with_protections_off_the_probe_reaches_the_listeners(listeners, tmp_path):
    """The positive control: the attack works when nothing stops it."""
    graded = grade_against(listeners, tmp_path, tmp_path / "out", {OFF_VARIABLE: "all"})
    tried = attempts(graded)
    for listener in listeners:
        assert listener.reached > 0, (listener.name, tried)
    assert tried[f"connect {listeners[0].name}"] == "reached b'PONG'"
    assert tried[f"sendto {listeners[2].name}"] == "reached 4"
    assert tried["socketpair own"] == "pair"


def test_with_protections_on_no_listener_is_reached(listeners, tmp_path):
    graded = grade_against(listeners, tmp_path, tmp_path / "out", {})
    protections = graded.report["environment"]["protections"]
    if protections["seccomp"] != "on" and protections["landlock_unix_sockets"] != "on":
        pytest.skip(f"no layer confines unix sockets here: seccomp is {protections['seccomp']}")
    tried = attempts(graded)
    assert {listener.name: listener.reached for listener in listeners} == {
        listener.name: 0 for listener in listeners
    }
    how = {"connect", "sendto", "dgram-connect", "sendmsg"}
    assert len(tried) == 1 + 3 * 1 + (len(listeners) - 1), tried
    for what, result in tried.items():
        if what != "socketpair own":
            assert what.split()[0] in how
            assert result == "PermissionError", (what, result)
    assert tried["socketpair own"] == "pair"
    assert graded.assignment("training_loop")["score"] > 0


def test_dataloader_workers_get_a_clear_message(grade_folder):
    """Honest code that needs worker processes: told why, not shown a bare OSError."""
    from grader.messages import say, set_language

    set_language("en")
    graded = grade_folder(
        SUBMISSIONS / "dataloader_workers", "-a", "training_loop", "--timeout", "3"
    )
    checks = graded.assignment("training_loop")["checks"]
    assert {c["status"] for c in checks} <= {"failed", "timeout", "not_run"}
    shown = [c for c in checks if c["status"] != "not_run"]
    assert shown and all(c["hint"] == say("no_worker_processes") for c in shown), shown
