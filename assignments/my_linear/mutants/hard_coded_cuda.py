"""The parameters are moved with a hard-coded .cuda(), which fails where grading runs (the CPU).

clauses: weights-parameter
catches: api, shapes, values, gradients, convergence
hint: This grader runs on the CPU
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features

        self.weights = nn.Parameter(torch.randn(in_features, out_features).cuda())

        if bias:
            self.bias = nn.Parameter(torch.randn(out_features).cuda())
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
