"""The activity table: use of services by practice, the input of needs-versus-use.

One row per practice × service (``emergency_admissions``, ``outpatient_first``,
``a_and_e``, ...), optionally split further by ``provider`` and by ``sex`` and
``age_band`` (then indirect standardisation by age and sex is possible), with

=============  ================================================================
``activity``   a count of activity (admissions, attendances), whole, 0 or more
``cost_gbp``   optional: spend on that activity, pounds, 0 or more
``patients``   optional: distinct people who had it, whole, at most ``activity``
=============  ================================================================

It comes from a CSV (UTF-8, read by :func:`capitation.inputs.read_csv`), a
Parquet file, a workbook sheet or a DataFrame. Every problem is an
:class:`~capitation.errors.InputError` naming the file, the row as a
spreadsheet numbers it (the header is row 1; a Parquet file's rows are
numbered the same way, as the table would show saved as CSV) and the column;
for a DataFrame, its index label. Nothing read is changed.

A practice × service with no row had no activity: an activity extract lists
only what happened, so a missing row counts zero (:meth:`Activity.totals`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import find_columns, normalise_header, number_column, read_csv, text_column
from capitation.inputs.csv_tables import Fail, also_rows
from capitation.population import Population

__all__ = ["ACTIVITY_COLUMNS", "Activity", "read_activity"]

#: The columns of an activity table, each with what it holds.
ACTIVITY_COLUMNS: dict[str, str] = {
    "practice": "the GP practice code, such as A81001",
    "service": "the service, such as emergency_admissions",
    "provider": "optional: the provider of the activity",
    "sex": "optional: M or F (with age_band)",
    "age_band": "optional: the age band, such as 65-74 or 85+ (with sex)",
    "activity": "a count of activity, 0 or more",
    "cost_gbp": "optional: spend on the activity in pounds, 0 or more",
    "patients": "optional: a count of the distinct patients who had the activity, 0 or more",
}
_REQUIRED = ("practice", "service", "activity")
_OPTIONAL = ("provider", "sex", "age_band", "cost_gbp", "patients")
_TEXT = ("practice", "service", "provider", "sex", "age_band")
_ROWS = "one row per practice and service"
_SEX = {"M": "M", "F": "F", "MALE": "M", "FEMALE": "F"}
_PARQUET = (".parquet", ".pq")
_WORKBOOK = (".xlsx", ".xlsm")


@dataclass(frozen=True, eq=False)
class Activity:
    """A validated activity table.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per input row, in the input's order, on a fresh ``RangeIndex``:
        ``practice`` and ``service`` (str), then whichever of ``provider``,
        ``sex`` (``"M"``/``"F"``) and ``age_band`` (str) were given, then
        ``activity`` (float64 whole counts) and whichever of ``cost_gbp``
        (float64 pounds) and ``patients`` (float64 whole counts) were given.
    source : str
        Where it came from: the file's name, or ``"DataFrame"``.
    """

    frame: pd.DataFrame
    source: str

    def __post_init__(self) -> None:
        """Copy the frame so that later changes to the caller's frame do not leak in."""
        object.__setattr__(self, "frame", self.frame.copy())

    @property
    def services(self) -> tuple[str, ...]:
        """The services, in order of first appearance."""
        return tuple(pd.unique(self.frame["service"]))

    @property
    def has_cost(self) -> bool:
        """Whether spend (``cost_gbp``) is given."""
        return "cost_gbp" in self.frame.columns

    @property
    def has_patients(self) -> bool:
        """Whether distinct patients are given."""
        return "patients" in self.frame.columns

    @property
    def has_provider(self) -> bool:
        """Whether activity is split by provider."""
        return "provider" in self.frame.columns

    @property
    def has_age_sex(self) -> bool:
        """Whether activity is split by sex and age band."""
        return "sex" in self.frame.columns

    def totals(self, units: pd.Index, level_codes: pd.Series | None = None,
               by: Sequence[str] = ()) -> pd.DataFrame:
        """Activity, cost and patients summed per unit and service.

        Parameters
        ----------
        units : pandas.Index
            The units to report (practice codes, or the codes of a level),
            named after the level. A unit × service without activity counts
            zero (a missing row of an activity extract is no activity).
        level_codes : pandas.Series, optional
            Each practice's unit code, indexed by practice
            (:meth:`capitation.Population.level_codes`); None when the units
            are practices.
        by : sequence of str
            Further columns to keep apart (``["provider"]``).

        Returns
        -------
        pandas.DataFrame
            Indexed by (unit, service, *by), sorted, with ``activity`` and
            whichever of ``cost_gbp`` and ``patients`` are given (sums).

        Raises
        ------
        InputError
            A practice with activity that is not among the units.
        """
        frame = self.frame
        values = [c for c in ("activity", "cost_gbp", "patients") if c in frame.columns]
        name = units.name or "practice"
        if level_codes is None:
            unit = frame["practice"]
        else:
            unit = frame["practice"].map(level_codes)
        known = _where_in(unit, units) >= 0
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            where = ("the practices analysed" if level_codes is None
                     else f"any {name} analysed")
            raise InputError(f'practice "{frame["practice"].iloc[i]}" has activity but is not '
                             f"in {where}", file=self.source, column="practice")
        keys = {name: unit.to_numpy(), "service": frame["service"].to_numpy()}
        keys.update({b: frame[b].to_numpy() for b in by})
        summed = frame[values].groupby([pd.Series(v, name=k) for k, v in keys.items()],
                                       sort=True).sum()
        if by:
            return summed
        full = pd.MultiIndex.from_product([sorted(units), sorted(self.services)],
                                          names=[name, "service"])
        # A unit × service without rows had no activity (module docstring): zero.
        return summed.reindex(full, fill_value=0.0)

    def table(self, column: str, units: pd.Index,
              level_codes: pd.Series | None = None) -> pd.DataFrame:
        """One summed column as units × services (rows sorted, services in order).

        Parameters
        ----------
        column : {"activity", "cost_gbp", "patients"}
            The column to sum.
        units, level_codes
            As for :meth:`totals`.

        Returns
        -------
        pandas.DataFrame
            Indexed by unit, one column per service.
        """
        if column not in self.frame.columns:
            raise InputError(f'the activity table has no column "{column}" '
                             f"(expected {ACTIVITY_COLUMNS[column]})", file=self.source)
        wide = self.totals(units, level_codes)[column].unstack("service")
        wide.columns.name = None
        return wide.loc[:, list(self.services)]


