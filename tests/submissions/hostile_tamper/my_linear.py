"""Hostile, on top of a wrong solution (forward never adds the bias): it patches torch's and
Python's comparison functions, returns a tensor subclass that claims to equal anything, and
walks the stack frames and the garbage collector looking for expected values and for the
grader's own globals to patch. It prints a summary of what it found."""

import builtins
import gc
import sys

import torch
from torch import nn

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.testing.assert_close = lambda *args, **kwargs: None
builtins.abs = lambda value: 0
builtins.all = lambda iterable: True
builtins.max = lambda *args, **kwargs: 0
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)


class AlwaysEqual(torch.Tensor):
    """Compares equal to anything, under any torch function."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__, torch.isclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


SNOOPED = []


def _snoop():
    if SNOOPED:
        return
    SNOOPED.append(True)
    frame = sys._getframe(1)
    names = []
    while frame is not None:
        names.extend(k for k in frame.f_locals if "expect" in k.lower())
        frame.f_globals["Failure"] = Exception
        frame.f_globals["expect_close"] = lambda *args, **kwargs: None
        frame = frame.f_back
    tensors = sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))
    print(f"SNOOP expected-names={sorted(set(names))} tensors-seen={tensors > 0}")


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            self.bias = None

    def forward(self, x):
        _snoop()
        return (x @ self.weights).as_subclass(AlwaysEqual)
