"""The bias is a plain zeros tensor with requires_grad=True, so it is not a registered parameter.

clauses: bias-parameter
catches: api, gradients, convergence
hint: Is `bias` an `nn.Parameter`
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
            self.bias = torch.zeros(out_features, requires_grad=True)
        else:
            self.bias = None

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
