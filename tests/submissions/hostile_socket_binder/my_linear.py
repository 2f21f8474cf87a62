"""Hostile (batch): bind a Unix socket in this sandbox's scratch folder for another sandbox to use.

Every probe binds 'mailbox.sock' in its working folder (a stream listener if socket() works,
else a datagram socketpair end, which needs no socket() call) and waits, printing
'BINDER reached <n>' each time something from outside reaches it. hostile_socket_seeker,
graded at the same time, looks for it.
"""

import os
import socket
import time

_path = "mailbox.sock"  # relative: the scratch folder's own path may be too long for AF_UNIX
try:
    _server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _server.bind(_path)
    _server.listen(8)
except OSError:
    _server, _other = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    _server.bind(_path)
os.chmod(_path, 0o777)
print(f"BINDER bound: {_server.type.name}", flush=True)
_server.settimeout(0.2)
_reached = 0
while True:
    try:
        if _server.type == socket.SOCK_STREAM:
            _server.accept()[0].close()
        else:
            _server.recv(16)
        _reached += 1
        print(f"BINDER reached: {_reached}", flush=True)
    except OSError:
        time.sleep(0.05)
