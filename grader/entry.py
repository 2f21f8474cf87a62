"""The `grade` console script: the CLI, imported with the cyclic garbage collector paused.

Importing torch and the grader allocates about a million objects that live until the
process exits. Collections during those imports would only walk them (0.4 s of CPU, a fifth
of `import torch` itself), and a collection in any process forked later would write to every
one of them and so copy the whole heap. They are frozen instead: the collector ignores them
from then on, here and in every fork.
"""

from __future__ import annotations

import gc


def main() -> None:
    collecting = gc.isenabled()
    gc.disable()
    try:
        from grader.cli import main as cli_main
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    cli_main()
