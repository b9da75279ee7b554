"""Registered population by practice, with the codes of every level above it.

A :class:`Population` is the validated practice table a model runs on: one row
per practice (index ``practice``), its raw population, any numeric columns the
needs formula uses (weighted populations, multipliers) and one code column per
level (``ICB``, ``ICB/LAD``, ...). It comes from a CSV or a worksheet (such as
NHS England's practice weighted populations), from a DataFrame, or from a
seeded synthetic generator.

Organisation names are optional, per level: a column of the same table
(``names = {ICB = "ICBname"}``) gives each code its name, shown beside the
code in every output. A code's practices must agree on its name (two
different names for one code is an error naming both); a blank cell names
nothing, and a code none of whose practices names it has a blank name, never
its code. A composite level's name column may name only its inner part
(``"ICB/LAD" = "LTLA"`` gives ``QWO/E08000032`` the name ``Bradford``).

Column names a user writes match headers after both are stripped and inner
runs of whitespace are collapsed (so ``Final WP`` matches ``Final WP ``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import (
    find_columns,
    normalise_header,
    number_column,
    read_csv,
    refuse_repeats,
    text_column,
)
from capitation.inputs.csv_tables import Fail

__all__ = ["Population", "LevelSpec", "normalise_header", "level_name", "read_table",
           "read_practices"]

LevelSpec = str | Sequence[str]


def level_name(spec: LevelSpec) -> str:
    """Name of a level given as a column or a list of columns joined by "/"."""
    return spec if isinstance(spec, str) else "/".join(spec)


@dataclass(frozen=True)
class _Where:
    """Where a table came from, for error messages."""

    file: str | None = None
    sheet: str | None = None

    def error(self, message: str, *, row: int | None = None, column: str | None = None,
              position: int | None = None, key: str | None = None) -> InputError:
        if self.sheet is not None and row is not None and position is not None:
            from capitation.excel.read import column_letter

            cell = f"{column_letter(position)}{row}"
            return InputError(f"column {column}: {message}" if column else message,
                              file=self.file, sheet=self.sheet, cell=cell, key=key)
        return InputError(message, file=self.file, sheet=self.sheet, row=row, column=column,
                          key=key)


def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM) or a worksheet into a frame of text/objects.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.xlsx`` file.
    sheet : str, optional
        Sheet name, required for a workbook.

    Returns
    -------
    pandas.DataFrame
        Raw cells; row ``i`` is the file's row ``i + 2`` (the header is row 1).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=path)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        if sheet is None:
            raise InputError("a workbook needs a sheet name (population.sheet)", file=path)
        from capitation.excel.read import read_sheet_table

        return read_sheet_table(path, sheet)
    frame = read_csv(path, expect_rows=_ROWS).frame
    return frame.mask(frame == "")  # blank cells are None, as in a worksheet


_ROWS = "one row per practice"


def _read_raw(path: Path, sheet: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Return a practice table's cells and its CSV row numbers (None: position + 2)."""
    if path.suffix.lower() in {".xlsx", ".xlsm"} or not path.exists():
        return read_table(path, sheet), None
    table = read_csv(path, expect_rows=_ROWS)
    return table.frame, table.rows


def read_practices(path: str | Path, *, id: str, levels: Sequence[LevelSpec] = (),
                   columns: Sequence[str] | Mapping[str, str] = (),
                   sheet: str | None = None) -> pd.DataFrame:
    """Read a practices file: each practice's level codes, for a population counted elsewhere.

    The GP register path and the person-level path count each practice's
    population from their own rows; the practices file gives the codes of the
    levels above each practice (and any multiplier columns). It is checked as
    :meth:`Population.from_file` checks a practice table, without a
    population column.

    Parameters
    ----------
    path : str or Path
        CSV or ``.xlsx`` file, one row per practice.
    id : str
        Column of practice codes.
    levels : sequence of str or list of str
        Grouping columns, innermost first (as in :meth:`Population.from_file`).
    columns : sequence of str, or mapping of str to str
        Numeric columns to keep (multipliers), 0 or more.
    sheet : str, optional
        Sheet name for a workbook.

    Returns
    -------
    pandas.DataFrame
        Indexed by practice code (index ``practice``, in file order): one
        float64 column per name in ``columns``, then one text column per level
        (named after the level).

    Raises
    ------
    InputError
        Naming the file, row and column: a column is missing, a code is blank
        or appears twice, a number is not a number 0 or more, or the levels do
        not nest.
    """
    path = Path(path)
    raw, rows = _read_raw(path, sheet)
    frame, _ = _practice_frame(raw, id=id, population=None, levels=levels, columns=columns,
                               where=_Where(str(path), sheet), rows=rows)
    return frame


