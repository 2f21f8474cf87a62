"""Making untrusted text safe for each output medium.

A check's message can quote what student code raised, and its output is what the student code
printed, so every renderer treats both as hostile: control characters are shown rather than
sent, CI workflow commands are broken, Markdown and XML syntax is escaped, and long text is cut
with a visible note.
"""

from __future__ import annotations

import re
from typing import Any

# What no rendering may carry raw, because a reader cannot see it or it changes how the text
# around it is shown: C0 controls but tab and newline, DEL, C1 controls, lone surrogates, every
# format character (Unicode category Cf: bidi embeddings, overrides and isolates, zero-width
# spaces and joiners, word joiner, BOM, tag characters, ...), the line and paragraph separators
# (splitlines breaks lines there), and characters that render as nothing (Hangul fillers,
# combining grapheme joiner, Khmer inherent vowels, Mongolian selectors, the variation selector
# supplement used to smuggle bytes). Emoji variation selectors U+FE00-FE0F stay: the reports'
# own icons use them, and they only pick a glyph style.
UNSAFE_CHARS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890-\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\u3164\ud800-\udfff\ufeff\uffa0\ufff9-\ufffb"
    "\ufffe\uffff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")
_UNSAFE_IN_NAME = re.compile(f"[\t\n{UNSAFE_CHARS}]")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A GitHub Actions log reads `::command::` at the start of a line (after blanks) and the
# legacy `##[command]` anywhere in it. Every `:` followed by `:` gets a space after it, and so
# does every `#` followed by `#[`: no line can hold either, wherever it is cut or re-wrapped.
_WORKFLOW_COMMAND = re.compile(r":(?=:)|#(?=#\[)")
_MD_ALWAYS = re.compile(r"([\\`*_\[\]|~$])")
_MD_LINE_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
_BACKTICK_RUN = re.compile(r"`+")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _escape(match: re.Match[str]) -> str:
    """`\\xNN`, `\\uNNNN` or `\\UNNNNNNNN`, as Python writes them; a byte that was not UTF-8
    (a surrogate from `surrogateescape`, U+DC80-U+DCFF) as the byte, `\\xNN`."""
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible_controls(text: str) -> str:
    """Every unsafe character (see `UNSAFE_CHARS`) as a visible escape; tab and newline stay."""
    return _UNSAFE.sub(_escape, text.replace("\r\n", "\n"))


def defuse_workflow_commands(text: str) -> str:
    """`::` as `: :` and `##[` as `# #[`, anywhere: nothing a CI log would run as a command."""
    return _WORKFLOW_COMMAND.sub(lambda m: m.group() + " ", text)


def inert(text: str) -> str:
    """Safe to show anywhere: unsafe characters escaped, workflow commands broken.

    The one function every format applies to student-controlled text after layout (wrapping,
    cutting, joining). Idempotent, so applying it twice is harmless; its output holds no
    character it escapes and no `::` or `##[`.
    """
    return defuse_workflow_commands(visible_controls(text))


def inert_name(name: str) -> str:
    """A file name as it may be shown: like `inert`, and tab and newline escaped too."""
    return defuse_workflow_commands(_UNSAFE_IN_NAME.sub(_escape, name))


def unsafe_in_name(name: str) -> list[str]:
    """The characters `inert_name` escapes, in order (lone surrogates included)."""
    return _UNSAFE_IN_NAME.findall(name)


def inert_strings(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON-like data) with `inert` applied to every string in it, keys in `keep`
    (grader-made ids such as `assignment::check`) excepted."""
    if isinstance(value, str):
        return inert(value)
    if isinstance(value, list):
        return [inert_strings(item, keep) for item in value]
    if isinstance(value, dict):
        return {
            key: item if key in keep and isinstance(item, str) else inert_strings(item, keep)
            for key, item in value.items()
        }
    return value


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
