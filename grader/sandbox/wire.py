"""What crosses a process boundary: length-framed messages, and data-only payloads.

A payload is JSON for the structure plus the raw bytes of its tensors, nothing else: no
pickle, not even torch's restricted unpickler. The structure tags every container, so a
tuple stays a tuple; each tensor is a dtype from a short list, a shape and a byte range of
the blob. Decoding checks every one of those against the bytes it has and rejects anything
else: it builds numbers, strings, bools, None, plain CPU tensors, and lists, tuples and
string-keyed dicts of them, and never calls code named by the sender.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import struct
from typing import Any

import torch

MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 64 << 20
# A probe's answer carries its captured output beside its result payload.
MAX_MESSAGE_PAYLOAD_BYTES = MAX_PAYLOAD_BYTES + (1 << 20)
MAX_DEPTH = 32
MAX_DIMENSIONS = 64
_FRAME = struct.Struct("!IQ")
_MAGIC = b"TGW1"
_STRUCTURE = struct.Struct("!I")
_LIST, _TUPLE, _DICT, _TENSOR = "l", "t", "d", "x"
DTYPES = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}


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


def recv_header(fd: int) -> tuple[dict[str, Any], int]:
    """A message's header, and the length of the payload still to be read from `fd`."""
    header_len, payload_len = _FRAME.unpack(_read_exact(fd, _FRAME.size))
    if header_len > MAX_HEADER_BYTES or payload_len > MAX_MESSAGE_PAYLOAD_BYTES:
        raise WireError("message too large")
    return json.loads(_read_exact(fd, header_len)), payload_len


def recv_message(fd: int) -> tuple[dict[str, Any], bytes]:
    header, payload_len = recv_header(fd)
    return header, _read_exact(fd, payload_len)


def splice_exactly(
    source: int,
    target: int,
    count: int,
    *,
    source_offset: int | None = None,
    target_offset: int | None = None,
) -> None:
    """Move `count` bytes between a pipe and a file in the kernel (splice(2)): for data the
    process moving it must not hold in its own memory."""
    while count:
        moved = os.splice(source, target, count, source_offset, target_offset)
        if not moved:
            raise EOFError("pipe closed mid-message")
        count -= moved
        source_offset = None if source_offset is None else source_offset + moved
        target_offset = None if target_offset is None else target_offset + moved


def send_message_from_files(
    fd: int, header: dict[str, Any], parts: list[tuple[int, int, int]]
) -> None:
    """`send_message` with a payload made of (file descriptor, offset, length) parts, spliced
    from those files onto the pipe `fd` without passing through this process's memory."""
    encoded = json.dumps(header).encode()
    _write_all(fd, _FRAME.pack(len(encoded), sum(p[2] for p in parts)) + encoded)
    for source, offset, length in parts:
        splice_exactly(source, fd, length, source_offset=offset)


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


def _pack(value: Any, tensors: list[torch.Tensor]) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is torch.Tensor:
        if value.layout != torch.strided or value.device.type != "cpu":
            raise WireError("cannot send a tensor that is not a dense CPU tensor")
        if str(value.dtype).removeprefix("torch.") not in DTYPES:
            raise WireError(f"cannot send a tensor of dtype {value.dtype}")
        tensors.append(value.contiguous())
        return [_TENSOR, len(tensors) - 1]
    if type(value) in (list, tuple):
        tag = _LIST if type(value) is list else _TUPLE
        return [tag, *(_pack(v, tensors) for v in value)]
    return [_DICT, {k: _pack(v, tensors) for k, v in value.items()}]


def encode(value: Any) -> bytes:
    """Plain data as bytes that `decode` accepts (see `plain` for what is plain)."""
    tensors: list[torch.Tensor] = []
    packed = _pack(plain(value), tensors)
    table, blobs, offset = [], [], 0
    for tensor in tensors:
        size = tensor.numel() * tensor.element_size()
        dtype = str(tensor.dtype).removeprefix("torch.")
        table.append([dtype, list(tensor.shape), offset, size])
        if size:
            blobs.append(ctypes.string_at(tensor.data_ptr(), size))
        offset += size
    structure = json.dumps({"v": packed, "t": table}).encode()
    return b"".join([_MAGIC, _STRUCTURE.pack(len(structure)), structure, *blobs])


def _tensor(entry: Any, blob: memoryview, expected_offset: int) -> tuple[torch.Tensor, int]:
    if not (isinstance(entry, list) and len(entry) == 4):
        raise WireError("malformed tensor entry")
    name, shape, offset, size = entry
    dtype = DTYPES.get(name) if isinstance(name, str) else None
    if dtype is None:
        raise WireError("tensor of an unknown dtype")
    if not (
        isinstance(shape, list)
        and len(shape) <= MAX_DIMENSIONS
        and all(type(n) is int and 0 <= n < MAX_PAYLOAD_BYTES for n in shape)
    ):
        raise WireError("malformed tensor shape")
    if offset != expected_offset or size != math.prod(shape) * dtype.itemsize:
        raise WireError("tensor bytes do not match its shape")
    if offset + size > len(blob):
        raise WireError("tensor bytes missing")
    if size == 0:
        return torch.empty(shape, dtype=dtype), offset
    raw = bytearray(blob[offset : offset + size])
    if dtype is torch.bool:  # any byte but 0 or 1 would be an invalid bool
        return torch.frombuffer(raw, dtype=torch.uint8).reshape(shape) != 0, offset + size
    return torch.frombuffer(raw, dtype=dtype).reshape(shape), offset + size


def _unpack(value: Any, tensors: list[torch.Tensor], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("data nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is not list or not value:
        raise WireError("malformed data")
    tag, *rest = value
    if tag in (_LIST, _TUPLE):
        items = [_unpack(v, tensors, depth + 1) for v in rest]
        return items if tag == _LIST else tuple(items)
    if tag == _DICT and len(rest) == 1 and type(rest[0]) is dict:
        return {k: _unpack(v, tensors, depth + 1) for k, v in rest[0].items()}
    if tag == _TENSOR and len(rest) == 1 and type(rest[0]) is int and 0 <= rest[0] < len(tensors):
        return tensors[rest[0]]
    raise WireError("malformed data")


def decode(payload: bytes) -> Any:
    """Decode untrusted bytes into validated plain data, or raise `WireError`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("payload too large")
    head = len(_MAGIC) + _STRUCTURE.size
    if len(payload) < head or not payload.startswith(_MAGIC):
        raise WireError("not a data payload")
    (length,) = _STRUCTURE.unpack_from(payload, len(_MAGIC))
    if head + length > len(payload):
        raise WireError("not a data payload (cut short)")
    try:
        structure = json.loads(payload[head : head + length])
    except (ValueError, RecursionError):
        raise WireError("not a data payload (malformed structure)") from None
    if not (isinstance(structure, dict) and isinstance(structure.get("t"), list)):
        raise WireError("not a data payload (malformed structure)")
    blob = memoryview(payload)[head + length :]
    tensors, offset = [], 0
    for entry in structure["t"]:
        tensor, offset = _tensor(entry, blob, offset)
        tensors.append(tensor)
    if offset != len(blob):
        raise WireError("bytes left over after the last tensor")
    try:
        return _unpack(structure.get("v"), tensors)
    except RecursionError:
        raise WireError("data nested too deeply") from None