def _resolve(raw: pd.DataFrame, name: str, where: _Where, key: str | None,
             named_by: str | None = None) -> tuple[str, int]:
    """Find the column ``name`` (whitespace-collapsed, case kept): header and position."""
    header = find_columns(raw.columns, [name], file=where.file, sheet=where.sheet, key=key,
                          named_by={name: named_by} if named_by else None)[name]
    # find_columns refuses a header twice, so get_loc gives one position (not a slice or mask)
    return header, cast(int, raw.columns.get_loc(header))


def _fail(where: _Where, rows: np.ndarray, label: str, position: int) -> Fail:
    return lambda message, i: where.error(message, row=int(rows[i]), column=label,
                                          position=position)


def _text_column(raw: pd.Series, label: str, position: int, where: _Where,
                 rows: np.ndarray) -> pd.Series:
    return text_column(raw, what="a code", fail=_fail(where, rows, label, position),
                       rows=rows)


def _number_column(raw: pd.Series, label: str, position: int, where: _Where,
                   rows: np.ndarray) -> pd.Series:
    values = number_column(raw, what="a number, 0 or more", rows=rows,
                           fail=_fail(where, rows, label, position))
    return pd.Series(values, index=raw.index, name=raw.name)


@dataclass(frozen=True, eq=False)
class Population:
    """Practices with their population, numeric inputs and level codes.

    Attributes
    ----------
    frame : pandas.DataFrame
        Indexed by practice code (index name ``practice``), sorted by code.
        Column ``population`` (persons), one column per numeric input named
        as the model file names it, and one text column per level (named
        after the level, e.g. ``ICB`` or ``ICB/LAD``).
    levels : tuple of str
        Level names, innermost first.
    source : str
        Where the table came from (file name or "DataFrame").
    names : mapping of str to pandas.Series
        Level (``practice`` or a level name) → organisation name per code at
        that level (index: the level's codes, sorted and named after the
        level; str, blank as NaN), for the levels given names; empty without
        names.
    """

    frame: pd.DataFrame
    levels: tuple[str, ...]
    source: str
    names: Mapping[str, pd.Series] = field(default_factory=dict)

    @property
    def codes(self) -> pd.Index:
        """Practice codes, sorted."""
        return self.frame.index

    def level_codes(self, level: str) -> pd.Series:
        """Each practice's code at ``level`` (the practice itself for ``practice``)."""
        if level == "practice":
            return pd.Series(self.frame.index, index=self.frame.index, name="practice")
        if level not in self.levels:
            raise KeyError(f'no level "{level}" (levels are practice, {", ".join(self.levels)})')
        return self.frame[level]

    @classmethod
    def from_file(cls, path: str | Path, *, id: str, population: str,
                  levels: Sequence[LevelSpec] = (),
                  columns: Sequence[str] | Mapping[str, str] = (),
                  sheet: str | None = None, names: Mapping[str, str] | None = None
                  ) -> Population:
        """Read and validate a practice table from a CSV or a worksheet.

        Parameters
        ----------
        path : str or Path
            CSV or ``.xlsx`` file.
        id : str
            Column of practice codes.
        population : str
            Column of raw population (persons).
        levels : sequence of str or list of str
            Grouping columns, innermost first; a list of columns is one level
            whose codes join the columns' codes with "/".
        columns : sequence of str, or mapping of str to str
            Numeric columns the model needs (weighted populations, multipliers);
            a mapping gives, per column, where it was named (for error messages,
            e.g. ``"model.toml, key component[1].weighted_population"``).
        sheet : str, optional
            Sheet name for a workbook.
        names : mapping of str to str, optional
            Level (``practice`` or a level name such as ``ICB/LAD``) → column
            of organisation names (see the module docstring).

        Returns
        -------
        Population
        """
        path = Path(path)
        raw, rows = _read_raw(path, sheet)
        return cls._from_raw(raw, id=id, population=population, levels=levels, columns=columns,
                             where=_Where(str(path), sheet), source=path.name, rows=rows,
                             names=names or {})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, id: str, population: str,
                   levels: Sequence[LevelSpec] = (), columns: Sequence[str] = (),
                   names: Mapping[str, str] | None = None) -> Population:
        """Validate a practice table given as a DataFrame (rows as in :meth:`from_file`)."""
        raw = frame.reset_index(drop=True).astype(object)
        raw = raw.where(raw.notna(), None)
        return cls._from_raw(raw, id=id, population=population, levels=levels, columns=columns,
                             where=_Where("DataFrame", None), source="DataFrame",
                             names=names or {})

    @classmethod
    def _from_raw(cls, raw: pd.DataFrame, *, id: str, population: str,
                  levels: Sequence[LevelSpec], columns: Sequence[str] | Mapping[str, str],
                  where: _Where, source: str, rows: np.ndarray | None = None,
                  names: Mapping[str, str] | None = None) -> Population:
        frame, level_names = _practice_frame(raw, id=id, population=population, levels=levels,
                                             columns=columns, where=where, rows=rows)
        # Row numbers as the user sees them (the header is row 1).
        rows = np.arange(2, len(raw) + 2) if rows is None else rows
        found = _read_names(raw, names or {}, frame, level_names, where, rows)
        return cls(frame=frame.sort_index(), levels=tuple(level_names), source=source,
                   names=found)

    @classmethod
    def synthetic(cls, n_practices: int, seed: int, n_icbs: int = 5) -> Population:
        """Make a seeded synthetic practice table (illustrative, not real data).

        Columns ``population`` and ``Final WP`` (need varying about 1), level ``ICB``.

        Parameters
        ----------
        n_practices : int
            Number of practices.
        seed : int
            Seed for ``numpy.random.default_rng``.
        n_icbs : int
            Number of ICBs the practices are spread over.

        Returns
        -------
        Population
        """
        rng = np.random.default_rng(seed)
        population = np.round(rng.lognormal(np.log(9_000), 0.5, n_practices))
        need = rng.lognormal(0.0, 0.15, n_practices)
        weighted = population * need
        weighted *= population.sum() / weighted.sum()
        codes = [f"P{i:05d}" for i in range(n_practices)]
        icbs = [f"ICB{i % n_icbs:02d}" for i in range(n_practices)]
        frame = pd.DataFrame({"population": population, "Final WP": weighted, "ICB": icbs},
                             index=pd.Index(codes, name="practice"))
        return cls(frame=frame, levels=("ICB",), source="synthetic")


