"""Sheet names (architecture.md, "Rules that hold everywhere")."""

from __future__ import annotations

from capitation.errors import InputError

__all__ = ["sheet_name", "unique_sheet_names"]

FORBIDDEN = '/\\?*[]:'


def sheet_name(level: str, year: str | None = None) -> str:
    """Return the sheet name of a level (and year): forbidden characters → "_", at most 31.

    Parameters
    ----------
    level : str
        Level name such as ``ICB/LAD``.
    year : str, optional
        Financial year; adds a suffix like ``_2026_27``.

    Returns
    -------
    str
    """
    name = "".join("_" if ch in FORBIDDEN else ch for ch in level)
    suffix = "" if year is None else "_" + year.replace("/", "_")
    return (name[: 31 - len(suffix)] + suffix)[:31]


def unique_sheet_names(pairs: list[tuple[str, str | None]]) -> list[str]:
    """Sheet names for (level, year) pairs; two that end up equal are an error naming both."""
    names: dict[str, tuple[str, str | None]] = {}
    out = []
    for level, year in pairs:
        name = sheet_name(level, year)
        if name.lower() in names:
            other = names[name.lower()][0]
            raise InputError(f'levels "{other}" and "{level}" both give the sheet name "{name}"; '
                             "rename one", key="population.levels")
        names[name.lower()] = (level, year)
        out.append(name)
    return out
