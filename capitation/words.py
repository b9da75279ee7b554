"""Words for messages: a count with its noun, singular or plural ("1 year", "42 ICBs").

The command lines, summaries and error messages say how many of something
there are; :func:`counted` puts the right form of the noun after the number.
"""

from __future__ import annotations

__all__ = ["counted", "plural"]

#: Nouns whose plural is not the noun plus "s".
_IRREGULAR = {"party": "parties", "activity": "activities", "index": "indices"}


def plural(noun: str) -> str:
    """Return the plural of a noun: ``ICB`` → ``ICBs``, ``party`` → ``parties``.

    Parameters
    ----------
    noun : str
        A noun as the toolkit uses it (a level such as ``ICB/LAD``, ``year``,
        ``scenario``, ``party``).

    Returns
    -------
    str
    """
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def counted(count: int, noun: str, many: str | None = None) -> str:
    """Return a count with its noun: ``1 year``, ``3 years``, ``1,048,576 scenarios``.

    Parameters
    ----------
    count : int
        How many (shown with thousands separators).
    noun : str
        The singular noun.
    many : str, optional
        The plural, when not :func:`plural` of the noun.

    Returns
    -------
    str
    """
    word = noun if count == 1 else (many if many is not None else plural(noun))
    return f"{count:,} {word}"
