"""Making untrusted text safe for each output medium.

A check's message can quote what student code raised, and its output is what the student code
printed, so every renderer treats both as hostile: control characters are shown rather than
sent, CI workflow commands are broken, Markdown and XML syntax is escaped, and long text is cut
with a visible note.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_WORKFLOW_COMMAND = re.compile(r"^(\s*)(::|##\[)", re.MULTILINE)
_ANY_COMMAND = re.compile(r"::|##\[")
_MD_ALWAYS = re.compile(r"([\\`*_\[\]|~$])")
_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
_BACKTICK_RUN = re.compile(r"`+")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _hex(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible_controls(text: str) -> str:
    """Control characters (not tab, newline) and lone surrogates as visible `\\xNN` escapes."""
    return _CONTROL.sub(_hex, text.replace("\r\n", "\n"))


def defuse_commands(text: str) -> str:
    """No CI workflow command (`::name::`, `##[name]`) can start a line of `text`, wherever a
    later wrap falls: every `::` and `##[` is broken up, not only those at a line start."""
    return _ANY_COMMAND.sub(lambda m: m.group()[0] + "\u200b" + m.group()[1:], text)


def inert(text: str) -> str:
    """Safe to print in a terminal or a CI log: no escapes, no `::command::` lines."""
    text = visible_controls(text)
    return _WORKFLOW_COMMAND.sub(
        lambda m: m.group(1) + m.group(2)[0] + "\u200b" + m.group(2)[1:], text
    )


def xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot carry, as visible `\\xNN` escapes (escaping is the writer's)."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()) & 0xFFFF:02x}", text)


def truncate(text: str, limit: int, note: str) -> str:
    """`text` cut to `limit` characters, followed by `note` (formatted with `count` cut)."""
    if len(text) <= limit:
        return text
    return text[:limit] + note.format(count=len(text) - limit)


def _md_plain(text: str) -> str:
    text = "".join(_MD_ENTITIES.get(char, char) for char in text)
    return _MD_ALWAYS.sub(r"\\\1", text)


def _escape_line_start(match: re.Match[str]) -> str:
    lead, marker = match.group(1), match.group(2)
    return lead + (marker + "\\" if marker[0].isdigit() else "\\" + marker)


def md_inline(text: str, code_spans: bool = False) -> str:
    """One line of literal Markdown text, with every syntax character escaped.

    With `code_spans`, balanced single-backtick spans (as instructors write in hints) stay code;
    anything else with a backtick is escaped whole. Pipes are escaped everywhere, so the result
    is safe inside a table cell too.
    """
    text = " ".join(inert(text).split())
    runs = _BACKTICK_RUN.findall(text)
    if code_spans and runs and all(run == "`" for run in runs) and len(runs) % 2 == 0:
        parts = text.split("`")
        escaped = "".join(
            "`" + part.replace("|", "\\|") + "`" if index % 2 else _md_plain(part)
            for index, part in enumerate(parts)
        )
    else:
        escaped = _md_plain(text)
    return _MD_LINE_START.sub(_escape_line_start, escaped)


def md_lines(text: str, code_spans: bool = False) -> list[str]:
    """Multi-line untrusted text as escaped Markdown lines (blank lines dropped)."""
    return [md_inline(line, code_spans) for line in inert(text).splitlines() if line.strip()]


def md_code_block(text: str, info: str = "text") -> str:
    """`text` verbatim in a fenced block whose fence no line inside can close."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{inert(text).rstrip()}\n{fence}"
