"""A notebook of all four exercises against the same four `.py` files: the cost of reading it.

    python benchmarks/notebook.py [--repeats N]

Grades `reference/` (four `.py` files) and `reference/notebook/` (the same code as one
notebook), alternating, and prints the median wall and CPU time of each and their ratio. The
issue's target is a notebook within 10% of the `.py` files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import REPO, grade, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folders = {"py files": REPO / "reference", "notebook": REPO / "reference" / "notebook"}
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in folders}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeats):
            for key, folder in folders.items():
                sample = timed(grade("submit", folder, "--out", Path(out) / key))
                samples[key].append((sample.wall, sample.cpu))
    medians = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in samples.items()
    }
    for key, (wall, cpu) in medians.items():
        print(f"{key:10s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    (py_wall, py_cpu), (nb_wall, nb_cpu) = medians["py files"], medians["notebook"]
    print(f"notebook / py files: wall {nb_wall / py_wall:.3f}, cpu {nb_cpu / py_cpu:.3f}")


if __name__ == "__main__":
    main()
