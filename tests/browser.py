"""A real headless Chromium for the HTML tests: the rendered DOM, a screenshot, and every
request the page tries to make.

Requests are watched through a counting proxy on the loopback address: Chromium is told to send
everything, loopback included, through it, so a page that reaches for any URL shows up as a
connection. A `file://` page with no external reference makes none.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--enable-logging=stderr",
    "--v=0",
)
TIMEOUT_SECONDS = 60


def chromium() -> str:
    """The browser's path; skips the test without one, except in CI, where it must be there."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    reason = f"no headless Chromium on PATH (tried {', '.join(CANDIDATES)})"
    if os.environ.get("CI"):
        pytest.fail(reason + "; .ci/run must install chromium-headless-shell")
    pytest.skip(reason)


@dataclass
class CountingProxy:
    """Accepts connections on 127.0.0.1 and counts them; answers nothing useful."""

    connections: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                continue
            with client:
                client.settimeout(1)
                try:
                    self.connections.append(client.recv(4096))
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    self.connections.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


@dataclass
class Rendered:
    dom: str
    log: str
    requests: list[bytes]


def render(page: Path, screenshot: Path | None = None, width: int = 1100) -> Rendered:
    """Load `page` in headless Chromium: its DOM after scripts ran, the browser's log, and
    what it tried to fetch."""
    browser = chromium()
    proxy = CountingProxy()
    profile = tempfile.mkdtemp(prefix="torchgrade-chromium-")
    try:
        mode = [f"--screenshot={screenshot}", f"--window-size={width},2000"] if screenshot else []
        result = subprocess.run(
            [
                browser,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--proxy-server=http://127.0.0.1:{proxy.port}",
                "--proxy-bypass-list=<-loopback>",
                *(mode or ["--dump-dom"]),
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    finally:
        proxy.close()
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return Rendered(result.stdout, result.stderr, proxy.connections)