def _practice_frame(raw: pd.DataFrame, *, id: str, population: str | None,
                    levels: Sequence[LevelSpec], columns: Sequence[str] | Mapping[str, str],
                    where: _Where, rows: np.ndarray | None) -> tuple[pd.DataFrame, list[str]]:
    """Validate a practice table's columns: codes, population, numeric columns and levels.

    Returns the frame on the practice codes in the table's order (``population``
    first when asked for, then the numeric columns, then one text column per
    level) and the level names.
    """
    # Row numbers as the user sees them (the header is row 1).
    rows = np.arange(2, len(raw) + 2) if rows is None else rows
    id_header, id_pos = _resolve(raw, id, where, "population.id")
    codes = _text_column(raw[id_header], id_header, id_pos, where, rows)
    refuse_repeats(codes, what="practice", rows=rows,
                   fail=_fail(where, rows, id_header, id_pos))
    data: dict[str, pd.Series] = {}
    if population is not None:
        pop_header, pop_pos = _resolve(raw, population, where, "population.population")
        data["population"] = _number_column(raw[pop_header], pop_header, pop_pos, where, rows)
    named_by = columns if isinstance(columns, Mapping) else {}
    for name in dict.fromkeys(columns):
        header, pos = _resolve(raw, name, where, None, named_by.get(name))
        data[name] = _number_column(raw[header], header, pos, where, rows)
    level_names: list[str] = []
    for spec in levels:
        parts = [spec] if isinstance(spec, str) else list(spec)
        pieces = []
        for part in parts:
            header, pos = _resolve(raw, part, where, "population.levels")
            pieces.append(_text_column(raw[header], header, pos, where, rows))
        joined = pieces[0]
        for piece in pieces[1:]:
            joined = joined + "/" + piece
        name = level_name(spec)
        if name in data or name == "practice":
            raise where.error(f'level "{name}" is named twice', key="population.levels")
        data[name] = joined
        level_names.append(name)
    frame = pd.DataFrame(data, index=raw.index)
    frame.index = pd.Index(codes.to_numpy(dtype=str), name="practice")
    _check_nesting(frame, level_names, where, codes)
    return frame, level_names


