"""Hostile: at import, a child process stops its parent (the probe) with SIGSTOP.

A stopped process never finishes, so every probe would wait for its deadline; the exercise must
give up after two.
"""

import os
import signal
import time

_parent = os.getpid()
if os.fork() == 0:
    os.kill(_parent, signal.SIGSTOP)
    time.sleep(3600)
    os._exit(0)
time.sleep(3600)
