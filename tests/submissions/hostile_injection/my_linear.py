"""Hostile, on top of a wrong solution (forward never adds the bias): imports the modules that
this folder shadows, hoping Python picks the shadows up instead of the real ones."""

import numpy  # noqa: F401  (the real one must be found, not ./numpy.py)
import pytest  # noqa: F401
import torch
from torch import nn

import grader  # noqa: F401


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
        return x @ self.weights
