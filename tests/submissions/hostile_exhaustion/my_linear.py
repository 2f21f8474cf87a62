"""Hostile, on top of a wrong solution (forward never adds the bias): it allocates memory
without bound. A 3-d input fills a list with 64 MiB buffers (private memory, stopped by the
rlimit); bias=False fills a shared anonymous mapping (not counted by the rlimit, so only the
grader's memory watchdog can stop it)."""

import mmap

import torch
from torch import nn

CHUNK = 64 << 20


def _fill_private():
    hoard = []
    while True:
        hoard.append(bytearray(CHUNK))


def _fill_shared():
    area = mmap.mmap(-1, 4 << 30)
    block = b"\1" * CHUNK
    while True:
        area.write(block)


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            _fill_shared()
            self.bias = None

    def forward(self, x):
        if x.dim() == 3:
            _fill_private()
        return x @ self.weights
