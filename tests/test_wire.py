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
