"""Hostile, on top of a wrong solution (the gradients have the wrong sign): sigmoid prints
300 MB when it sees large inputs, and optimize tries to fill the disk and to open thousands
of files. Each prints what happened, and the solution then carries on."""

import os

import torch
from torch import nn

FLOOD_LINES = 300 * 1024
LINE = "x" * 1023


def _flood():
    for _ in range(FLOOD_LINES):
        print(LINE)
    print("FLOOD done")


def _fill_disk():
    block = b"\0" * (1 << 20)
    try:
        with open("big.bin", "wb") as handle:
            for _ in range(200):
                handle.write(block)
        print("DISK one big file: written")
    except OSError as exc:
        print(f"DISK one big file: {type(exc).__name__} errno={exc.errno}")
    written = 0
    try:
        for index in range(400):
            with open(f"part{index}.bin", "wb") as handle:
                for _ in range(16):
                    handle.write(block)
                    written += 1
        print(f"DISK many files: {written} MiB written")
    except OSError as exc:
        print(f"DISK many files: {type(exc).__name__} errno={exc.errno} after {written} MiB")
    for name in os.listdir("."):
        if name.endswith(".bin"):
            os.remove(name)


def _open_files():
    handles = []
    try:
        for _ in range(5000):
            handles.append(open(os.devnull))
        print("FILES: opened 5000")
    except OSError as exc:
        print(f"FILES: {type(exc).__name__} errno={exc.errno} after {len(handles)}")
    for handle in handles:
        handle.close()


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr
        self.tricks_done = False

    def sigmoid(self, z):
        if z.numel() == 9 and z.abs().max() >= 1e4:
            _flood()
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
        if not self.tricks_done:
            self.tricks_done = True
            _fill_disk()
            _open_files()
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
