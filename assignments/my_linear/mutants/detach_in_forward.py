"""forward uses self.weights.detach(), so no gradient reaches the weights.

clauses: gradients-flow
catches: gradients, convergence
hint: forward uses it detached
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
        y = x @ self.weights.detach()
        if self.bias is not None:
            y = y + self.bias
        return y
