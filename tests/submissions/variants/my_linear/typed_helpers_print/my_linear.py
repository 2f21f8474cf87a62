"""A correct my linear in the style: typed helpers print.

permits: any-init, helpers-ok
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MyLinear(nn.Module):
    """y = x @ W + b, with W stored as (in_features, out_features)."""

    in_features: int
    out_features: int

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.Tensor(in_features, out_features))
        self.bias = nn.Parameter(torch.Tensor(out_features)) if bias else None
        self.reset_parameters()
        print(f"created {self}")

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weights.normal_(0.0, 0.5)
            if self.bias is not None:
                self.bias.fill_(0.0)

    def _affine(self, x: Tensor) -> Tensor:
        y = torch.matmul(x, self.weights)
        return torch.add(y, self.bias) if self.has_bias() else y

    def has_bias(self) -> bool:
        return self.bias is not None

    def forward(self, x: Tensor) -> Tensor:
        return self._affine(x)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"
