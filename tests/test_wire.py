"""Only plain data crosses from the sandbox to the judge."""

from __future__ import annotations

import io
import pickle

import pytest
import torch

from grader.sandbox import wire


class Sneaky:
    def __reduce__(self):
        return (print, ("pwned",))


def test_round_trip_of_plain_data():
    value = {"x": torch.arange(6.0).reshape(2, 3), "n": [1, 2.5, "s", None, True], "t": (1, 2)}
    decoded = wire.decode(wire.encode(value))
    assert torch.equal(decoded["x"], value["x"])
    assert decoded["n"] == value["n"] and decoded["t"] == (1, 2)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_pickled_objects_are_rejected():
    buffer = io.BytesIO()
    torch.save({"evil": Sneaky()}, buffer)
    with pytest.raises(wire.WireError):
        wire.decode(buffer.getvalue())
    with pytest.raises(wire.WireError):
        wire.decode(pickle.dumps({"a": 1}))


def test_garbage_is_rejected():
    with pytest.raises(wire.WireError):
        wire.decode(b"\x00garbage" * 10)


def test_tensor_subclasses_are_flattened_before_sending():
    class AlwaysEqual(torch.Tensor):
        def __eq__(self, other):
            return True

    sneaky = torch.ones(3).as_subclass(AlwaysEqual)
    plain = wire.plain({"y": sneaky, "p": torch.nn.Parameter(torch.ones(2))})
    assert type(plain["y"]) is torch.Tensor
    assert type(plain["p"]) is torch.Tensor and not plain["p"].requires_grad


def test_parameters_on_the_wire_are_rejected_by_the_judge():
    buffer = io.BytesIO()
    torch.save({"p": torch.nn.Parameter(torch.ones(2))}, buffer)
    with pytest.raises(wire.WireError):
        wire.decode(buffer.getvalue())


def test_every_dtype_and_shape_round_trips_bit_for_bit():
    values = {
        name: (torch.arange(6) % 3).to(dtype).reshape(2, 3) for name, dtype in wire.DTYPES.items()
    }
    values["nan_and_signed_zero"] = torch.tensor([float("nan"), -0.0, float("inf")])
    values["scalar"] = torch.tensor(3.5, dtype=torch.float64)
    values["empty"] = torch.zeros(0, 4)
    values["transposed"] = torch.arange(6.0).reshape(2, 3).t()
    decoded = wire.decode(wire.encode(values))
    for name, expected in values.items():
        actual = decoded[name]
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, name
        assert torch.equal(actual.view(-1), expected.reshape(-1)) or name == "nan_and_signed_zero"
    nan_row = decoded["nan_and_signed_zero"]
    assert torch.isnan(nan_row[0]) and torch.signbit(nan_row[1]) and torch.isinf(nan_row[2])


def test_containers_and_scalars_keep_their_kind():
    value = {
        "list": [1, [2.0, ("a",)]],
        "tuple": (None, True, -0.0),
        "big": 2**80,
        "text": "\ud800 lone surrogate, 한국어",
        "nan": float("nan"),
        "tag_like": ["x", 0],
        "nested": {"l": []},
    }
    decoded = wire.decode(wire.encode(value))
    assert decoded["list"] == [1, [2.0, ("a",)]] and type(decoded["list"][1][1]) is tuple
    assert decoded["tuple"] == (None, True, -0.0) and type(decoded["tuple"][1]) is bool
    assert decoded["big"] == 2**80 and decoded["text"] == value["text"]
    assert decoded["nan"] != decoded["nan"]
    assert decoded["tag_like"] == ["x", 0] and decoded["nested"] == {"l": []}


def _forged(structure: dict, blob: bytes = b"") -> bytes:
    import json
    import struct

    text = json.dumps(structure).encode()
    return b"TGW1" + struct.pack("!I", len(text)) + text + blob


@pytest.mark.parametrize(
    "payload",
    [
        _forged({"v": ["x", 0], "t": [["float32", [2], 0, 8]]}, b"\x00" * 4),  # bytes missing
        _forged({"v": ["x", 0], "t": [["float32", [2], 0, 4]]}, b"\x00" * 4),  # size lies
        _forged({"v": ["x", 0], "t": [["float32", [1], 4, 4]]}, b"\x00" * 8),  # offset lies
        _forged({"v": ["x", 0], "t": [["object", [1], 0, 8]]}, b"\x00" * 8),  # unknown dtype
        _forged({"v": ["x", 1], "t": [["uint8", [1], 0, 1]]}, b"\x01"),  # no such tensor
        _forged({"v": None, "t": []}, b"extra"),  # bytes left over
        _forged({"v": ["q", 1], "t": []}),  # unknown tag
        _forged({"v": {"raw": "dict"}, "t": []}),  # untagged container
        _forged({"v": ["d", {"a": 1}, 2], "t": []}),
        _forged({"v": ["l"], "t": [["uint8", [-1], 0, 0]]}),  # negative dimension
        b"TGW1" + b"\xff\xff\xff\xff",  # cut short
        b"TGW1\x00\x00\x00\x05" + b"[" * 5,  # not a structure
        _forged({"v": None, "t": []})[:4] + b"\x00\x00\x10\x00" + b"[" * 4096,
    ],
)
def test_forged_payloads_are_rejected(payload):
    with pytest.raises(wire.WireError):
        wire.decode(payload)


def test_deep_nesting_is_rejected_both_ways():
    value: list = []
    for _ in range(wire.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(wire.WireError):
        wire.encode(value)
    nested: object = None
    for _ in range(wire.MAX_DEPTH + 2):
        nested = ["l", nested]
    with pytest.raises(wire.WireError):
        wire.decode(_forged({"v": nested, "t": []}))


def test_a_forged_bool_tensor_holds_only_true_and_false():
    decoded = wire.decode(_forged({"v": ["x", 0], "t": [["bool", [3], 0, 3]]}, b"\x00\x07\x01"))
    assert decoded.tolist() == [False, True, True]
    assert decoded.view(torch.uint8).tolist() == [0, 1, 1]
