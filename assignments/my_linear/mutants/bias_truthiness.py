"""forward tests `if self.bias:`, which raises for a bias of more than one value.

clauses: forward-values
catches: shapes, values, gradients, convergence
hint: no single truth value
"""

import torch
from torch import nn


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
        if self.bias:
            return x @ self.weights + self.bias
        return x @ self.weights
