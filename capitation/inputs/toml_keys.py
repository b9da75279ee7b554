"""TOML documents at the edge: one reader of keys, one wording per kind of mistake.

Every TOML reader (model file, service budget, risk-share agreement, person
keys) reads its tables through :class:`TomlKeys`, so the same mistake gets the
same words everywhere. Each message follows the location (``file, key
pool.budget_gbp: ...``):

=====================  ==========================================================
unknown key            ``unknown key (did you mean "envelope_gbp"? expected one of: ...)``
missing key            ``is missing (expected text)``
wrong type             ``expected a number, found 'one million'``
not finite             ``expected a finite number, found inf``
out of range           ``-0.2 is below 0 (must be at least 0)``,
                       ``1.5 is above 1 (must be between 0 and 1)``,
                       ``0 is not above 0 (must be above 0)``
looks like a percent   ``90 looks like a percentage; expected a fraction such as 0.9
                       (must be between 0 and 1)``: any fraction key, whatever its
                       range, refuses a value above 1 and up to 100 either way, as the
                       workbook route does (:func:`percentage_mistake`)
too much money         ``5e+17 is above the largest amount the toolkit accepts
                       (£10,000,000,000,000)`` (:data:`capitation.rounding.MAX_MONEY_GBP`)
not a choice           ``"corridoor" is not one of corridor, first_dollar``
wrong count per year   ``has 3 values for 2 years (2025/26, 2026/27); expected 2 values,
                       one per year``
=====================  ==========================================================
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from capitation.errors import InputError, clip
from capitation.inputs.files import read_bytes
from capitation.rounding import MAX_MONEY_GBP, beyond_money
from capitation.words import counted

__all__ = ["TomlKeys", "looks_like_percentage", "percentage_mistake", "read_toml", "suggest"]

_MISSING = object()
_BOM = b"\xef\xbb\xbf"


def read_toml(path: str | Path, *, what: str = "file") -> dict[str, Any]:
    """Parse a TOML file, refusing a missing file, bad syntax or text that is not UTF-8.

    A UTF-8 byte-order mark at the start (as Notepad saves) is allowed.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    what : str
        What the file is, for the not-found message (``"model file"``).

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    InputError
        ``model file not found``; ``is not a regular file (...)``
        (:func:`capitation.inputs.files.check_file`); ``is not valid TOML (... at
        line 15, column 3)``;
        ``is not UTF-8 text (byte 40): save it as UTF-8``.
    """
    path = Path(path)
    raw = read_bytes(path, what=what)
    try:
        text = raw.decode("utf-8-sig")  # Notepad starts a UTF-8 file with a byte-order mark
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(_BOM) if raw.startswith(_BOM) else 0)
        raise InputError(f"is not UTF-8 text (byte {offset}): save it as UTF-8",
                         file=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"is not valid TOML ({exc})", file=path) from None


def suggest(name: str, allowed: Collection[str]) -> str | None:
    """Return the allowed name ``name`` was most likely meant to be, or None.

    Only a close spelling counts (the same name in other case, or a
    :func:`difflib.get_close_matches` ratio of 0.8 or more), so an unrelated
    key suggests nothing.
    """
    by_lower = {a.lower(): a for a in allowed}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.8)
    return by_lower[close[0]] if close else None


def _shown(value: object) -> str:
    return clip(repr(value))


def percentage_mistake(number: float) -> str | None:
    """Say that a fraction looks like a percentage typed as a whole number, or None.

    One rule for every fraction (0.3 means 30%), on every route (TOML key or
    workbook cell): a value above 1 and up to 100, either way, is a percentage
    typed by mistake, since no fraction the toolkit reads (shares, rates,
    growth, caps) may be that large.

    Parameters
    ----------
    number : float
        The value read for a fraction.

    Returns
    -------
    str or None
        ``"90 looks like a percentage; expected a fraction such as 0.9"``, or
        None when ``number`` does not look like a percentage.
    """
    if not looks_like_percentage(number):
        return None
    return f"{number:g} looks like a percentage; expected a fraction such as {number / 100:g}"


def looks_like_percentage(values: float | np.ndarray) -> np.ndarray:
    """Whether each fraction is above 1 and at most 100 either way (see :func:`percentage_mistake`).

    Parameters
    ----------
    values : float or numpy.ndarray
        Values read for fractions.

    Returns
    -------
    numpy.ndarray
        bool, the shape of ``values``.
    """
    magnitude = np.abs(np.asarray(values, dtype=float))
    return (magnitude > 1) & (magnitude <= 100)


class TomlKeys:
    """Typed access to the tables of one TOML document; errors name the file and key.

    Parameters
    ----------
    file : str or Path, optional
        The document's file, named in every error (None for a dict built in code).
    base : Path, optional
        Folder that relative file paths are read from (default: the file's folder).

    Notes
    -----
    Keys are dotted as a reader sees them (``component[1].share``: arrays of
    tables count from 1). Methods that take a table and a dotted key read the
    last part of the key from the table.
    """

    def __init__(self, file: str | Path | None = None, base: Path | None = None) -> None:
        self.file = None if file is None else Path(file)
        self.base = base if base is not None else (
            self.file.parent if self.file is not None else Path.cwd())

    # ------------------------------------------------------------------ errors

    def error(self, key: str | None, message: str) -> InputError:
        """Return an :class:`InputError` naming the file and ``key``."""
        return InputError(message, file=self.file, key=key or None)

    # ------------------------------------------------------------------ keys

    def check_keys(self, table: Any, key: str, allowed: Collection[str],
                   required: Mapping[str, str] | None = None) -> Mapping[str, Any]:
        """Refuse a table that is not a table, has an unknown key or lacks a required one.

        Parameters
        ----------
        table : object
            The parsed TOML table.
        key : str
            Its dotted key (``""`` for the document itself).
        allowed : collection of str
            Every key the table may hold.
        required : mapping of str to str, optional
            Required key → what it should hold, named when it is missing
            (``{"name": "text, the party's name"}``).

        Returns
        -------
        mapping
            ``table``.
        """
        if not isinstance(table, Mapping):
            raise self.error(key, f"expected a table, found {type(table).__name__}")
        unknown = sorted(set(table) - set(allowed), key=str)
        if unknown:
            name = str(unknown[0])
            hint = suggest(name, allowed)
            did_you = f'did you mean "{hint}"? ' if hint is not None else ""
            raise self.error(self._join(key, clip(name)),
                             f"unknown key ({did_you}expected one of: "
                             f"{', '.join(sorted(allowed))})")
        for name in sorted(required or {}):
            if name not in table:
                raise self.missing(self._join(key, name), (required or {})[name])
        return table

    def missing(self, key: str, expected: str) -> InputError:
        """Return the error for a missing key: ``is missing (expected {expected})``."""
        return self.error(key, f"is missing (expected {expected})")

    def get(self, table: Mapping[str, Any], key: str, expected: str,
            required: bool = True) -> Any:
        """Return the value of ``key`` in ``table``; absent is an error when required.

        Returns None when the key is absent and not required.
        """
        value = table.get(key.split(".")[-1], _MISSING)
        if value is _MISSING:
            if required:
                raise self.missing(key, expected)
            return None
        return value

    @staticmethod
    def _join(key: str, name: str) -> str:
        return f"{key}.{name}" if key else name

    # ------------------------------------------------------------------ values

    @overload
    def table(self, data: Mapping[str, Any], key: str,
              required: Literal[True] = True) -> dict[str, Any]: ...
    @overload
    def table(self, data: Mapping[str, Any], key: str,
              required: bool) -> dict[str, Any] | None: ...

    def table(self, data: Mapping[str, Any], key: str,
              required: bool = True) -> dict[str, Any] | None:
        """Return the sub-table ``key``; None when absent and not required."""
        value = self.get(data, key, "a table", required)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, found {type(value).__name__}")
        return value

    @overload
    def text(self, data: Mapping[str, Any], key: str, required: Literal[True] = True,
             default: str | None = None) -> str: ...
    @overload
    def text(self, data: Mapping[str, Any], key: str, required: bool, default: str) -> str: ...
    @overload
    def text(self, data: Mapping[str, Any], key: str, required: bool,
             default: None = None) -> str | None: ...

    def text(self, data: Mapping[str, Any], key: str, required: bool = True,
             default: str | None = None) -> str | None:
        """Return the text at ``key``; ``default`` when absent and not required."""
        value = self.get(data, key, "text", required)
        if value is None:
            return default
        return self.text_value(value, key)

    def text_value(self, value: Any, key: str) -> str:
        """Return ``value`` if it is non-blank text."""
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected text, found {_shown(value)}")
        return value

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> str:
        """Return ``value`` if it is one of ``choices``."""
        text = self.text_value(value, key)
        if text not in choices:
            raise self.error(key, f'"{clip(text)}" is not one of {", ".join(choices)}')
        return text

    def number(self, value: Any, key: str, low: float | None = None,
               high: float | None = None, *, above: float | None = None,
               fraction: bool = False, money: bool = False) -> float:
        """Return ``value`` as a finite float within its range.

        Parameters
        ----------
        value : object
            The value read.
        key : str
            Its dotted key.
        low, high : float, optional
            Inclusive bounds.
        above : float, optional
            Exclusive lower bound.
        fraction : bool
            The value is a fraction (0.3 means 30%): a value from 1 to 100
            either way (above 1) is refused as a percentage typed by mistake
            (:func:`percentage_mistake`), whatever the bounds.
        money : bool
            The value is an amount in pounds: beyond
            :data:`~capitation.rounding.MAX_MONEY_GBP` either way is refused.

        Returns
        -------
        float
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, found {_shown(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise self.error(key, f"expected a finite number, found {_shown(value)}")
        if low is not None and high is not None:
            must = f"must be between {low:g} and {high:g}"
        elif low is not None:
            must = f"must be at least {low:g}"
        elif above is not None and high is not None:
            must = f"must be above {above:g} and at most {high:g}"
        else:
            must = f"must be at most {high:g}" if high is not None else ""
        mistake = percentage_mistake(number) if fraction else None
        if mistake is not None:
            raise self.error(key, f"{mistake} ({must})" if must else mistake)
        if low is not None and number < low:
            raise self.error(key, f"{number:g} is below {low:g} ({must})")
        if above is not None and number <= above:
            raise self.error(key, f"{number:g} is not above {above:g} (must be above {above:g})")
        if money and abs(number) > MAX_MONEY_GBP:
            raise self.error(key, beyond_money(number))
        if high is not None and number > high:
            raise self.error(key, f"{number:g} is above {high:g} ({must})")
        return number

    @overload
    def per_year(self, data: Mapping[str, Any], key: str, years: Sequence[str],
                 required: Literal[True] = True, **bounds: Any) -> list[float]: ...
    @overload
    def per_year(self, data: Mapping[str, Any], key: str, years: Sequence[str],
                 required: bool, **bounds: Any) -> list[float] | None: ...

    def per_year(self, data: Mapping[str, Any], key: str, years: Sequence[str],
                 required: bool = True, **bounds: Any) -> list[float] | None:
        """Return one number per year: a list of them, or one number for every year.

        ``bounds`` are passed to :meth:`number`. None when absent and not required.
        """
        value = self.get(data, key, "a number, or a list of one per year", required)
        if value is None:
            return None
        return self.per_year_value(value, key, years, **bounds)

    def per_year_value(self, value: Any, key: str, years: Sequence[str],
                       **bounds: Any) -> list[float]:
        """Return ``value`` as one number per year (see :meth:`per_year`)."""
        if isinstance(value, list):
            if len(value) != len(years):
                raise self.error(key, f"has {counted(len(value), 'value')} for "
                                      f"{counted(len(years), 'year')} ({', '.join(years)}); "
                                      f"expected {counted(len(years), 'value')}, one per year")
            return [self.number(v, f"{key}[{i}]", **bounds) for i, v in enumerate(value, 1)]
        return [self.number(value, key, **bounds)] * len(years)

    def path_of(self, value: Any, key: str) -> Path:
        """Return the file ``value`` names, relative to :attr:`base`; it must exist."""
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a file path, found {_shown(value)}")
        path = (self.base / value).resolve()
        if not path.exists():
            raise self.error(key, f'file "{value}" not found (looked in {self.base})')
        return path