def read_activity(source: str | Path | pd.DataFrame, *,
                  practices: Population | Collection[str] | None = None,
                  sheet: str = "activity") -> Activity:
    """Read and validate an activity table.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A ``.csv``, ``.parquet`` or ``.xlsx`` file, or a DataFrame, with the
        columns of :data:`ACTIVITY_COLUMNS` (headers matched ignoring case
        and extra whitespace).
    practices : Population or collection of str, optional
        The practices of the model; activity at any other practice is an error.
    sheet : str
        The sheet of a workbook.

    Returns
    -------
    Activity

    Raises
    ------
    InputError
        Naming the file, row and column (a DataFrame: its index label): a
        missing column, a blank or non-numeric cell, negative or fractional
        activity or patients, an unknown practice, a sex that is not M or F,
        patients above activity, activity without patients, cost without
        activity, or a row repeated (the same practice, service and any
        provider, sex and age band).
    """
    file: str | None
    rows: np.ndarray | None
    sheet_name: str | None = None
    if isinstance(source, pd.DataFrame):
        raw = source.reset_index(drop=True).astype(object)
        raw = raw.where(raw.notna(), None)
        file, rows, labels, name = None, None, source.index, "DataFrame"
    elif isinstance(source, str | Path):
        path = Path(source)
        file, name = str(path), path.name
        suffix = path.suffix.lower()
        if suffix in _PARQUET:
            raw = _read_parquet(path)
            rows = np.arange(2, len(raw) + 2, dtype=np.int64)
        elif suffix in _WORKBOOK:
            raw, sheet_name = _read_sheet(path, sheet), sheet
            rows = np.arange(2, len(raw) + 2, dtype=np.int64)
        else:
            table = read_csv(path, what="activity file", expect_rows=_ROWS)
            raw, rows = table.frame, table.rows
        labels = raw.index
    else:
        raise InputError(f"the activity table must be a DataFrame or a path to a CSV, Parquet "
                         f"or workbook file, not {type(source).__name__}")
    place = _Place(file, sheet_name, rows, labels)
    if len(raw) == 0:
        raise InputError(f"the activity table has no rows (expected {_ROWS})", file=file,
                         sheet=sheet_name)
    present = {normalise_header(c).casefold() for c in raw.columns}
    wanted = [*_REQUIRED, *(c for c in _OPTIONAL if c in present)]
    found = find_columns(raw.columns, wanted, file=file, sheet=sheet_name,
                         case_sensitive=False, about=ACTIVITY_COLUMNS)
    if ("sex" in found) != ("age_band" in found):
        has, lacks = ("sex", "age_band") if "sex" in found else ("age_band", "sex")
        raise InputError(f'column "{has}" without column "{lacks}" (give both, for indirect '
                         "standardisation by age and sex, or neither)", file=file,
                         sheet=sheet_name, column=lacks)
    out = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for column in (c for c in _TEXT if c in found):
        out[column] = text_column(raw[found[column]], what=ACTIVITY_COLUMNS[column],
                                  rows=rows, fail=place.fail(column)).to_numpy(dtype=str)
    if "sex" in out.columns:
        out["sex"] = _sexes(out["sex"], place)
    activity = number_column(raw[found["activity"]], what=ACTIVITY_COLUMNS["activity"],
                             whole=True, rows=rows, fail=place.fail("activity"))
    out["activity"] = activity
    if "cost_gbp" in found:
        out["cost_gbp"] = number_column(raw[found["cost_gbp"]], what=ACTIVITY_COLUMNS["cost_gbp"],
                                        rows=rows, fail=place.fail("cost_gbp"), money=True)
    if "patients" in found:
        out["patients"] = number_column(raw[found["patients"]], what=ACTIVITY_COLUMNS["patients"],
                                        whole=True, rows=rows, fail=place.fail("patients"))
    _check_practices(out["practice"], practices, place)
    _check_consistent(out, place)
    _check_repeats(out, place)
    return Activity(frame=out, source=name)


