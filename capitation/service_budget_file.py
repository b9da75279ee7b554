"""The ``[service_budget]`` table of a model file → validated inputs.

The edge of domain.md section 6: every problem a user can fix raises an
:class:`~capitation.errors.InputError` naming the model file and TOML key
(``service_budget.line[2].fixed``, counting tables from 1 as they appear in
the file) or the CSV file, row (the header is row 1) and column.

Lines and new services are given inline, as ``[[service_budget.line]]`` and
``[[service_budget.new_service]]`` tables, or in CSV files named by
``lines = "msk_lines.csv"`` and ``new_services = "msk_new.csv"`` (relative to
the model file's folder), with the same column names. A per-year list in
TOML (``activity_change = [-0.25, -0.25, -0.25]``) becomes one CSV column per
year (``activity_change_2017_18``, ...); a single number, or a CSV column
without a year, means the same value every year.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.service_budget import ServiceBudgetInputs, year_suffix

__all__ = ["read_service_budget", "COST_SHARE_TOLERANCE"]

#: Cost shares must add up to 1 within this.
COST_SHARE_TOLERANCE = 1e-9

_PREFIX = "service_budget"
_TOP_KEYS = (
    "name",
    "baseline_year",
    "years",
    "growth",
    "price_uplift",
    "stranded_support",
    "line",
    "lines",
    "new_service",
    "new_services",
)
_YEAR = re.compile(r"^(\d{4})/(\d{2})$")

# Per table kind: text columns, numeric columns given once, numeric columns given per year.
_LINE_TEXT = ("provider", "pod")
_LINE_NUMBERS = (
    "activity",
    "price_gbp",
    "fixed",
    "semi_fixed",
    "variable",
    "fixed_release_years",
    "semi_fixed_release_years",
)
_LINE_PER_YEAR = ("activity_change",)
_NEW_TEXT = ("provider", "name")
_NEW_NUMBERS: tuple[str, ...] = ()
_NEW_PER_YEAR = ("patients", "cost_per_patient_gbp")

# Where a row's problem is: (row position, column) → InputError keyword arguments.
_Locate = Callable[[int, str], dict]


def read_service_budget(table: Mapping, base_dir: Path, file: Path) -> ServiceBudgetInputs:
    """Validate a model file's ``[service_budget]`` table.

    Parameters
    ----------
    table : mapping
        The parsed ``[service_budget]`` TOML table.
    base_dir : Path
        Folder that relative CSV paths (``lines``, ``new_services``) are read from,
        usually the model file's folder.
    file : Path
        The model file, named in error messages.

    Returns
    -------
    ServiceBudgetInputs
        Validated inputs for :func:`capitation.service_budget.build_budget`.

    Raises
    ------
    InputError
        On a missing or unknown key, a non-numeric value, a negative price or
        activity, cost shares not adding up to 1, a negative release period,
        a per-year list of the wrong length, years that are not consecutive
        from the year after ``baseline_year``, or stranded support outside [0, 1].
    """
    base_dir = Path(base_dir)
    if not isinstance(table, Mapping):
        raise InputError("[service_budget] must be a table", file=file, key=_PREFIX)
    unknown = [k for k in table if k not in _TOP_KEYS]
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]!r} (expected one of {', '.join(_TOP_KEYS)})",
            file=file,
            key=f"{_PREFIX}.{unknown[0]}",
        )
    name = _text(_require(table, "name", file), f"{_PREFIX}.name", file)
    baseline_year = _financial_year(_require(table, "baseline_year", file), "baseline_year", file)
    years = _years(_require(table, "years", file), baseline_year, file)

    growth = _number(_require(table, "growth", file), f"{_PREFIX}.growth", file)
    if growth <= -1:
        raise InputError(f"growth {growth} must be above -1", file=file, key=f"{_PREFIX}.growth")
    uplift = _per_year(
        _require(table, "price_uplift", file), f"{_PREFIX}.price_uplift", file, years
    )
    for year, value in zip(years, uplift, strict=True):
        if value <= -1:
            raise InputError(
                f"price uplift {value} in {year} must be above -1",
                file=file,
                key=f"{_PREFIX}.price_uplift",
            )
    support = _per_year(
        _require(table, "stranded_support", file), f"{_PREFIX}.stranded_support", file, years
    )
    for year, value in zip(years, support, strict=True):
        if not 0.0 <= value <= 1.0:
            raise InputError(
                f"stranded support {value} in {year} must be between 0 and 1",
                file=file,
                key=f"{_PREFIX}.stranded_support",
            )

    lines, locate_line = _rows(
        table, "line", "lines", _LINE_TEXT, _LINE_NUMBERS, _LINE_PER_YEAR, years, base_dir, file
    )
    new, locate_new = _rows(
        table,
        "new_service",
        "new_services",
        _NEW_TEXT,
        _NEW_NUMBERS,
        _NEW_PER_YEAR,
        years,
        base_dir,
        file,
    )
    if len(lines) == 0 and len(new) == 0:
        raise InputError(
            "a service budget needs at least one [[service_budget.line]] or new service",
            file=file,
            key=_PREFIX,
        )
    _check_lines(lines, years, locate_line)
    _check_new_services(new, years, locate_new)
    _check_unique(lines, new, locate_line, locate_new)

    columns = [f"activity_change_{year_suffix(y)}" for y in years]
    activity_change = lines.loc[:, columns].set_axis(list(years), axis=1)
    patients = new.loc[:, [f"patients_{year_suffix(y)}" for y in years]]
    cost = new.loc[:, [f"cost_per_patient_gbp_{year_suffix(y)}" for y in years]]
    return ServiceBudgetInputs(
        name=name,
        baseline_year=baseline_year,
        years=years,
        growth=growth,
        price_uplift=np.array(uplift),
        stranded_support=np.array(support),
        lines=lines.loc[:, list(_LINE_TEXT + _LINE_NUMBERS)],
        activity_change=activity_change,
        new_services=new.loc[:, list(_NEW_TEXT)],
        patients=patients.set_axis(list(years), axis=1),
        cost_per_patient_gbp=cost.set_axis(list(years), axis=1),
    )


# -- scalars -----------------------------------------------------------------


def _require(table: Mapping, key: str, file: Path) -> object:
    if key not in table:
        raise InputError(f"missing required key {key!r}", file=file, key=f"{_PREFIX}.{key}")
    return table[key]


def _text(value: object, key: str, file: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"expected non-empty text, got {value!r}", file=file, key=key)
    return value.strip()


def _number(value: object, key: str, file: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{value!r} is not a number", file=file, key=key)
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{value!r} is not a finite number", file=file, key=key)
    return number


def _financial_year(value: object, name: str, file: Path) -> str:
    key = f"{_PREFIX}.{name}"
    match = _YEAR.match(value) if isinstance(value, str) else None
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise InputError(
            f'{value!r} is not a financial year (expected text like "2017/18")', file=file, key=key
        )
    return value


def _years(value: object, baseline_year: str, file: Path) -> tuple[str, ...]:
    key = f"{_PREFIX}.years"
    if not isinstance(value, list) or not value:
        raise InputError('expected a non-empty list of years like ["2017/18"]', file=file, key=key)
    years = tuple(_financial_year(v, "years", file) for v in value)
    first = int(baseline_year[:4])
    expected = tuple(f"{first + k}/{(first + k + 1) % 100:02d}" for k in range(1, len(years) + 1))
    if years != expected:
        raise InputError(
            f"years {list(years)} must be consecutive, starting the year after baseline_year "
            f"{baseline_year}: expected {list(expected)}",
            file=file,
            key=key,
        )
    return years


def _per_year(value: object, key: str, file: Path, years: tuple[str, ...]) -> list[float]:
    """Read one number per budget year: a list of them, or one number for every year."""
    if isinstance(value, list):
        if len(value) != len(years):
            raise InputError(
                f"expected {len(years)} values, one per year {', '.join(years)}; got {len(value)}",
                file=file,
                key=key,
            )
        return [_number(v, f"{key}[{k}]", file) for k, v in enumerate(value, start=1)]
    return [_number(value, key, file)] * len(years)


# -- rows: inline TOML tables or a CSV file ------------------------------------


def _rows(
    table: Mapping,
    inline_key: str,
    csv_key: str,
    text: tuple[str, ...],
    numbers: tuple[str, ...],
    per_year: tuple[str, ...],
    years: tuple[str, ...],
    base_dir: Path,
    file: Path,
) -> tuple[pd.DataFrame, _Locate]:
    """Rows as a frame (text, numbers, one column per field and year) and a locator."""
    if inline_key in table and csv_key in table:
        raise InputError(
            f'give either [[{_PREFIX}.{inline_key}]] tables or {csv_key} = "file.csv", not both',
            file=file,
            key=f"{_PREFIX}.{csv_key}",
        )
    columns = list(text + numbers) + [f"{f}_{year_suffix(y)}" for f in per_year for y in years]
    if csv_key in table:
        return _csv_rows(table[csv_key], csv_key, text, numbers, per_year, years, base_dir, file)
    entries = table.get(inline_key, [])  # absent: no rows of this kind, which is allowed
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InputError(
            f"expected [[{_PREFIX}.{inline_key}]] tables", file=file, key=f"{_PREFIX}.{inline_key}"
        )
    records = []
    for i, entry in enumerate(entries, start=1):
        where = f"{_PREFIX}.{inline_key}[{i}]"
        allowed = text + numbers + per_year
        extra = [k for k in entry if k not in allowed]
        if extra:
            raise InputError(
                f"unknown key {extra[0]!r} (expected {', '.join(allowed)})",
                file=file,
                key=f"{where}.{extra[0]}",
            )
        record: dict[str, object] = {}
        for k in text + numbers + per_year:
            if k not in entry:
                raise InputError(f"missing required key {k!r}", file=file, key=f"{where}.{k}")
        for k in text:
            record[k] = _text(entry[k], f"{where}.{k}", file)
        for k in numbers:
            record[k] = _number(entry[k], f"{where}.{k}", file)
        for k in per_year:
            values = _per_year(entry[k], f"{where}.{k}", file, years)
            for year, v in zip(years, values, strict=True):
                record[f"{k}_{year_suffix(year)}"] = v
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)

    def locate(position: int, column: str) -> dict:
        field = _field_of(column, per_year)
        return {"file": file, "key": f"{_PREFIX}.{inline_key}[{position + 1}].{field}"}

    return frame, locate


def _field_of(column: str, per_year: tuple[str, ...]) -> str:
    for field in per_year:
        if column.startswith(f"{field}_"):
            return field
    return column


def _csv_rows(
    value: object,
    csv_key: str,
    text: tuple[str, ...],
    numbers: tuple[str, ...],
    per_year: tuple[str, ...],
    years: tuple[str, ...],
    base_dir: Path,
    file: Path,
) -> tuple[pd.DataFrame, _Locate]:
    key = f"{_PREFIX}.{csv_key}"
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"expected a CSV file name, got {value!r}", file=file, key=key)
    path = base_dir / value
    if not path.is_file():
        raise InputError(f"CSV file {str(path)!r} not found", file=file, key=key)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read as CSV: {err}", file=path) from err
    raw.columns = [str(c).strip() for c in raw.columns]

    def locate(position: int, column: str) -> dict:
        return {"file": path, "row": position + 2, "column": column}

    suffixes = {year_suffix(y) for y in years}
    year_column = re.compile(rf"^({'|'.join(map(re.escape, per_year))})_(\d{{4}}_\d{{2}})$")
    for column in raw.columns:
        if column in text + numbers + per_year:
            continue
        match = year_column.match(column) if per_year else None
        if match is None:
            raise InputError(
                f"unknown column (expected {', '.join(text + numbers + per_year)}"
                + (
                    f", with per-year columns such as {per_year[0]}_{year_suffix(years[0])})"
                    if per_year
                    else ")"
                ),
                file=path,
                column=column,
            )
        if match.group(2) not in suffixes:
            raise InputError(
                f"{match.group(2).replace('_', '/')} is not a budget year: "
                f"a per-year field needs one column for each of {', '.join(years)}",
                file=path,
                column=column,
            )
    for column in text + numbers:
        if column not in raw.columns:
            raise InputError("missing required column", file=path, column=column)

    frame = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for column in text:
        values = raw[column].str.strip()
        blank = np.flatnonzero((values == "").to_numpy())
        if blank.size:
            raise InputError("expected text, found a blank cell", **locate(int(blank[0]), column))
        frame[column] = values.to_numpy(dtype=object)
    for column in numbers:
        frame[column] = _csv_numbers(raw[column], column, locate)
    for field in per_year:
        by_year = [f"{field}_{year_suffix(y)}" for y in years]
        present = [c for c in by_year if c in raw.columns]
        if field in raw.columns and present:
            raise InputError(
                f"give either one {field!r} column or one column per year, not both",
                file=path,
                column=present[0],
            )
        if field in raw.columns:
            constant = _csv_numbers(raw[field], field, locate)
            for c in by_year:
                frame[c] = constant
            continue
        if len(present) != len(by_year):
            missing = [c for c in by_year if c not in raw.columns]
            raise InputError(
                f"missing column: {field} needs one column per year "
                f"({', '.join(by_year)}) or a single {field!r} column",
                file=path,
                column=missing[0],
            )
        for c in by_year:
            frame[c] = _csv_numbers(raw[c], c, locate)
    return frame, locate


def _csv_numbers(raw: pd.Series, column: str, locate: _Locate) -> np.ndarray:
    text = raw.str.strip()
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        cell = text.iloc[int(bad[0])]
        reason = "a number is missing" if cell == "" else f"{cell!r} is not a number"
        raise InputError(reason, **locate(int(bad[0]), column))
    return numbers


# -- checks common to both forms (vectorised over rows) -------------------------


def _first_bad(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def _check_at_least(
    frame: pd.DataFrame,
    column: str,
    lowest: float,
    locate: _Locate,
    what: str,
    strict: bool = False,
) -> None:
    values = frame[column].to_numpy(dtype=float)
    bad = _first_bad(values <= lowest if strict else values < lowest)
    if bad is not None:
        bound = "above" if strict else "at least"
        raise InputError(
            f"{what} {values[bad]:g} must be {bound} {lowest:g}", **locate(bad, column)
        )


def _year_label(column: str, years: tuple[str, ...]) -> str:
    for year in years:
        if column.endswith(f"_{year_suffix(year)}"):
            return f" in {year}"
    return ""


def _check_lines(lines: pd.DataFrame, years: tuple[str, ...], locate: _Locate) -> None:
    _check_at_least(lines, "activity", 0.0, locate, "activity")
    _check_at_least(lines, "price_gbp", 0.0, locate, "price")
    for column in ("fixed", "semi_fixed", "variable"):
        values = lines[column].to_numpy(dtype=float)
        bad = _first_bad((values < 0) | (values > 1))
        if bad is not None:
            raise InputError(
                f"cost share {column} {values[bad]:g} must be between 0 and 1",
                **locate(bad, column),
            )
    total = lines[["fixed", "semi_fixed", "variable"]].to_numpy(dtype=float).sum(axis=1)
    bad = _first_bad(np.abs(total - 1.0) > COST_SHARE_TOLERANCE)
    if bad is not None:
        raise InputError(
            f"cost shares fixed + semi_fixed + variable add up to {total[bad]:.12g}, "
            f"expected 1 (within {COST_SHARE_TOLERANCE:g})",
            **locate(bad, "fixed"),
        )
    for column in ("fixed_release_years", "semi_fixed_release_years"):
        _check_at_least(lines, column, 0.0, locate, "release period (years)")
    for year in years:
        column = f"activity_change_{year_suffix(year)}"
        values = lines[column].to_numpy(dtype=float)
        bad = _first_bad(values < -1)
        if bad is not None:
            raise InputError(
                f"activity change {values[bad]:g}{_year_label(column, years)} must be at least -1 "
                "(planned activity cannot be negative)",
                **locate(bad, column),
            )


def _check_new_services(new: pd.DataFrame, years: tuple[str, ...], locate: _Locate) -> None:
    for year in years:
        suffix = year_suffix(year)
        _check_at_least(new, f"patients_{suffix}", 0.0, locate, f"patients in {year}:")
        _check_at_least(
            new, f"cost_per_patient_gbp_{suffix}", 0.0, locate, f"cost per patient in {year}:"
        )


def _check_unique(
    lines: pd.DataFrame, new: pd.DataFrame, locate_line: _Locate, locate_new: _Locate
) -> None:
    """Each provider × POD (or new service name) appears once: plan lines are keyed by it."""
    line_keys = lines[["provider", "pod"]].set_axis(["provider", "pod"], axis=1)
    dup = _first_bad(line_keys.duplicated().to_numpy())
    if dup is not None:
        provider, pod = line_keys.iloc[dup]
        raise InputError(f"a second line for {provider} / {pod}", **locate_line(dup, "pod"))
    new_keys = new[["provider", "name"]].set_axis(["provider", "pod"], axis=1)
    both = pd.concat([line_keys, new_keys], ignore_index=True)
    dup = _first_bad(both.duplicated().to_numpy()[len(line_keys) :])
    if dup is not None:
        provider, pod = new_keys.iloc[dup]
        raise InputError(
            f"{provider} / {pod} is already a line or new service", **locate_new(dup, "name")
        )
