"""Characters that hide or disguise text: controls, bidirectional overrides, zero-width and other format characters.

A key is chosen by whoever uploads. `evil\u202egnp.wav` shows as `evilvaw.png` in a file manager, and a newline or
an ANSI escape in a logged key can forge a log line or rewrite a terminal. File names get these characters
replaced (agent/engine/paths.py); log lines and the terminal commands get them escaped (agent/logs.py, agent/cli);
what the desktop shows a person (its notifications, the tray menu, Activity) gets each one as a visible MARKER
(`visible`).
"""

from __future__ import annotations

import re

HIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"  # format characters (Cf) ...
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"  # zero-width, bidi marks and overrides
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\u2028\u2029"  # line and paragraph separators (Zl, Zp): line breaks to a renderer
    "\ud800-\udfff]"  # lone surrogates (Cs): not text at all
)
"""Every character of Unicode's categories Cc, Cf, Zl, Zp and Cs, except the zero-width joiner and non-joiner
(U+200D, U+200C): Persian, the Indic scripts and emoji sequences spell words with them, and they reorder nothing.
tests/unit/test_paths.py checks this class against the running Python's Unicode database."""


MARKER = "\N{REPLACEMENT CHARACTER}"
"""What a person sees in place of a hidden character: the sign for a character that cannot be shown."""


def replace_hidden(text: str) -> str:
    """`text` with each hidden character as `_`, for a file name."""
    return HIDDEN.sub("_", text)


def visible(text: str) -> str:
    """`text` as the desktop shows it to a person: each hidden character as MARKER, so that a key cannot pass for
    another name, break a line or reorder what follows it."""
    return HIDDEN.sub(MARKER, text)


def escape_hidden(text: str, keep: str = "") -> str:
    """`text` with each hidden character written as its escape (`\\n`, `\\x1b`, `\\u202e`), except those in `keep`."""
    if not HIDDEN.search(text):
        return text
    return HIDDEN.sub(lambda match: match.group() if match.group() in keep else _escape(match.group()), text)


def _escape(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")
