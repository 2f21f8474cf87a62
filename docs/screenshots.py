"""Make the README's screenshots: a student's report.html and the class dashboard.

    python docs/screenshots.py

Grades sample submissions from tests/submissions with the installed `grade`, then photographs
both pages with the same headless Chromium the browser tests use (tests/browser.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import browser  # noqa: E402

SUBMISSIONS = ROOT / "tests" / "submissions"
CLASS = ("correct_variant", "training_loop_no_zero_grad", "my_linear_transposed", "syntax_error")


def grade(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "grader", *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="torchgrade-shots-") as scratch:
        work = Path(scratch)
        report = work / "report"
        grade(
            "submit",
            str(SUBMISSIONS / "training_loop_no_zero_grad"),
            "--out",
            str(report),
            "--format",
            "html",
            "--assignment",
            "training_loop",
        )
        browser.render(report / "report.html", ROOT / "docs" / "report.png")
        roster = work / "class"
        for name in CLASS:
            shutil.copytree(SUBMISSIONS / name, roster / name)
        grade("batch", str(roster), "--out", str(work / "out"), "--jobs", "2")
        browser.render(work / "out" / "summary.html", ROOT / "docs" / "dashboard.png")
    print("wrote docs/report.png and docs/dashboard.png")


if __name__ == "__main__":
    main()
