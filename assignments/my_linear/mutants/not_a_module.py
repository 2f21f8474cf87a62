"""MyLinear is a plain class, not a subclass of nn.Module.

clauses: class-module
catches: api, shapes, values, gradients, convergence
hint: class MyLinear(nn.Module)
"""

import torch
from torch import nn


class MyLinear:
    def __init__(self, in_features, out_features, bias=True):
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features)) if bias else None

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
