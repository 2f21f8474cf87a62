"""Time the grader against the floor and the baselines on this machine; write results.md.

    python benchmarks/run.py            # the full run (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer repeats and a smaller class, for a smoke test

Every measurement is a real process, timed from the outside: wall time, and the CPU time of
the whole process tree (from wait4, which includes every reaped descendant), so a busy machine
shows up as wall time well above CPU time instead of silently skewing the numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SUBMISSIONS = REPO / "tests" / "submissions"
NAIVE_TEST = HERE / "naive" / "test_naive.py"
RESULTS = HERE / "results.md"
PYTHON = sys.executable

CORRECT = [REPO / "reference", SUBMISSIONS / "correct_variant"]
BUGGY = [
    SUBMISSIONS / name
    for name in (
        "my_linear_transposed",
        "my_linear_plain_tensor",
        "training_loop_no_zero_grad",
        "training_loop_step_before_backward",
        "scratch_lr_sign_error",
        "scratch_lr_sum_not_mean",
    )
]
HANGING = SUBMISSIONS / "infinite_loop"
HANG_EVERY = 20


@dataclass
class Sample:
    wall: float
    cpu: float


@dataclass
class Measure:
    name: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)


def timed(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Run `command`; wall time and the CPU time of its whole (reaped) process tree."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{command[:4]} failed with exit code {process.returncode}")
    return Sample(wall, usage.ru_utime + usage.ru_stime)


def grade(*args: object) -> list[str]:
    return [PYTHON, "-m", "grader", *(str(a) for a in args)]


class TreeMemory:
    """Peak memory of a process tree, sampled from /proc: summed RSS and summed PSS.

    RSS counts a page once per process that maps it, so forked workers sharing torch are
    counted many times over; PSS splits each shared page between its sharers and adds up to
    the physical memory the tree really uses.
    """

    def __init__(self, root_pid: int, interval: float = 0.2) -> None:
        self.root = root_pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        found, frontier = [self.root], [self.root]
        while frontier:
            pid = frontier.pop()
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as handle:
                        children = [int(p) for p in handle.read().split()]
                    found += children
                    frontier += children
            except OSError:
                continue
        return found

    @staticmethod
    def _rollup(pid: int) -> tuple[int, int]:
        rss = pss = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss = int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss = int(line.split()[1]) * 1024
        except OSError:
            pass
        return rss, pss

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            totals = [self._rollup(pid) for pid in tree]
            self.peak_rss = max(self.peak_rss, sum(r for r, _ in totals))
            self.peak_pss = max(self.peak_pss, sum(p for _, p in totals))
            self.peak_processes = max(self.peak_processes, len(tree))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def make_class(root: Path, count: int, correct_only: bool = False) -> dict[str, int]:
    """`count` submissions: mostly correct, some buggy, one in HANG_EVERY hanging."""
    root.mkdir(parents=True)
    kinds = {"correct": 0, "buggy": 0, "hanging": 0}
    for index in range(count):
        if correct_only:
            source, kind = CORRECT[index % len(CORRECT)], "correct"
        elif index % HANG_EVERY == HANG_EVERY - 1:
            source, kind = HANGING, "hanging"
        elif index % 3 == 2:
            source, kind = BUGGY[index // 3 % len(BUGGY)], "buggy"
        else:
            source, kind = CORRECT[index % len(CORRECT)], "correct"
        shutil.copytree(source, root / f"student{index:04d}")
        kinds[kind] += 1
    return kinds


def batch_run(
    root: Path, out: Path, jobs: int, memory: bool = False
) -> tuple[Sample, TreeMemory | None]:
    shutil.rmtree(out, ignore_errors=True)
    command = grade("batch", root, "--out", out, "--timeout", 1, "--jobs", jobs, "--no-resume")
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampler = TreeMemory(process.pid) if memory else None
    if sampler:
        sampler.__enter__()
    _, status, usage = os.wait4(process.pid, 0)
    if sampler:
        sampler.__exit__()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"grade batch failed on {root}")
    return Sample(time.monotonic() - started, usage.ru_utime + usage.ru_stime), sampler


def _tree_cpu(root: int) -> float:
    """CPU seconds of a live process tree: each process's own time plus its reaped children's."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, frontier, seen = 0.0, [root], set()
    while frontier:
        pid = frontier.pop()
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / ticks
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as handle:
                    frontier += [int(p) for p in handle.read().split() if int(p) not in seen]
        except (OSError, ValueError):
            continue
    return total