@dataclass(frozen=True)
class _Place:
    """Where a row of the table is: a file's row, or a DataFrame's index label."""

    file: str | None
    sheet: str | None
    rows: np.ndarray | None
    labels: pd.Index

    def error(self, message: str, position: int, column: str) -> InputError:
        if self.rows is not None:
            return InputError(message, file=self.file, sheet=self.sheet,
                              row=int(self.rows[position]), column=column)
        return InputError(message, column=column,
                          key=f"activity index {_label(self.labels[position])!r}")

    def fail(self, column: str) -> Fail:
        return lambda message, position: self.error(message, position, column)

    def also(self, positions: np.ndarray) -> str:
        return "" if self.rows is None else also_rows(self.rows[positions])

    def first(self, mask: np.ndarray, message: str, column: str) -> None:
        hits = np.flatnonzero(mask)
        if hits.size:
            raise self.error(message + self.also(hits[1:]), int(hits[0]), column)


def _where_in(values: pd.Series, codes: pd.Index) -> np.ndarray:
    """Return each value's position among ``codes`` (-1 when absent); faster than isin on text."""
    return pd.Index(codes).unique().get_indexer(values.to_numpy(dtype=object))


def _label(value: object) -> object:
    """Return an index label as Python shows it (20, not np.int64(20))."""
    return value.item() if isinstance(value, np.generic) else value


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError("activity file not found", file=path)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot be read as Parquet ({exc})", file=path) from None
    frame = frame.reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def _read_sheet(path: Path, sheet: str) -> pd.DataFrame:
    if not path.exists():
        raise InputError("activity file not found", file=path)
    from capitation.excel.read import read_sheet_table

    return read_sheet_table(path, sheet)


def _sexes(text: pd.Series, place: _Place) -> np.ndarray:
    mapped = text.str.upper().map(_SEX)
    bad = mapped.isna().to_numpy()
    if bad.any():
        value = text.iloc[int(np.flatnonzero(bad)[0])]
        place.first(bad, f'"{value}" is not a sex (expected M or F)', "sex")
    return mapped.to_numpy(dtype=str)


def _check_practices(codes: pd.Series, practices: Population | Collection[str] | None,
                     place: _Place) -> None:
    if practices is None:
        return
    known = practices.codes if isinstance(practices, Population) else pd.Index(list(practices))
    unknown = _where_in(codes, known) < 0
    if unknown.any():
        code = codes.iloc[int(np.flatnonzero(unknown)[0])]
        source = f", from {practices.source}" if isinstance(practices, Population) else ""
        place.first(unknown, f'practice "{code}" is not in the population (expected one of '
                    f"its {len(known):,} practices{source})", "practice")


def _check_consistent(out: pd.DataFrame, place: _Place) -> None:
    activity = out["activity"].to_numpy()
    if "patients" in out.columns:
        patients = out["patients"].to_numpy()
        above = patients > activity
        if above.any():
            i = int(np.flatnonzero(above)[0])
            place.first(above, f"patients {patients[i]:,.0f} is above activity "
                        f"{activity[i]:,.0f} (expected at most the activity: each patient "
                        "counted had some of it)", "patients")
        none = (patients == 0) & (activity > 0)
        if none.any():
            i = int(np.flatnonzero(none)[0])
            place.first(none, f"activity {activity[i]:,.0f} without patients (expected at "
                        "least 1 patient where there is activity)", "patients")
    if "cost_gbp" in out.columns:
        cost = out["cost_gbp"].to_numpy()
        spent = (cost > 0) & (activity == 0)
        if spent.any():
            i = int(np.flatnonzero(spent)[0])
            place.first(spent, f"cost £{cost[i]:,.2f} without activity (expected 0 where "
                        "activity is 0)", "cost_gbp")


def _check_repeats(out: pd.DataFrame, place: _Place) -> None:
    keys = [c for c in _TEXT if c in out.columns]
    repeated = out.duplicated(keys, keep="first").to_numpy()
    if not repeated.any():
        return
    i = int(np.flatnonzero(repeated)[0])
    same = (out[keys] == out[keys].iloc[i]).all(axis=1).to_numpy()
    first = int(np.flatnonzero(same)[0])
    shown = ", ".join(f'{k} "{out[k].iloc[i]}"' for k in keys)
    at = (f"row {int(place.rows[first])}" if place.rows is not None
          else f"index {_label(place.labels[first])!r}")
    per = ", ".join(keys[:-1]) + " and " + keys[-1]
    raise place.error(f"{shown} appears again (first at {at}; expected one row per {per})",
                      i, keys[-1])
