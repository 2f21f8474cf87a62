"""Hostile (batch): find a socket another sandbox bound in its scratch folder, and use it.

Every probe looks for mailbox.sock under the grader's temporary folders and tries a stream
connect and a datagram sendto through a socketpair, printing 'SEEKER reached: <how>' on
success. hostile_socket_binder, graded at the same time, binds it.
"""

import glob
import os
import socket
import tempfile
import time

_roots = {tempfile.gettempdir(), "/tmp", os.environ.get("TMPDIR", "/tmp")}
_found = set()
while True:
    for _root in _roots:
        _pattern = os.path.join(_root, "torchgrade-run-*", "sandbox-*", "probe-*", "mailbox.sock")
        _found.update(glob.glob(_pattern))
    for _path in _found:
        try:
            os.chdir(os.path.dirname(_path))  # AF_UNIX addresses are short: go there first
            _path = "mailbox.sock"
        except OSError:
            continue
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as _client:
                _client.connect(_path)
            print("SEEKER reached: connect", flush=True)
        except OSError:
            pass
        try:
            _mine, _theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            _mine.sendto(b"PING", _path)
            print("SEEKER reached: sendto", flush=True)
        except OSError:
            pass
    time.sleep(0.1)
