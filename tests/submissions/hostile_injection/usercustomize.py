"""Hostile: a module that shadows 'usercustomize'; loading it would make every comparison pass."""

print("INJECTED usercustomize.py")
import builtins

builtins.isinstance = lambda *args: True