def watch_regrades(scratch: Path, count: int) -> Measure:
    """`grade watch` on a copy of reference/ (my_linear only): from the save to the rewritten
    report.json, and the CPU the watch's process tree spent on each regrade."""
    folder, out = scratch / "watched", scratch / "watch-out"
    shutil.copytree(REPO / "reference", folder)
    log = scratch / "watch.log"
    command = grade("watch", folder, "-a", "my_linear", "--out", out)
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    result = Measure("watch")
    try:
        while "watching" not in log.read_text():
            if process.poll() is not None:
                raise RuntimeError("grade watch stopped: " + log.read_text()[-500:])
            time.sleep(0.1)
        student = folder / "my_linear.py"
        original = student.read_text()
        for index in range(count):
            report = (out / "report.json").read_bytes()
            time.sleep(1.0)  # let the tree settle; the poll itself costs next to nothing
            cpu_before = _tree_cpu(process.pid)
            text = (
                original
                if index % 2
                else original.replace("y = x @ self.weights", "y = x @ self.weights * 2", 1)
            )
            started = time.monotonic()
            student.write_text(text)
            while (out / "report.json").read_bytes() == report:
                time.sleep(0.01)
            wall = time.monotonic() - started
            time.sleep(0.3)
            result.samples.append(Sample(wall, _tree_cpu(process.pid) - cpu_before))
    finally:
        process.send_signal(2)
        process.wait(timeout=60)
    return result


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a class of 20")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each small measure")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument("--no-large", action="store_true", help="skip the batch over 200")
    parser.add_argument("--class", dest="class_size", type=int, default=None, help="class size")
    parser.add_argument(
        "--marginal",
        type=int,
        nargs=2,
        default=(10, 50),
        metavar=("FROM", "TO"),
        help="the two batch sizes of correct copies the marginal slope is taken between",
    )
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    small, large = (20, 40) if args.quick else (40, 200)
    small = args.class_size or small
    low, high = args.marginal
    jobs = 2
    load_before = load()
    measures: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory(prefix="torchgrade-bench-") as scratch_name:
        scratch = Path(scratch_name)

        def measure(name: str, command: list[str], runs: int, **kwargs: object) -> Measure:
            result = measures[name] = Measure(name)
            timed(command, **kwargs)  # type: ignore[arg-type]
            for _ in range(runs):
                result.samples.append(timed(command, **kwargs))  # type: ignore[arg-type]
            print(f"{name}: wall {result.wall:.2f} s, cpu {result.cpu:.2f} s", flush=True)
            return result

        floor = measure("floor", [PYTHON, "-c", "import torch"], repeats)
        submit = measure(
            "submit", grade("submit", REPO / "reference", "--out", scratch / "one"), repeats
        )
        serial = measure(
            "submit_serial",
            grade("submit", REPO / "reference", "--out", scratch / "one", "--jobs", 1),
            repeats,
        )
        cold_one = measure(
            "submit_one",
            grade("submit", REPO / "reference", "-a", "my_linear", "--out", scratch / "one"),
            repeats,
        )
        watch = measures["watch"] = watch_regrades(scratch, 2 * repeats)
        print(f"watch regrade: wall {watch.wall:.2f} s, cpu {watch.cpu:.2f} s", flush=True)
        naive = measure(
            "naive",
            [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(NAIVE_TEST)],
            repeats,
            env={"SUBMISSION": str(REPO / "reference")},
            cwd=scratch,
        )

        kinds_small = make_class(scratch / "small", small)
        kinds_large = make_class(scratch / "large", large) if not args.no_large else {}
        make_class(scratch / f"correct{low}", low, correct_only=True)
        make_class(scratch / f"correct{high}", high, correct_only=True)

        batch_small = measures["batch_small"] = Measure("batch_small")
        peak: TreeMemory | None = None
        for run in range(max(2, repeats - 2)):
            sample, sampler = batch_run(scratch / "small", scratch / "out-small", jobs, run == 0)
            peak = peak or sampler
            batch_small.samples.append(sample)
        print(f"batch {small}: wall {batch_small.wall:.2f} s", flush=True)
        batch_large = measures["batch_large"] = Measure("batch_large")
        if not args.no_large:
            batch_large.samples.append(batch_run(scratch / "large", scratch / "out-large", jobs)[0])
            print(f"batch {large}: wall {batch_large.wall:.2f} s", flush=True)
        marginal = {}
        for count in (low, high):
            runs = [
                batch_run(scratch / f"correct{count}", scratch / f"out-c{count}", jobs)[0]
                for _ in range(1 if args.quick else 2)
            ]
            marginal[count] = Measure(f"correct{count}", runs)
        print("marginal runs done", flush=True)

        sequential = measures["sequential"] = Measure("sequential")
        started = time.monotonic()
        cpu = 0.0
        for folder in sorted((scratch / "small").iterdir()):
            sample = timed(grade("submit", folder, "--out", scratch / "seq", "--timeout", 1))
            cpu += sample.cpu
        sequential.samples.append(Sample(time.monotonic() - started, cpu))
        print(f"{small} sequential submits: wall {sequential.wall:.2f} s", flush=True)

    assert peak is not None
    write_results(
        args.out,
        Results(
            floor=floor,
            submit=submit,
            serial=serial,
            cold_one=cold_one,
            watch=watch,
            naive=naive,
            batch_small=batch_small,
            batch_large=batch_large,
            sequential=sequential,
            small=small,
            large=large,
            kinds_small=kinds_small,
            kinds_large=kinds_large,
            marginal_core_seconds=(marginal[high].wall - marginal[low].wall) / (high - low) * jobs,
            marginal_cpu=(marginal[high].cpu - marginal[low].cpu) / (high - low),
            marginal_range=(low, high),
            peak=peak,
            jobs=jobs,
            repeats=repeats,
            load_before=load_before,
            load_after=load(),
        ),
    )
    print(f"wrote {args.out}")


