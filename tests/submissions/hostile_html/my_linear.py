"""Hostile: a correct MyLinear whose output and errors try to inject markup into report.html."""

import torch
from torch import nn

PAYLOADS = [
    "<script>document.body.setAttribute('data-pwned', 'script')</script>",
    "<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)></svg>",
    "</pre></article><script>alert(2)</script>",
    '<link rel="stylesheet" href="https://example.invalid/x.css">',
    "\"'><iframe src=https://example.invalid></iframe>",
]
print("\n".join(PAYLOADS))


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        if x.dim() == 3:
            raise ValueError("<img src=x onerror=alert(3)> <script>alert(4)</script>")
        out = x @ self.weights
        return out + self.bias if self.bias is not None else out
