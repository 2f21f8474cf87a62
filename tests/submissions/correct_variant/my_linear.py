import torch
from torch import nn


class MyLinear(nn.Module):
    """Linear layer y = x W + b, with W stored as (in_features, out_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features

        # Same uniform range as nn.Linear's default init.
        bound = 1.0 / in_features**0.5
        weights = torch.empty(in_features, out_features)
        nn.init.uniform_(weights, -bound, bound)
        self.register_parameter("weights", nn.Parameter(weights))

        if bias:
            b = torch.rand(out_features) * 2 * bound - bound
            self.register_parameter("bias", nn.Parameter(b))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        out = torch.matmul(x, self.weights)
        if self.bias is None:
            return out
        return out + self.bias
