"""report.html and summary.html, rendered by a real headless Chromium (tests/browser.py)."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from grader.formats import charts, dashboard, html
from grader.report import Curve, Report
from tests import browser
from tests.conftest import SUBMISSIONS, run_cli

PAYLOAD_MARK = "data-pwned"


class _Elements(HTMLParser):
    """Every element of a page with its attributes, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script" and data.strip():
            self.scripts.append(data)


def elements(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


def _assert_no_active_content(page: str, allowed_scripts: int = 0) -> None:
    found = elements(page)
    scripts = [a for tag, a in found.elements if tag == "script"]
    assert len(scripts) == allowed_scripts
    handlers = [(tag, k) for tag, attrs in found.elements for k in attrs if k.startswith("on")]
    assert handlers == []
    links = [a.get("href", "") for tag, a in found.elements if "href" in a]
    assert not [link for link in links if link.strip().lower().startswith("javascript:")]
    assert not [tag for tag, _ in found.elements if tag in {"iframe", "img", "link", "object"}]
    assert all(PAYLOAD_MARK not in attrs for _, attrs in found.elements)


def _report(out: Path) -> Report:
    return Report.model_validate_json((out / "report.json").read_text())


@pytest.fixture(scope="module")
def hostile(grade_folder):
    return grade_folder(SUBMISSIONS / "hostile_html", "--format", "html")


@pytest.fixture(scope="module")
def buggy_loop(grade_folder):
    return grade_folder(SUBMISSIONS / "training_loop_no_zero_grad", "--format", "html")


def test_page_is_one_file_with_a_policy_that_forbids_scripts(buggy_loop):
    page = (buggy_loop.out / html.FILENAME).read_text()
    found = elements(page)
    policy = next(a["content"] for t, a in found.elements if a.get("http-equiv"))
    assert "script-src 'none'" in policy and "default-src 'none'" in policy
    assert not [a for t, a in found.elements if "src" in a]
    assert [a.get("href", "#")[0] for t, a in found.elements if "href" in a] in ([], ["#"])


def test_the_same_report_renders_to_the_same_bytes(buggy_loop):
    report = _report(buggy_loop.out)
    assert (
        html.render(report) == html.render(report) == (buggy_loop.out / html.FILENAME).read_text()
    )


def test_chart_shows_both_curves_and_where_they_part(buggy_loop, tmp_path):
    report = _report(buggy_loop.out)
    charted = [
        c
        for a in report.assignments
        for c in a.checks
        if c.curves and c.visibility == "visible" and c.status == "failed"
    ]
    assert charted, "the buggy training loop's failed comparison carries its curves"
    rendered = browser.render(buggy_loop.out / html.FILENAME)
    dom = rendered.dom
    assert rendered.requests == []
    for check in charted:
        curve = check.curves[0]
        assert curve.expected and curve.diverges_at is not None
        anchor = re.search(rf'<article[^>]*id="([^"]+)" data-check="{re.escape(check.id)}"', dom)
        assert anchor, check.name
        salt = f"{anchor.group(1)}-0"
        for role, values in (("actual", curve.actual), ("expected", curve.expected)):
            group = re.search(rf'<g id="{role}-{re.escape(salt)}">(.*?)</g>\s*</g>', dom, re.S)
            assert group, (role, salt)
            finite = sum(isinstance(v, float) and math.isfinite(v) for v in values)
            assert group.group(1).count("<use ") == finite
        article = dom[anchor.start() : dom.index("</article>", anchor.start())]
        assert article.count("<tr") == len(curve.x) + 1
        assert f"epoch {curve.diverges_at}" in article


@pytest.mark.parametrize("policy", ["with the policy", "without the policy"])
def test_hostile_markup_stays_text_in_the_browser(hostile, tmp_path, policy):
    page = (hostile.out / html.FILENAME).read_text()
    assert "&lt;script&gt;" in page
    if policy == "without the policy":
        page, removed = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
        assert removed == 1
    target = tmp_path / "report.html"
    target.write_text(page)
    rendered = browser.render(target)
    _assert_no_active_content(rendered.dom)
    assert "<title>pwned" not in rendered.dom
    assert "&lt;img src=x onerror=" in rendered.dom
    assert rendered.requests == []


def test_the_request_watcher_sees_an_external_fetch(tmp_path):
    """Positive control for the network assertions: a page that does fetch is caught."""
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><img src="http://torchgrade-test.invalid/x.png">')
    assert browser.render(page).requests


def test_korean_report_is_labelled_in_korean(grade_folder):
    graded = grade_folder(
        SUBMISSIONS / "training_loop_no_zero_grad", "--format", "html", "--lang", "ko"
    )
    page = (graded.out / html.FILENAME).read_text()
    assert '<html lang="ko">' in page
    assert "그래프의 수치" in page and "힌트" in page and "학습 루프" in page
    assert re.search(r"<text[^>]*>[^<]*에포크별 손실", page)


def test_chart_marks_non_finite_points_and_keeps_both_curves_visible():
    curve = Curve(
        label="loss",
        x=[1, 2, 3, 4, 5],
        actual=[1.0, 40.0, 3e9, float("inf"), float("nan")],
        expected=[1.0, 0.5, 0.25, 0.12, 0.06],
        diverges_at=2,
    )
    svg = charts.curve_svg(curve, "t", "yours", "expected")
    assert svg == charts.curve_svg(curve, "t", "yours", "expected")
    assert 'id="actual-nonfinite-t"' in svg
    assert re.search(r'id="actual-nonfinite-t">(.*?)</g>', svg, re.S).group(1).count("<use ") == 2
    assert "10^" in svg or "10<" in svg or "mathdefault" in svg, "a log scale for a 1e9 span"
    assert charts.curve_svg(curve, "u", "yours", "expected") != svg


def test_a_student_view_drops_the_curves_of_hidden_checks(buggy_loop):
    report = _report(buggy_loop.out)
    hidden = [
        c for a in report.assignments for c in a.checks if c.visibility != "visible" and c.curves
    ]
    assert hidden
    student_page = html.render(report, student=True)
    instructor_page = html.render(report, student=False)
    assert student_page.count("<svg") < instructor_page.count("<svg")


# --- the class dashboard ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def class_out(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for name in ("correct_variant", "training_loop_no_zero_grad", "hostile_html", "syntax_error"):
        shutil.copytree(SUBMISSIONS / name, root / name)
    out = tmp_path_factory.mktemp("class-out")
    result = run_cli("batch", root, "--out", out, "--jobs", "2", "--format", "html")
    assert result.exit_code == 0, result.output
    return out


def test_dashboard_has_histograms_failure_rates_and_links(class_out):
    page = (class_out / dashboard.FILENAME).read_text()
    found = elements(page)
    assert page.count("<svg") == 4
    rates = [float(m) for m in re.findall(r'<td class="num">(\d+)%</td>', page)]
    assert rates and rates == sorted(rates, reverse=True) and rates[0] > 0
    links = [a["href"] for t, a in found.elements if t == "a" and not a["href"].startswith("#")]
    assert len(links) >= 4
    for link in links:
        assert (class_out / link).is_file(), link
    instructor = (class_out / "correct_variant" / html.INSTRUCTOR_FILENAME).read_text()
    assert "Hidden check" not in instructor
    assert "Hidden check" in (class_out / "correct_variant" / html.FILENAME).read_text()


def test_dashboard_script_is_allowed_by_its_hash_and_nothing_else(class_out):
    page = (class_out / dashboard.FILENAME).read_text()
    found = elements(page)
    assert len(found.scripts) == 1
    digest = base64.b64encode(hashlib.sha256(found.scripts[0].encode()).digest()).decode()
    policy = next(a["content"] for t, a in found.elements if a.get("http-equiv"))
    assert f"'sha256-{digest}'" in policy
    rendered = browser.render(class_out / dashboard.FILENAME)
    assert "Refused to execute" not in rendered.log
    assert rendered.requests == []
    _assert_no_active_content(rendered.dom, allowed_scripts=1)


def test_dashboard_stays_small_for_a_large_class():
    from grader.spec import discover

    specs = discover()
    report: dict[str, Any] = {
        "submission": {"path": "x"},
        "environment": {
            "grader_version": "0",
            "python_version": "3",
            "torch_version": "2",
            "platform": "p",
        },
        "complete": True,
        "score": 20.0,
        "max_score": 40.0,
    }
    students = [(f"student{i:03d}", Report.model_validate(report), "") for i in range(300)]
    summary = {
        "status": {"graded": 300, "pending": 0},
        "assignments": {s.name: {"mean": 5.0, "submitted": 300} for s in specs},
        "checks": [
            {
                "id": f"a::c{i}",
                "name": f"check {i}",
                "attempted": 300,
                "not_passed": i,
                "failure_rate": i / 300,
            }
            for i in range(40)
        ],
    }
    page = dashboard.render(specs, students, summary)
    assert page.count("<tr>") >= 300
    assert len(page.encode()) < 1_000_000
