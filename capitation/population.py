"""Registered population by practice, with the codes of every level above it.

A :class:`Population` is the validated practice table a model runs on: one row
per practice (index ``practice``), its raw population, any numeric columns the
needs formula uses (weighted populations, multipliers) and one code column per
level (``ICB``, ``ICB/LAD``, ...). It comes from a CSV or a worksheet (such as
NHS England's practice weighted populations), from a DataFrame, or from a
seeded synthetic generator.

Column names a user writes match headers after both are stripped and inner
runs of whitespace are collapsed (so ``Final WP`` matches ``Final WP ``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError

__all__ = ["Population", "LevelSpec", "normalise_header", "level_name", "read_table"]

LevelSpec = str | Sequence[str]


def normalise_header(name: object) -> str:
    """Strip a header and collapse inner runs of whitespace to one space."""
    return " ".join(str(name).split())


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
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                            na_values=[""])
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (byte {exc.start}): save it as CSV UTF-8",
                         file=path) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty (expected a header row and data rows)",
                         file=path) from None
    except pd.errors.ParserError as exc:
        raise InputError(f"is not a well-formed CSV ({exc})", file=path) from None
    if frame.empty:
        raise InputError("has a header but no data rows", file=path)
    return frame


def _header_map(frame: pd.DataFrame, where: _Where) -> dict[str, tuple[str, int]]:
    """Map normalised header → (header as written, position); duplicates are an error."""
    mapping: dict[str, tuple[str, int]] = {}
    for position, header in enumerate(frame.columns):
        key = normalise_header(header)
        if not key:
            continue
        if key in mapping:
            raise where.error(
                f'headers "{mapping[key][0]}" and "{header}" are the same name after '
                "whitespace is tidied; rename one")
        mapping[key] = (str(header), position)
    return mapping


def _resolve(headers: dict[str, tuple[str, int]], name: str, where: _Where,
             key: str | None, named_by: str | None = None) -> tuple[str, int]:
    found = headers.get(normalise_header(name))
    if found is None:
        shown = ", ".join(h for h, _ in list(headers.values())[:40])
        by = f"named by {named_by}; " if named_by else ""
        raise where.error(f'no column "{name}" ({by}the columns are: {shown})', key=key)
    return found


def _rows(mask: np.ndarray, offset: int = 2) -> list[int]:
    return (np.flatnonzero(mask)[:5] + offset).tolist()


def _text_column(raw: pd.Series, label: str, position: int, where: _Where) -> pd.Series:
    text = raw.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                   else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
    text = text.str.strip()
    blank = (text.isna() | (text == "")).to_numpy()
    if blank.any():
        rows = _rows(blank)
        raise where.error(f"blank code in rows {rows} (expected a code in every row)",
                          row=rows[0], column=label, position=position)
    return text


def _number_column(raw: pd.Series, label: str, position: int, where: _Where,
                   allow_negative: bool = False) -> pd.Series:
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = values.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = raw.iloc[i]
        what = "is blank" if shown is None or (isinstance(shown, float) and np.isnan(shown)) \
            or str(shown).strip() == "" else f'"{shown}" is not a number'
        more = f" (rows {_rows(bad)})" if bad.sum() > 1 else ""
        raise where.error(f"{what}{more}; expected a number", row=i + 2, column=label,
                          position=position)
    if not allow_negative:
        negative = (values < 0).to_numpy()
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise where.error(f"{values.iloc[i]:g} is negative; expected a count of 0 or more",
                              row=i + 2, column=label, position=position)
    infinite = ~np.isfinite(values.to_numpy())
    if infinite.any():
        i = int(np.flatnonzero(infinite)[0])
        raise where.error("is not a finite number", row=i + 2, column=label, position=position)
    return values


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
    """

    frame: pd.DataFrame
    levels: tuple[str, ...]
    source: str

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
                  sheet: str | None = None) -> Population:
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

        Returns
        -------
        Population
        """
        raw = read_table(path, sheet)
        return cls._from_raw(raw, id=id, population=population, levels=levels, columns=columns,
                             where=_Where(str(path), sheet), source=Path(path).name)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, id: str, population: str,
                   levels: Sequence[LevelSpec] = (), columns: Sequence[str] = ()) -> Population:
        """Validate a practice table given as a DataFrame (rows as in :meth:`from_file`)."""
        raw = frame.reset_index(drop=True).astype(object)
        raw = raw.where(raw.notna(), None)
        return cls._from_raw(raw, id=id, population=population, levels=levels, columns=columns,
                             where=_Where("DataFrame", None), source="DataFrame")

    @classmethod
    def _from_raw(cls, raw: pd.DataFrame, *, id: str, population: str,
                  levels: Sequence[LevelSpec], columns: Sequence[str], where: _Where,
                  source: str) -> Population:
        headers = _header_map(raw, where)
        id_header, id_pos = _resolve(headers, id, where, "population.id")
        codes = _text_column(raw[id_header], id_header, id_pos, where)
        duplicated = codes.duplicated(keep=False).to_numpy()
        if duplicated.any():
            first = codes[duplicated].iloc[0]
            rows = (np.flatnonzero((codes == first).to_numpy()) + 2).tolist()
            raise where.error(f'practice code "{first}" appears in rows {rows}; '
                              "expected each practice once", row=rows[-1], column=id_header,
                              position=id_pos)
        data: dict[str, pd.Series] = {}
        pop_header, pop_pos = _resolve(headers, population, where, "population.population")
        data["population"] = _number_column(raw[pop_header], pop_header, pop_pos, where)
        named_by = columns if isinstance(columns, Mapping) else {}
        for name in dict.fromkeys(columns):
            header, pos = _resolve(headers, name, where, None, named_by.get(name))
            data[name] = _number_column(raw[header], header, pos, where)
        level_names: list[str] = []
        for spec in levels:
            parts = [spec] if isinstance(spec, str) else list(spec)
            pieces = []
            for part in parts:
                header, pos = _resolve(headers, part, where, "population.levels")
                pieces.append(_text_column(raw[header], header, pos, where))
            joined = pieces[0]
            for piece in pieces[1:]:
                joined = joined + "/" + piece
            name = level_name(spec)
            if name in data or name == "practice":
                raise where.error(f'level "{name}" is named twice', key="population.levels")
            data[name] = joined
            level_names.append(name)
        frame = pd.DataFrame(data)
        frame.index = pd.Index(codes.to_numpy(dtype=str), name="practice")
        _check_nesting(frame, level_names, where, codes)
        frame = frame.sort_index()
        return cls(frame=frame, levels=tuple(level_names), source=source)

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
