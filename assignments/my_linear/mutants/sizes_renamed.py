"""The sizes are stored as self.in_feature and self.out_feature (singular).

clauses: stores-sizes
catches: api
hint: Found `in_feature`
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_feature = in_features
        self.out_feature = out_features

        self.weights = nn.Parameter(torch.randn(in_features, out_features))

        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
