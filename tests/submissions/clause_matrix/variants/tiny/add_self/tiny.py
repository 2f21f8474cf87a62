"""x plus itself.

permits: any-ops
"""


def double(x):
    return x + x
