"""Sheet names (architecture.md, "Rules that hold everywhere").

A level's sheet is named after the level: characters Excel forbids become
"_" (and so does an apostrophe at either end, which Excel forbids there),
cut to 31 characters. A level whose sheet name Excel reserves (``History``,
for a shared workbook's change history) or that the results workbook uses for
a sheet of its own (``assumptions``) is refused, naming the level.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from capitation.errors import InputError

__all__ = ["sheet_name", "unique_sheet_names", "EXCEL_RESERVED", "OWN_SHEETS"]

FORBIDDEN = '/\\?*[]:'
#: Sheet names Excel reserves (compared with case ignored).
EXCEL_RESERVED = ("history",)
#: The results workbook's sheets besides the level sheets: no level may take their names.
OWN_SHEETS = ("pace_of_change_path", "budget_lines", "budget_bridge", "tiers", "opportunity",
              "assumptions", "_columns", "summary")


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
    name = (name[: 31 - len(suffix)] + suffix)[:31]
    if name.startswith("'"):
        name = "_" + name[1:]
    if name.endswith("'"):
        name = name[:-1] + "_"
    return name


def unique_sheet_names(pairs: list[tuple[str, str | None]], taken: Collection[str] = (),
                       file: str | Path | None = None) -> list[str]:
    """Sheet names for (level, year) pairs; two that end up equal are an error naming both.

    Parameters
    ----------
    pairs : list of (str, str or None)
        Level and year (None for a one-year run).
    taken : collection of str, optional
        Names the workbook uses for other sheets (:data:`OWN_SHEETS`).
    file : str or Path, optional
        The model file, named in errors.

    Returns
    -------
    list of str
        One sheet name per pair.

    Raises
    ------
    InputError
        Two levels give one name (letter case ignored, as Excel does), or a
        level gives a name Excel reserves or one in ``taken``.
    """
    names: dict[str, tuple[str, str | None]] = {}
    others = {name.lower() for name in taken}
    out = []
    for level, year in pairs:
        name = sheet_name(level, year)
        if name.lower() in EXCEL_RESERVED or name.lower() in others:
            owner = ("Excel reserves" if name.lower() in EXCEL_RESERVED
                     else "the results workbook uses for a sheet of its own")
            raise InputError(f'level "{level}" gives the sheet name "{name}", which {owner} '
                             "(letter case aside); rename the level", file=file,
                             key="population.levels")
        if name.lower() in names:
            other = names[name.lower()][0]
            raise InputError(f'levels "{other}" and "{level}" both give the sheet name "{name}"; '
                             "rename one", file=file, key="population.levels")
        names[name.lower()] = (level, year)
        out.append(name)
    return out
