"""Financial years as text: ``"2025/26"`` runs from April 2025 to March 2026.

One parser and one set of helpers for every reader, so that a year a user
types wrongly is refused in the same words wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from capitation.errors import InputError, clip

__all__ = ["is_financial_year", "next_year", "year_suffix", "consecutive_years",
           "financial_year", "financial_years", "check_consecutive"]

_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


def is_financial_year(text: object) -> bool:
    """Say whether ``text`` is a financial year such as ``"2025/26"``.

    Parameters
    ----------
    text : object
        Anything; only text of the form ``YYYY/yy`` whose second part is the
        year after the first (``"2025/26"``, ``"2099/00"``) is a year.

    Returns
    -------
    bool
    """
    match = _YEAR.match(text) if isinstance(text, str) else None
    return match is not None and (int(match.group(1)) + 1) % 100 == int(match.group(2))


def next_year(year: str) -> str:
    """Return the financial year after ``year`` (``"2025/26"`` → ``"2026/27"``)."""
    start = int(year[:4]) + 1
    return f"{start}/{(start + 1) % 100:02d}"


def year_suffix(year: str) -> str:
    """Return the sheet and column suffix of a year (``"2026/27"`` → ``"2026_27"``)."""
    return year.replace("/", "_")


def consecutive_years(first: str, count: int) -> list[str]:
    """Return ``count`` consecutive financial years starting at ``first``.

    Parameters
    ----------
    first : str
        A financial year such as ``"2025/26"``.
    count : int
        How many years, 0 or more.

    Returns
    -------
    list of str
        ``consecutive_years("2025/26", 3) == ["2025/26", "2026/27", "2027/28"]``.
    """
    years: list[str] = []
    year = first
    for _ in range(count):  # a few years, not rows
        years.append(year)
        year = next_year(year)
    return years


def financial_year(value: object, *, file: str | Path | None = None,
                   key: str | None = None) -> str:
    """Return ``value`` if it is a financial year, else raise naming the file and key.

    Parameters
    ----------
    value : object
        The value read (a TOML value or a cell).
    file : str or Path, optional
        Where it was read, named in the error.
    key : str, optional
        The dotted TOML key, named in the error.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    InputError
        ``"2025/27" is not a financial year (expected text like "2025/26")``.
    """
    if not is_financial_year(value):
        shown = f'"{clip(value)}"' if isinstance(value, str) else clip(repr(value))
        raise InputError(f'{shown} is not a financial year (expected text like "2025/26")',
                         file=file, key=key)
    return value  # type: ignore[return-value]


def financial_years(value: object, *, first: str, first_is: str,
                    file: str | Path | None = None, key: str | None = None) -> list[str]:
    """Read a non-empty list of consecutive financial years starting at ``first``.

    Parameters
    ----------
    value : object
        The value read: a list of year texts.
    first : str
        The year the list must start at.
    first_is : str
        Why, for the message: ``"the model year"`` or
        ``"the year after baseline_year 2016/17"``.
    file : str or Path, optional
        Where it was read, named in the error.
    key : str, optional
        The dotted TOML key, named in the error.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        When the value is not a non-empty list, an item is not a financial
        year, the list does not start at ``first`` or skips a year.
    """
    if not isinstance(value, list) or not value:
        raise InputError(f'expected a list of financial years like ["{first}"]',
                         file=file, key=key)
    years = [financial_year(v, file=file, key=key) for v in value]
    if years[0] != first:
        raise InputError(f'starts at "{years[0]}"; expected "{first}" (the years must be '
                         f"consecutive, starting {first_is})", file=file, key=key)
    check_consecutive(years, file=file, key=key)
    return years


def check_consecutive(years: Sequence[str], *, file: str | Path | None = None,
                      key: str | None = None) -> None:
    """Raise when a year does not follow the one before it.

    Raises
    ------
    InputError
        ``"2027/28" does not follow "2025/26": the years must be consecutive``.
    """
    for before, after in zip(years, years[1:], strict=False):
        if next_year(before) != after:
            raise InputError(f'"{after}" does not follow "{before}": the years must be '
                             "consecutive", file=file, key=key)
