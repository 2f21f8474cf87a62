"""Hostile: a package that shadows the grader."""

print("INJECTED grader/__init__.py")
