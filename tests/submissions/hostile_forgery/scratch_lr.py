"""Hostile, on top of a wrong solution (the gradients have the wrong sign): it forges results.
It writes a perfect report.json and results.json wherever a grader might look (the working
directory, a guessed --out folder, /tmp, $GITHUB_OUTPUT, $GITHUB_STEP_SUMMARY), prints fake
score lines and GitHub workflow commands, and tries to reach the network. It prints one line
per attempt; the test reads them from the report."""

import json
import os
import socket

import torch
from torch import nn

FORGED = {"tool": "torchgrade", "score": 30, "max_score": 30, "tests": [], "forged": True}


def _forge():
    targets = [
        "report.json",
        "results.json",
        os.path.join("grade-report", "report.json"),
        os.path.join("..", "report.json"),
        os.path.join("..", "..", "grade-report", "report.json"),
        "/tmp/report.json",
        "/tmp/results.json",
        "/autograder/results/results.json",
    ]
    for variable in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        targets.append(os.environ.get(variable) or f"<{variable} is not set>")
    for target in targets:
        try:
            folder = os.path.dirname(target)
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(target, "w") as handle:
                json.dump(FORGED, handle)
            print(f"FORGE {target}: written")
        except OSError as exc:
            print(f"FORGE {target}: {type(exc).__name__}")


def _network():
    attempts = [
        ("tcp 127.0.0.1:22", socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 22)),
        ("tcp 1.1.1.1:443", socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 443)),
        ("udp 8.8.8.8:53", socket.AF_INET, socket.SOCK_DGRAM, ("8.8.8.8", 53)),
        ("tcp6 ::1:22", socket.AF_INET6, socket.SOCK_STREAM, ("::1", 22)),
    ]
    for label, family, kind, address in attempts:
        try:
            with socket.socket(family, kind) as connection:
                connection.settimeout(0.5)
                connection.connect(address)
                connection.send(b"torchgrade hostile fixture")
            print(f"NET {label}: connected")
        except OSError as exc:
            print(f"NET {label}: {type(exc).__name__}")


_forge()
_network()
print("::notice title=Autograding::Points 30/30")
print("::stop-commands::hostile")
print("::set-output name=score::30")
print("::add-mask::nothing")
print("##[error]all checks passed")
print("\x1b]0;fake title\x07\x1b[2J\x1b[32mTotal: 30/30\x1b[0m")
print("Points 30/30")


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def forward(self, x):
        z = self.w.T @ x + self.b
        return self.sigmoid(z)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        dz = y - yhat
        self.grads["dw"] = (1 / m) * (x @ dz.T)
        self.grads["db"] = (1 / m) * torch.sum(dz)

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
