"""The weights are a plain tensor with requires_grad=True instead of an nn.Parameter.

clauses: weights-parameter
catches: api, gradients, convergence
hint: Is `weights` an `nn.Parameter`
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = torch.randn(in_features, out_features, requires_grad=True)
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            self.bias = None

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
