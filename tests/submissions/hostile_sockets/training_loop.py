"""Hostile: reach a service outside the sandbox over a Unix socket, then the no-zero_grad bug.

At import, every probe looks for Unix sockets to talk to: the paths listed in targets.txt
(the test writes it, next to its own listeners), else whatever it finds in /tmp, /run and
/var/run, plus the abstract names in /proc/net/unix. It tries a stream connect, a datagram
sendto through a socketpair (which needs no socket() call), a datagram connect and an
addressed sendmsg, then checks that a socketpair of its own still works. Each attempt prints
'SOCKET <how> <target>: <result>'.
"""

import os
import socket


def _targets():
    try:
        with open(os.path.join(os.path.dirname(__file__), "targets.txt")) as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except OSError:
        pass
    found = []
    for folder in ("/tmp", "/run", "/var/run"):
        try:
            for entry in os.scandir(folder):
                if entry.name.endswith(".sock"):
                    found.append(entry.path)
        except OSError:
            pass
    try:
        with open("/proc/net/unix") as handle:
            found += ["@" + line.split()[-1][1:] for line in handle if " @" in line]
    except OSError:
        pass
    return found


def _address(target):
    return "\0" + target[1:] if target.startswith("@") else target


def _attempt(how, target, action):
    try:
        reply = action(_address(target))
        print(f"SOCKET {how} {target}: reached {reply!r}")
    except OSError as exc:
        print(f"SOCKET {how} {target}: {type(exc).__name__}")


def _stream(address):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(2)
        client.connect(address)
        client.sendall(b"PING")
        return client.recv(16)


def _paired_sendto(address):
    mine, _theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with mine, _theirs:
        return mine.sendto(b"PING", address)


def _paired_connect(address):
    mine, _theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with mine, _theirs:
        mine.connect(address)
        return mine.send(b"PING")


def _paired_sendmsg(address):
    mine, _theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with mine, _theirs:
        return mine.sendmsg([b"PING"], [], 0, address)


for _target in _targets():
    if _target.endswith(".dgram"):
        _attempt("sendto", _target, _paired_sendto)
        _attempt("dgram-connect", _target, _paired_connect)
        _attempt("sendmsg", _target, _paired_sendmsg)
    else:
        _attempt("connect", _target, _stream)

try:
    _left, _right = socket.socketpair()
    with _left, _right:
        _left.sendall(b"pair")
        print(f"SOCKET socketpair own: {_right.recv(4).decode()}")
except OSError as _exc:
    print(f"SOCKET socketpair own: {type(_exc).__name__}")


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
