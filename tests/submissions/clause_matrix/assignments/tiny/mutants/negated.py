"""The sign is flipped.

catches: values
clauses: returns-2x
hint: wrong sign
"""


def double(x):
    return -2 * x
