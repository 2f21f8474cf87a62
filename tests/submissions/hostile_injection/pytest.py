"""Hostile: a module that shadows 'pytest'; loading it would make every comparison pass."""

print("INJECTED pytest.py")
import builtins

builtins.isinstance = lambda *args: True
