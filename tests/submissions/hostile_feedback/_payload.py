"""Text that tries to break every report format: Markdown, HTML, XML, CI workflow commands."""

PAYLOAD = (
    "| cell | `tick` ``double`` <script>alert(1)</script> [click](https://example.invalid) "
    "**bold** _it_ ~~gone~~ $x^2$ &amp; @octocat \x1b[31mred\x1b[0m nul\x00 bell\x07 ]]> </failure>"
    "\n::error file=my_linear.py::forged annotation"
    "\n::set-output name=result::Zm9yZ2Vk"
    "\n# heading\n1. list item\n> quote\n| a | b |\n|---|---|\n"
)
LONG_MESSAGE = (PAYLOAD * 40)[:1990]
PRINTED = "::warning::printed by the submission\n```\n<img src=x onerror=alert(1)>\n" + "x" * 3000
