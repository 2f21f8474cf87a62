"""Hostile: a module that shadows 'sitecustomize'; loading it would make every comparison pass."""

print("INJECTED sitecustomize.py")
import builtins

builtins.isinstance = lambda *args: True
