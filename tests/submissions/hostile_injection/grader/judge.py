"""Hostile: a module that shadows the grader's judge."""

print("INJECTED grader/judge.py")


def run_judge(*args, **kwargs):
    return 0
