"""What a file name from a submission says, judged by name only: how to show it, and whether a browser runs it.

- ``shown(name)``: the name as it may appear in a log line, a note or a message: control characters, bytes
  that are not UTF-8 (os.fsdecode's surrogates) and direction marks escaped, and cut to a length, so that
  a name cannot forge a log line or hide what it is.
- ``browser_type(name)``: the reason a browser would run the file as a page or load it as a script when a
  server (the formgrader, Jupyter) serves it by its name, judged on every suffix (``x.ipynb.html``,
  ``EVIL.HTML``) and on the type the machine's MIME table gives it; None for a passive file.
"""

import mimetypes

MAX_SHOWN = 120
ACTIVE_SUFFIXES = frozenset(
    {".html", ".htm", ".shtml", ".xhtml", ".xht", ".xml", ".xsl", ".xslt", ".svg", ".svgz"}
    | {".js", ".mjs", ".cjs", ".mht", ".mhtml", ".pdf", ".swf"}
)
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/xsl"}
    | {"application/pdf", "application/x-shockwave-flash"}
)


def shown(name, limit=MAX_SHOWN):
    """name, printable: escaped (as repr escapes) when it holds anything unprintable, and at most limit long."""
    text = name if name.isprintable() else repr(name)[1:-1]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def browser_type(name):
    """Why a browser would run name as a page or a script (its suffix or MIME type); None for a passive file."""
    suffixes = [f".{part}" for part in name.lower().split(".")[1:]]
    active = [suffix for suffix in suffixes if suffix in ACTIVE_SUFFIXES]
    if active:
        return active[-1]
    kind, encoding = mimetypes.guess_type(name)
    if encoding is None and kind and (kind in ACTIVE_TYPES or kind.endswith(("+xml", "javascript", "ecmascript"))):
        return kind
    return None