def _name_text(cells: pd.Series) -> pd.Series:
    """Return a name column's cells as stripped text; a blank cell is NaN (names nothing)."""
    text = cells.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                     else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    text = text.astype(str).str.strip()
    return text.mask(text == "")


def _read_names(raw: pd.DataFrame, names: Mapping[str, str], frame: pd.DataFrame,
                levels: list[str], where: _Where, rows: np.ndarray) -> dict[str, pd.Series]:
    """Read each named level's name column: one name per code, blank where none is given.

    ``frame`` is the practice frame in the table's row order (before sorting).
    """
    known = ["practice", *levels]
    out: dict[str, pd.Series] = {}
    for level, column in names.items():
        key = f"population.names.{level}"
        if level not in known:
            raise where.error(f'"{level}" is not a level (expected one of {", ".join(known)})',
                              key=key)
        header, position = _resolve(raw, column, where, key)
        text = _name_text(raw[header]).to_numpy(dtype=object)
        codes = (frame.index.to_numpy(dtype=object) if level == "practice"
                 else frame[level].to_numpy(dtype=object))
        pairs = pd.DataFrame({"code": codes, "name": text, "row": rows}).dropna(
            subset=["name"])
        distinct = pairs.drop_duplicates(["code", "name"])  # the first row of each name
        twice = distinct["code"].duplicated(keep=False).to_numpy()
        if twice.any():
            code = distinct["code"].to_numpy()[twice][0]
            first, second = distinct[distinct["code"] == code].iloc[:2].itertuples(index=False)
            raise where.error(
                f'{level} "{code}" has two names: "{first.name}" (row {first.row}) and '
                f'"{second.name}" (row {second.row}); expected one name per code',
                row=int(second.row), column=header, position=position, key=key)
        index = pd.Index(np.sort(pd.unique(codes).astype(str)), name=level)
        named = pd.Series(distinct["name"].to_numpy(dtype=str),
                          index=distinct["code"].to_numpy(dtype=str))
        out[level] = named.reindex(index).astype("str").rename("name")
    return out


def _check_nesting(frame: pd.DataFrame, levels: list[str], where: _Where,
                   codes: pd.Series) -> None:
    """Each level's code must map to one code at every level above it."""
    for inner, outer in zip(levels, levels[1:], strict=False):
        pairs = frame[[inner, outer]].drop_duplicates()
        split = pairs[inner].duplicated(keep=False)
        if split.any():
            code = pairs.loc[split, inner].iloc[0]
            parents = sorted(pairs.loc[pairs[inner] == code, outer].tolist())
            raise where.error(
                f'levels do not nest: {inner} "{code}" is under {outer} "{parents[0]}" and '
                f'"{parents[1]}" (a composite level such as ["{outer}", "{inner}"] may help)',
                key="population.levels")
