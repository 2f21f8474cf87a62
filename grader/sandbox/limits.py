"""Resource limits for one probe child, set by the parent before student code runs."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MEMORY_LIMIT = 2 << 30


@dataclass
class Limits:
    memory_bytes: int = DEFAULT_MEMORY_LIMIT
    max_output_file_bytes: int = 64 << 20
    max_open_files: int = 256
