"""MyLinear written the lecture's way: one `device`, and `.to(device)` everywhere."""

import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features).to(device))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features).to(device))
        else:
            self.bias = None

    def forward(self, x):
        x = x.to(device)
        out = torch.matmul(x, self.weights)
        if self.bias is not None:
            out = out + self.bias
        return out


if __name__ == "__main__":
    layer = MyLinear(3, 2).to(device)
    print(layer(torch.randn(4, 3).to(device)).shape)
