"""Probes of the clause-matrix fixture exercise."""

from grader.sandbox.probing import probe


@probe
def call_double(student, x):
    return {"output": student.double(x)}
