"""Hostile: 64 threads that spin forever, started at import, then a solution that never ends.

The threads fight for the interpreter lock and the cores for as long as the probe lives; the
exercise must give up after two deadlines.
"""

import threading


def _spin():
    while True:
        pass


for _ in range(64):
    threading.Thread(target=_spin, daemon=True).start()


class MyLinear:
    def __init__(self, in_features, out_features, bias=True):
        while True:
            pass
