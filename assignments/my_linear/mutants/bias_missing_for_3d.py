"""forward flattens a batch of more than two dimensions and reshapes it back, without the bias.

clauses: forward-values
catches: values
hint: For x of shape (2, 5, 3), the output is exactly x @ weights
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
        if x.dim() > 2:
            flat = x.reshape(-1, self.in_features) @ self.weights
            return flat.reshape(*x.shape[:-1], self.out_features)
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
