"""forward reshapes x to (-1, in_features), losing the leading dimensions.

clauses: forward-shapes
catches: shapes, values
hint: flattens the input's leading dimensions
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
            self.register_parameter("bias", None)

    def forward(self, x):
        x = x.view(-1, self.in_features)
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
