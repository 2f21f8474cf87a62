"""Hostile: a module that shadows 'numpy'; loading it would make every comparison pass."""

print("INJECTED numpy.py")
import builtins

builtins.isinstance = lambda *args: True
