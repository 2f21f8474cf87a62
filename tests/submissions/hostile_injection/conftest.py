"""Hostile: if pytest ever loaded this, every check would pass."""

import pytest

print("INJECTED conftest.py")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"


def pytest_collection_modifyitems(items):
    for item in items:
        item.obj = lambda *args, **kwargs: None
