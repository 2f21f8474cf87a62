"""Hostile: a process flood at import (bounded at 400, so a test can never take the machine).

Every probe forks children that sleep, until fork fails or 400 are running, says how far it
got ('FLOOD forked N: <how it stopped>'), then waits on them forever. The sandbox must stop the
flood at its per-sandbox process limit, kill every one of them, and give up on the exercise
after two deadlines.
"""

import ctypes
import os
import time

FLOOD_CAP = 400

_children = 0
_stopped = "reached the cap"
while _children < FLOOD_CAP:
    try:
        _pid = os.fork()
    except OSError as _exc:
        _stopped = f"{type(_exc).__name__} errno={_exc.errno}"
        break
    if _pid == 0:
        ctypes.CDLL(None).prctl(15, b"tg-flood", 0, 0, 0)  # PR_SET_NAME, for the test to find
        time.sleep(3600)
        os._exit(0)
    _children += 1
print(f"FLOOD forked {_children}: {_stopped}", flush=True)
while True:
    time.sleep(1)
