"""What crosses a process boundary: length-framed messages, and data-only payloads.

A payload from the sandbox is decoded with `torch.load(weights_only=True)` and then walked:
anything that is not a plain tensor, number, string, bool, None, or a list/tuple/dict of
them is rejected. Nothing is ever unpickled with the full pickle machinery.
"""

from __future__ import annotations

import io
import json
import os
import struct
from typing import Any

import torch

MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 64 << 20
MAX_DEPTH = 32
_FRAME = struct.Struct("!IQ")


class WireError(Exception):
    """A message or payload that is malformed, too large, or not plain data."""


def _read_exact(fd: int, size: int) -> bytes:
    chunks = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed mid-message")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send_message(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
    encoded = json.dumps(header).encode()
    _write_all(fd, _FRAME.pack(len(encoded), len(payload)) + encoded + payload)


def recv_message(fd: int) -> tuple[dict[str, Any], bytes]:
    header_len, payload_len = _FRAME.unpack(_read_exact(fd, _FRAME.size))
    if header_len > MAX_HEADER_BYTES or payload_len > MAX_PAYLOAD_BYTES:
        raise WireError("message too large")
    header = json.loads(_read_exact(fd, header_len))
    return header, _read_exact(fd, payload_len)


def plain(value: Any, depth: int = 0) -> Any:
    """Copy `value` into plain data on the sending side: tensors detached, subclasses dropped."""
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        tensor = torch.Tensor._make_subclass(torch.Tensor, value.detach(), False)
        return tensor.detach().clone().contiguous()
    if isinstance(value, (list, tuple)):
        items = [plain(v, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (bool, int, float, str)):
        return type(value).__mro__[-2](value)
    raise WireError(f"cannot send a {type(value).__name__}")


def encode(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(plain(value), buffer)
    return buffer.getvalue()


def _validate(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return
    if kind is torch.Tensor:
        if value.requires_grad or value.layout != torch.strided:
            raise WireError("tensor is not plain data")
        return
    if kind in (list, tuple):
        for item in value:
            _validate(item, depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise WireError("dict keys must be strings")
            _validate(item, depth + 1)
        return
    raise WireError(f"unexpected {kind.__name__} in data")


def decode(payload: bytes) -> Any:
    """Decode untrusted bytes into validated plain data, or raise `WireError`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("payload too large")
    try:
        value = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise WireError(f"not a data payload ({type(exc).__name__})") from None
    _validate(value)
    return value
