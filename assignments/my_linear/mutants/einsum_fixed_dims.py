"""forward uses torch.einsum("bi,io->bo", ...), which only accepts 2-D x.

clauses: forward-shapes
catches: shapes, values
hint: stands for any leading dimensions
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
        y = torch.einsum("bi,io->bo", x, self.weights)
        if self.bias is not None:
            y = y + self.bias
        return y
