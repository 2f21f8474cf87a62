"""junit.xml: the JUnit XML that CI systems and test-report actions read.

One `<testsuite>` per assignment and one `<testcase>` per check, with `classname` set to the
assignment. A `failed` check carries a `<failure>`; `error` and `timeout` an `<error>` (typed);
`skipped` a `<skipped>`. An assignment without checks (a missing file) is one test case for its
file. Counts are computed from the elements written, so they always agree with the body.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.formats import text, views
from grader.report import AssignmentResult, CheckResult, Report

FILENAME = "junit.xml"
OUTCOME = {
    "failed": "failure",
    "error": "error",
    "timeout": "error",
    "skipped": "skipped",
    "not_run": "skipped",
}


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _details(report: Report, check: CheckResult) -> str:
    parts = [check.message]
    if check.hint:
        parts.append(f"{views.say(report, 'report_hint')}: {check.hint}")
    parts.append(
        f"{views.say(report, 'report_points')}: {views.points(check.score, check.max_score)}"
    )
    return text.xml_safe("\n".join(p for p in parts if p))


def _case(
    suite: ET.Element,
    assignment: AssignmentResult,
    name: str,
    status: str,
    seconds: float,
    message: str,
    details: str,
) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        name=text.xml_safe(name),
        classname=assignment.name,
        file=assignment.file,
        time=_seconds(seconds),
    )
    outcome = OUTCOME.get(status)
    if outcome:
        element = ET.SubElement(case, outcome, message=text.xml_safe(message), type=status)
        element.text = details


def _suite(root: ET.Element, report: Report, assignment: AssignmentResult) -> ET.Element:
    suite = ET.SubElement(root, "testsuite", name=assignment.name)
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("title", assignment.title),
        ("file", assignment.file),
        ("status", assignment.status),
        ("score", f"{assignment.score:g}"),
        ("max_score", f"{assignment.max_score:g}"),
    ):
        ET.SubElement(properties, "property", name=key, value=text.xml_safe(value))
    if not assignment.checks:
        status = "error" if assignment.status == "error" else "failed"
        message = assignment.message
        _case(suite, assignment, assignment.file, status, 0.0, message, text.xml_safe(message))
    for check in assignment.checks:
        _case(
            suite,
            assignment,
            check.name,
            check.status,
            check.duration_s,
            check.message,
            _details(report, check),
        )
        if check.output:
            case = suite[-1]
            ET.SubElement(case, "system-out").text = text.xml_safe(check.output)
    if assignment.checks and assignment.message:
        ET.SubElement(suite, "system-err").text = text.xml_safe(assignment.message)
    return suite


def _count(suite: ET.Element) -> dict[str, int]:
    cases = suite.findall("testcase")
    return {
        "tests": len(cases),
        "failures": sum(len(c.findall("failure")) for c in cases),
        "errors": sum(len(c.findall("error")) for c in cases),
        "skipped": sum(len(c.findall("skipped")) for c in cases),
    }


def render(report: Report, student: bool = False) -> bytes:
    """The JUnit XML document for `report`, in the student view when `student`."""
    report = views.for_reader(report, student)
    root = ET.Element("testsuites", name=report.tool)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time_total = 0.0
    for assignment in report.assignments:
        suite = _suite(root, report, assignment)
        counts = _count(suite)
        seconds = sum(c.duration_s for c in assignment.checks)
        time_total += seconds
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _seconds(seconds))
        if report.started_at:
            suite.set("timestamp", report.started_at)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", _seconds(time_total))
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return text.inert(document).encode() + b"\n"
