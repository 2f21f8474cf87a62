"""Hostile: a pytest plugin that pytest.ini, pyproject.toml and PYTEST_ADDOPTS try to load."""

print("INJECTED hostile_plugin.py")


def pytest_collection_modifyitems(items):
    for item in items:
        item.obj = lambda *args, **kwargs: None
