"""Did you mean…: the existing name nearest to a mistyped one (a queue, a profile), case mistakes first."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The name in `known` that `name` most likely meant: the same but for case, else the closest spelling; None
    when none is close (or `name` itself exists)."""
    names = list(known)
    if name in names:
        return None
    folded = [other for other in names if other.casefold() == name.casefold()]
    if folded:
        return folded[0]
    by_fold = {other.casefold(): other for other in names}
    close = difflib.get_close_matches(name.casefold(), list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None