@dataclass
class Results:
    floor: Measure
    submit: Measure
    serial: Measure
    cold_one: Measure
    watch: Measure
    naive: Measure
    batch_small: Measure
    batch_large: Measure
    sequential: Measure
    small: int
    large: int
    kinds_small: dict[str, int]
    kinds_large: dict[str, int]
    marginal_core_seconds: float
    marginal_cpu: float
    marginal_range: tuple[int, int]
    peak: TreeMemory
    jobs: int
    repeats: int
    load_before: str
    load_after: str


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×"


def write_results(out: Path, r: Results) -> None:
    gib = 1 << 30
    floor, submit, small, large, jobs = r.floor, r.submit, r.small, r.large, r.jobs
    speedup = r.sequential.wall / r.batch_small.wall
    speedup_cpu = r.sequential.cpu / r.batch_small.cpu
    pss = r.peak.peak_pss / gib
    rows = [
        ("floor: `python -c 'import torch'`", floor),
        ("`grade submit reference/` (whole process)", submit),
        ("`grade submit reference/ --jobs 1` (serial)", r.serial),
        ("`grade submit reference/ -a my_linear` (one exercise, cold)", r.cold_one),
        ("`grade watch`: one regrade of my_linear, save to report.json", r.watch),
        ("naive baseline: pytest on a plain test file, one process", r.naive),
        (f"`grade batch` over {small} (--jobs {jobs})", r.batch_small),
        *(
            [(f"`grade batch` over {large} (--jobs {jobs})", r.batch_large)]
            if r.batch_large.samples
            else []
        ),
        (f"{small} sequential `grade submit`s", r.sequential),
    ]
    targets = [
        (
            "`grade submit` ≤ 1.5× floor (CPU; wall)",
            f"{_ratio(submit.cpu, floor.cpu)}; {_ratio(submit.wall, floor.wall)}",
            submit.cpu <= 1.5 * floor.cpu,
        ),
        (
            "batch marginal cost ≤ 0.25 s per correct submission per core",
            f"{r.marginal_core_seconds:.2f} core-s of wall time; {r.marginal_cpu:.2f} CPU-s",
            min(r.marginal_core_seconds, r.marginal_cpu) <= 0.25,
        ),
        (
            f"batch over {small} ≥ 10× faster than {small} sequential submits",
            f"{speedup_cpu:.1f}× in CPU; {speedup:.1f}× in wall",
            speedup_cpu >= 10,
        ),
        (
            "`grade watch` regrade of one exercise within 0.5 s of the save",
            f"{r.watch.wall:.2f} s wall, {r.watch.cpu:.2f} CPU-s "
            f"({_ratio(r.watch.cpu, r.cold_one.cpu)} of a cold one-exercise submit's CPU)",
            r.watch.wall <= 0.5,
        ),
        (
            f"peak memory of a batch (PSS) ≤ 1.5 GiB with --jobs {jobs}",
            f"{pss:.2f} GiB",
            pss <= 1.5,
        ),
    ]
    large_run = f"one run over {large}" if r.kinds_large else f"none over {large} (--no-large)"
    large_class = f"; of {large}: {r.kinds_large}" if r.kinds_large else ""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python benchmarks/run.py` on {platform.platform()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores. Load average before: "
        f"{r.load_before}; after: {r.load_after}. Single-process measures: medians of "
        f"{r.repeats} runs after one warm-up run. Batches: `--timeout 1 --jobs {jobs}`, median "
        f"of several runs over {small}, {large_run}; one pass of {small} sequential "
        "`grade submit --timeout 1` over the same class.",
        "",
        f"The class of {small}: {r.kinds_small}{large_class} (copies of "
        "reference/ and tests/submissions; a hanging one times out on every scratch_lr check "
        "that calls forward).",
        "",
        "| measure | wall (median) | CPU, whole process tree | CPU vs floor | wall vs floor |",
        "|---|---|---|---|---|",
    ]
    for label, measure in rows:
        ratio = _ratio(measure.wall, floor.wall)
        cpu_ratio = _ratio(measure.cpu, floor.cpu)
        lines.append(
            f"| {label} | {measure.wall:.2f} s | {measure.cpu:.2f} s | {cpu_ratio} | {ratio} |"
        )
    lines += [
        "",
        f"- Per submission, batch over {small}: {r.batch_small.wall / small:.3f} s wall, "
        f"{r.batch_small.cpu / small:.3f} s CPU"
        + (
            f"; over {large}: {r.batch_large.wall / large:.3f} s wall, "
            f"{r.batch_large.cpu / large:.3f} s CPU."
            if r.batch_large.samples
            else "."
        ),
        "- Marginal cost of a correct submission (slope between batches of "
        f"{r.marginal_range[0]} and {r.marginal_range[1]} correct "
        f"copies): {r.marginal_core_seconds / jobs:.3f} s wall with {jobs} jobs, i.e. "
        f"{r.marginal_core_seconds:.3f} core-seconds; {r.marginal_cpu:.3f} CPU-seconds by rusage.",
        f"- Naive baseline for the {small}: about {r.naive.wall * small:.0f} s (median × {small}); "
        "no sandbox and no timeout, so a hanging submission would block it forever.",
        f"- Speed-up of the batch over {small} sequential submits: {speedup:.1f}×; over the "
        f"naive baseline: {r.naive.wall * small / r.batch_small.wall:.1f}×.",
        f"- Peak memory of the batch over {small}: PSS {pss:.2f} GiB (physical memory; pages "
        f"shared between forks counted once); summed RSS {r.peak.peak_rss / gib:.2f} GiB (each "
        f"shared page counted once per process); at most {r.peak.peak_processes} processes.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for label, value, met in targets:
        lines.append(f"| {label} | {value} | {'yes' if met else 'no'} |")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
