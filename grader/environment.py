"""What the report says about where it was graded: versions, platform, protections in force."""

from __future__ import annotations

import platform

import torch

import grader
from grader import accelerators, fingerprint
from grader.report import Environment
from grader.sandbox import protections


def environment() -> Environment:
    return Environment(
        grader_version=grader.__version__,
        python_version=platform.python_version(),
        torch_version=torch.__version__,
        platform=platform.platform(),
        protections=protections.active(),
        checks_hash=fingerprint.checks_hash(),
        hidden_accelerators=accelerators.hidden(),
    )
