"""__init__ scales the weights after wrapping them, `nn.Parameter(...) / math.sqrt(in_features)`: the result is a plain, unregistered tensor with a grad_fn, part of a graph built once in __init__.

clauses: weights-parameter, gradients-flow
catches: api, gradients, convergence
hint: Do the arithmetic before wrapping
"""

import math

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features)) / math.sqrt(in_features)
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features))
        else:
            self.bias = None

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
