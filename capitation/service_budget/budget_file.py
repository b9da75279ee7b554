"""The ``[service_budget]`` table of a model file → validated inputs.

The edge of docs/methods/service-budget.md: every problem a user can fix raises an
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

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import (
    TomlKeys,
    financial_year,
    financial_years,
    find_columns,
    looks_like_percentage,
    next_year,
    normalise_header,
    number_column,
    percentage_mistake,
    read_csv,
    text_column,
)
from capitation.inputs.years import year_suffix
from capitation.rounding import MAX_MONEY_GBP, beyond_money
from capitation.service_budget.budget import ServiceBudgetInputs

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

#: A growth or price uplift a year: a fraction above -1 (everything lost) and at most 1
#: (doubled), as the model workbook's data validation gives it; 1 to 100 is refused as a
#: percentage typed as a whole number.
_GROWTH: dict[str, Any] = {"above": -1.0, "high": 1.0, "fraction": True}

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
    keys = TomlKeys(file, base=base_dir)
    keys.check_keys(table, _PREFIX, _TOP_KEYS, {
        "name": "text, the budget's title",
        "baseline_year": 'a financial year such as "2016/17"',
        "years": 'a list of the budget years, such as ["2017/18", "2018/19"]',
        "growth": "a fraction such as 0.03",
        "price_uplift": "a fraction, or a list of one per year",
        "stranded_support": "a fraction, or a list of one per year"})
    name = keys.text_value(table["name"], f"{_PREFIX}.name").strip()
    baseline_year = financial_year(table["baseline_year"], file=file,
                                   key=f"{_PREFIX}.baseline_year")
    years = tuple(financial_years(
        table["years"], first=next_year(baseline_year),
        first_is=f"the year after baseline_year {baseline_year}", file=file,
        key=f"{_PREFIX}.years"))
    growth = keys.number(table["growth"], f"{_PREFIX}.growth", **_GROWTH)
    uplift = keys.per_year_value(table["price_uplift"], f"{_PREFIX}.price_uplift", years,
                                 **_GROWTH)
    support = keys.per_year_value(table["stranded_support"], f"{_PREFIX}.stranded_support",
                                  years, low=0.0, high=1.0, fraction=True)

    lines, locate_line = _rows(
        table, "line", "lines", _LINE_TEXT, _LINE_NUMBERS, _LINE_PER_YEAR, years, keys
    )
    new, locate_new = _rows(
        table,
        "new_service",
        "new_services",
        _NEW_TEXT,
        _NEW_NUMBERS,
        _NEW_PER_YEAR,
        years,
        keys,
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


# -- rows: inline TOML tables or a CSV file ------------------------------------


def _rows(
    table: Mapping,
    inline_key: str,
    csv_key: str,
    text: tuple[str, ...],
    numbers: tuple[str, ...],
    per_year: tuple[str, ...],
    years: tuple[str, ...],
    keys: TomlKeys,
) -> tuple[pd.DataFrame, _Locate]:
    """Rows as a frame (text, numbers, one column per field and year) and a locator."""
    file = keys.file
    if inline_key in table and csv_key in table:
        raise InputError(
            f'give either [[{_PREFIX}.{inline_key}]] tables or {csv_key} = "file.csv", not both',
            file=file,
            key=f"{_PREFIX}.{csv_key}",
        )
    columns = list(text + numbers) + [f"{f}_{year_suffix(y)}" for f in per_year for y in years]
    if csv_key in table:
        return _csv_rows(table[csv_key], csv_key, text, numbers, per_year, years, keys)
    entries = table.get(inline_key, [])  # absent: no rows of this kind, which is allowed
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InputError(
            f"expected [[{_PREFIX}.{inline_key}]] tables", file=file, key=f"{_PREFIX}.{inline_key}"
        )
    records = []
    for i, entry in enumerate(entries, start=1):
        where = f"{_PREFIX}.{inline_key}[{i}]"
        allowed = text + numbers + per_year
        keys.check_keys(entry, where, allowed,
                        {k: "text" for k in text} | {k: "a number" for k in numbers}
                        | {k: "a number, or a list of one per year" for k in per_year})
        record: dict[str, object] = {}
        for k in text:
            record[k] = keys.text_value(entry[k], f"{where}.{k}").strip()
        for k in numbers:
            record[k] = keys.number(entry[k], f"{where}.{k}")
        for k in per_year:
            values = keys.per_year_value(entry[k], f"{where}.{k}", years)
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
    keys: TomlKeys,
) -> tuple[pd.DataFrame, _Locate]:
    path = keys.path_of(value, f"{_PREFIX}.{csv_key}")
    table = read_csv(path, expect_rows=None)
    raw = table.frame.set_axis([normalise_header(c) for c in table.frame.columns], axis=1)

    def locate(position: int, column: str) -> dict:
        return {"file": path, "row": int(table.rows[position]), "column": column}

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
    find_columns(raw.columns, text + numbers, file=path)

    frame = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for column in text:
        values = text_column(raw[column], what="text", file=path, column=column,
                             rows=table.rows)
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
    # Ranges are checked below, on CSV and inline rows alike.
    return number_column(raw, what="a number", minimum=None,
                         fail=lambda message, i: InputError(message, **locate(i, column)))


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


def _check_money(amounts_gbp: np.ndarray, column: str, locate: _Locate, what: str) -> None:
    """Refuse an amount (an input or a product of inputs) beyond MAX_MONEY_GBP either way."""
    bad = _first_bad(np.abs(amounts_gbp) > MAX_MONEY_GBP)
    if bad is not None:
        raise InputError(f"{what} {beyond_money(float(amounts_gbp[bad]))}",
                         **locate(bad, column))


def _check_fraction(values: np.ndarray, column: str, locate: _Locate, what: str,
                    must: str) -> None:
    """Refuse a fraction that looks like a percentage typed as a whole number (1 to 100)."""
    bad = _first_bad(looks_like_percentage(values))
    if bad is not None:
        raise InputError(f"{what}: {percentage_mistake(float(values[bad]))} ({must})",
                         **locate(bad, column))


def _year_label(column: str, years: tuple[str, ...]) -> str:
    for year in years:
        if column.endswith(f"_{year_suffix(year)}"):
            return f" in {year}"
    return ""


def _check_lines(lines: pd.DataFrame, years: tuple[str, ...], locate: _Locate) -> None:
    _check_at_least(lines, "activity", 0.0, locate, "activity")
    _check_at_least(lines, "price_gbp", 0.0, locate, "price")
    price = lines["price_gbp"].to_numpy(dtype=float)
    _check_money(price, "price_gbp", locate, "price")
    _check_money(lines["activity"].to_numpy(dtype=float) * price, "price_gbp", locate,
                 "baseline cost (activity × price_gbp)")
    for column in ("fixed", "semi_fixed", "variable"):
        values = lines[column].to_numpy(dtype=float)
        _check_fraction(values, column, locate, f"cost share {column}",
                        "must be between 0 and 1")
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
        label = _year_label(column, years)
        _check_fraction(values, column, locate, f"activity change{label}",
                        "must be between -1 and 1")
        bad = _first_bad(values < -1)
        if bad is not None:
            raise InputError(
                f"activity change {values[bad]:g}{label} must be at least -1 "
                "(planned activity cannot be negative)",
                **locate(bad, column),
            )
        bad = _first_bad(values > 1)
        if bad is not None:
            raise InputError(
                f"activity change {values[bad]:g}{label} must be at most 1 (a fraction: 1 "
                "doubles the activity)",
                **locate(bad, column),
            )


def _check_new_services(new: pd.DataFrame, years: tuple[str, ...], locate: _Locate) -> None:
    for year in years:
        suffix = year_suffix(year)
        _check_at_least(new, f"patients_{suffix}", 0.0, locate, f"patients in {year}:")
        _check_at_least(
            new, f"cost_per_patient_gbp_{suffix}", 0.0, locate, f"cost per patient in {year}:"
        )
        cost = new[f"cost_per_patient_gbp_{suffix}"].to_numpy(dtype=float)
        _check_money(cost, f"cost_per_patient_gbp_{suffix}", locate,
                     f"cost per patient in {year}:")
        _check_money(new[f"patients_{suffix}"].to_numpy(dtype=float) * cost,
                     f"cost_per_patient_gbp_{suffix}", locate,
                     f"cost of the new service in {year} (patients × cost_per_patient_gbp):")


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
