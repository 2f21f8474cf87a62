"""A correct my linear in the style: device attached forward.

permits: any-init
"""

import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features, device=device))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features, device=device))
        else:
            self.bias = None


def forward(self, x):
    x = x.to(device)
    if self.bias is None:
        return x @ self.weights
    return x @ self.weights + self.bias


MyLinear.forward = forward

if __name__ == "__main__":
    layer = MyLinear(3, 2).to(device)
    print(layer(torch.randn(4, 3).to(device)).shape)
