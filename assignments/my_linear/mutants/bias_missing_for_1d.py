"""forward turns a single sample into a batch of one and back, and forgets the bias on the way.

clauses: forward-values
catches: values
hint: For x of shape (3,), the output is exactly x @ weights
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
        if x.dim() == 1:
            return (x.unsqueeze(0) @ self.weights).squeeze(0)
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
