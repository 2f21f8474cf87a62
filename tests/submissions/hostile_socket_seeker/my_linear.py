"""Hostile (batch): find a socket another sandbox bound in its scratch folder, and use it.

Every probe looks for mailbox.sock under the grader's temporary folders and their parents,
and tries a stream connect and a datagram sendto through a socketpair, printing
'SEEKER reached: <how>' on success. hostile_socket_binder, graded at the same time, binds it.
"""

import glob
import os
import socket
import tempfile
import time

# Where a sandbox's run folder lies: right in a temp folder (grade submit), or in a batch
# worker's own folder, one per grading. This sandbox's own temp folder may be nested in one of
# those, so its ancestors are searched too: a probe's own temp folder is its scratch folder,
# five levels below a batch worker's parent folder.
_layouts = (
    ("torchgrade-run-*", "sandbox-*", "probe-*", "mailbox.sock"),
    ("torchgrade-worker-*", "job-*", "torchgrade-run-*", "sandbox-*", "probe-*", "mailbox.sock"),
)
_roots = set()
for _start in (tempfile.gettempdir(), "/tmp", os.environ.get("TMPDIR", "/tmp")):
    for _ in range(8):
        _roots.add(_start)
        _start = os.path.dirname(_start)
_found = set()
while True:
    for _root in _roots:
        for _layout in _layouts:
            _found.update(glob.glob(os.path.join(_root, *_layout)))
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
