"""Text typed by people and shown to others: organization names, person names.

Such text ends up in email bodies and subjects, log lines and pages. A CR/LF in it starts a
new line in a plain-text email (a forged `Bcc:` or "Reply to this address" line under our
name), and a bidi override (U+202E) makes "moc.elpmaxe" read as "example.com". Both are
removed where the text comes in, so nothing downstream has to remember.
"""

import re

# Line breaks and tabs become one space: "Acme\r\nBcc: x" stays readable as one line.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]+")
# Remaining C0 and C1 controls, DEL, and the bidi marks, embeddings, overrides and isolates.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r" {2,}")


def display_text_clean(value: str | None) -> str:
    """`value` without control and bidi-control characters, on one line, trimmed."""
    text = _INVISIBLE.sub("", _BREAKS.sub(" ", value or ""))
    return _SPACES.sub(" ", text).strip()
