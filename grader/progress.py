"""Progress of a batch: a redrawn bar on a terminal, one plain line per submission elsewhere."""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 24
LINE = "{done}/{total} {student}: {outcome}"
BAR = "\r\x1b[2K[{bar}] {done}/{total}  {rate:.2f}/s  ETA {eta}  {student}"


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts finished submissions; the rate and ETA count only those graded in this run."""

    def __init__(self, total: int, stream: TextIO, tty: bool, already_done: int = 0) -> None:
        self.total = total
        self.stream = stream
        self.tty = tty
        self.done = already_done
        self.start_done = already_done
        self.started = time.monotonic()

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        graded = self.done - self.start_done
        return graded / elapsed if elapsed > 0 and graded else 0.0

    def eta(self) -> str:
        rate = self.rate()
        return _clock((self.total - self.done) / rate) if rate else "?"

    def advance(self, student: str, outcome: str) -> None:
        self.done += 1
        if self.tty:
            filled = BAR_WIDTH * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(
                BAR.format(
                    bar=bar,
                    done=self.done,
                    total=self.total,
                    rate=self.rate(),
                    eta=self.eta(),
                    student=student[:30],
                )
            )
        else:
            self.stream.write(
                LINE.format(done=self.done, total=self.total, student=student, outcome=outcome)
                + "\n"
            )
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
