"""MyLinear as the lecture writes it, slips included (class-name typo, forward outside the class,
no `+ b`, `.to(device)` everywhere). tests/test_exercise_fixtures.py fixes them one at a time."""

import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MyLiner(nn.Module):
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
    return x @ self.weights


if __name__ == "__main__":
    model = MyLiner(3, 2).to(device)
    print(model(torch.randn(4, 3).to(device)))
