"""Person rows at the edge: list the parts, read one part, validate it.

A person source is a Parquet file, a folder of Parquet parts (``*.parquet``,
read in name order), or a CSV. Each part is validated on its own, so that an
error names the file (the Parquet part), the column and up to five offending
person_ids; the duplicated-person_id check spans all parts.

A validated part is a frame with the columns

=========  =======  ===========================================================
person_id  int64    as given (or text when the ids are not whole numbers)
practice   int32    position of the practice in the sorted practice codes
sex        int8     0 for ``M``, 1 for ``F``
age        int8     age in whole years capped at 95 (cost weights stop at "95+")
u          uint64   order key of the risk rank (:func:`capitation.persons.tiers.order_key`),
                    or the given tier's index when tiers come in a column
tier       int8     the given tier (only when tiers come in a column)
=========  =======  ===========================================================

An age or risk score written as text with a thousands separator, a pound
sign or a percent sign (``"1,234"``, ``"5%"``) follows the rule of every
input (:mod:`capitation.inputs.csv_tables`): it is read as that number, with
the warning naming the part, the row (as a spreadsheet shows a CSV, the
header being row 1; in a Parquet part, the data row from 1) and the column.
Only a column that arrives as text with a cell Arrow cannot read as a number
takes that slower route; numeric columns and plain numbers in text are read
as before.

This is the careful route, through pandas, which words every message. Runs
read by the quick route (:mod:`capitation.persons.from_arrow`), Arrow straight
into the same arrays, which hands a batch or a CSV here whenever it holds
anything to report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from capitation.errors import InputError, clip
from capitation.inputs import check_file, find_columns, read_csv
from capitation.inputs.csv_tables import numbers_in_cells, to_numbers
from capitation.inputs.files import cannot_read
from capitation.persons.spec import PersonsSpec
from capitation.persons.tiers import order_key

__all__ = ["PartReader", "list_parts", "read_part", "validate", "validate_arrays",
           "parquet_call",
           "check_unique_ids", "integer_ids", "MAX_AGE", "TOP_AGE"]

_T = TypeVar("_T")

MAX_AGE = 120
TOP_AGE = 95
_LISTED = 5


def list_parts(path: Path) -> list[Path]:
    """Return the files of a person source, in name order.

    Parameters
    ----------
    path : Path
        A ``.parquet`` file, a folder of ``.parquet`` parts or a ``.csv``.

    Returns
    -------
    list of Path
    """
    path = Path(path)
    if not path.exists():
        raise InputError("not found (make synthetic persons with `capitation synth-persons`)",
                         file=path)
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not parts:
            raise InputError("the folder holds no .parquet parts", file=path)
        return parts
    if path.suffix.lower() not in {".parquet", ".csv"}:
        raise InputError("expected a .parquet file, a folder of .parquet parts or a .csv",
                         file=path)
    return [check_file(path)]


def _values(values: Iterable[object], quote: bool = False) -> str:
    """Up to five distinct bad values for a message: a missing one is "blank", a long one cut."""
    shown: list[str] = []
    for value in values:
        missing = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
        text = "blank" if missing else clip(repr(value) if quote else str(value))
        if text not in shown:
            shown.append(text)
        if len(shown) == _LISTED:
            break
    return ", ".join(shown)


def _ids(columns: dict[str, np.ndarray], mask: np.ndarray) -> str:
    shown = columns["person_id"][np.flatnonzero(mask)[:_LISTED]]
    more = int(mask.sum()) - len(shown)
    text = ", ".join(str(v) for v in shown)
    return f"person_id {text}" + (f" and {more:,} more" if more > 0 else "")


def _unique_by_count(ids: np.ndarray) -> bool:
    """Say whether whole-number ids are surely unique (a count per id over their range).

    False means "not known": text ids, a range much wider than the ids, or a
    repeat; the caller then finds the repeats the slow way.
    """
    if ids.dtype.kind not in "iu" or len(ids) == 0:
        return len(ids) == 0
    low, high = int(ids.min()), int(ids.max())
    if high - low > 4 * len(ids) + 1024:
        return False
    return int(np.bincount(ids - low).max()) <= 1


def _match_codes(code: np.ndarray, practice_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position of each code in the sorted practice codes, and whether it is there."""
    if len(practice_codes) == 0:
        return np.zeros(len(code), dtype=np.int64), np.zeros(len(code), dtype=bool)
    where = np.minimum(np.searchsorted(practice_codes, code), len(practice_codes) - 1)
    return where, practice_codes[where] == code


def _by_value(column: pd.Series, convert: Callable[[pd.Series], np.ndarray]) -> np.ndarray:
    """``convert`` (text Series → float array, NaN for bad) applied per distinct value.

    A Parquet dictionary column (pandas categorical) is converted through its
    categories only; missing values give NaN.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = np.append(convert(pd.Series(column.cat.categories).astype("string")), np.nan)
        taken = column.cat.codes.to_numpy()
        return values[np.where(taken < 0, len(values) - 1, taken)]
    return convert(column.astype("string"))


@dataclass(frozen=True, eq=False)
class PartReader:
    """Reads and validates one part; picklable, so Dask workers can run it.

    Attributes
    ----------
    spec : PersonsSpec
        Column names and tier mode.
    practice_codes : numpy.ndarray
        Sorted practice codes (text) of the practices file.
    practices_file : str
        Its name, for messages.
    tier_names : tuple of str
        Tier names in rank order.
    """

    spec: PersonsSpec
    practice_codes: np.ndarray
    practices_file: str
    tier_names: tuple[str, ...]

    def columns(self) -> list[str]:
        """Source columns read from each part."""
        s = self.spec
        cols = [s.person_id, s.practice, s.sex, s.age]
        if s.risk_score is not None:
            cols.append(s.risk_score)
        if s.risk_tier is not None:
            cols.append(s.risk_tier)
        return cols

    def __call__(self, part: Path) -> pd.DataFrame:
        """Read and validate one part (see the module docstring for the columns)."""
        return read_part(part, self)


def _load(part: Path, columns: list[str]) -> pd.DataFrame:
    """Read the source columns of one part, named as the model file names them.

    A CSV is read as text (:func:`capitation.inputs.read_csv`): blank cells are
    missing and ids that are all whole numbers become int64, as for Parquet.
    """
    if part.suffix.lower() == ".csv":
        table = read_csv(part, keep=columns, expect_rows=None)
        found = find_columns(table.headers, columns, file=part)
        raw = table.frame[[found[c] for c in columns]].set_axis(columns, axis=1)
        raw = raw.mask(raw == "")
        raw[columns[0]] = _whole_numbers_if_all(raw[columns[0]])
        return raw.set_axis(pd.Index(table.rows), axis=0)  # rows as a spreadsheet shows them
    import pyarrow.parquet as pq

    found = find_columns(parquet_call(part, pq.read_schema).names, columns, file=part)
    table = parquet_call(part, lambda path: pq.read_table(path, columns=[found[c] for c in columns],
                                                      use_threads=False))
    return table.to_pandas().set_axis(columns, axis=1)


def parquet_call(part: Path, read: Callable[[Path], _T]) -> _T:
    """Run a pyarrow read of one part; a damaged or unreadable part names the part."""
    import pyarrow as pa

    check_file(part)
    try:
        return read(part)
    except PermissionError as exc:
        raise cannot_read(part, exc) from None
    except (pa.ArrowException, OSError) as exc:
        reason = clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise InputError(f"cannot be read: the Parquet part is truncated or damaged ({reason}); "
                         "write it again", file=part) from None


def integer_ids(part: Path, column: str) -> bool:
    """Say whether :func:`read_part` gives a part's ``person_id`` as int64 (else text).

    From the Parquet schema (an integer column), or for a CSV from its cells
    (every id a whole number).
    """
    if part.suffix.lower() == ".csv":
        return pd.api.types.is_integer_dtype(_load(part, [column])[column].dtype)
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_call(part, pq.read_schema)
    found = find_columns(schema.names, [column], file=part)[column]
    return bool(pa.types.is_integer(schema.field(found).type))


def _whole_numbers_if_all(text: pd.Series) -> pd.Series:
    """Text ids as int64 when every present one is a whole number, else unchanged."""
    present = text.notna().to_numpy()
    values = to_numbers(text)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2.0**53)
    if not present.any() or not whole[present].all():
        return text
    if not present.all():
        return pd.Series(values, index=text.index, name=text.name)  # missing: caught later
    return pd.Series(values.astype(np.int64), index=text.index, name=text.name)


def _numbers(raw: pd.DataFrame, column: str, part: Path, first_row: int) -> np.ndarray:
    """Return a numeric column as float64: NaN where missing or holding no number.

    Arrow's cast reads the column at once (:func:`to_numbers`). Only when the
    column is text and a present cell is not a plain number are those cells
    read by the rule for numbers stored as text (:func:`numbers_in_cells`:
    ``"1,234"``, ``"£1,200"``, ``"5%"``, with its warning naming part, row and
    column); a cell that holds no number stays NaN for the caller's check.
    """
    cells = raw[column]
    values = to_numbers(cells)
    if pd.api.types.is_numeric_dtype(cells.dtype):
        return values
    unread = np.flatnonzero(np.isnan(values) & cells.notna().to_numpy())
    if unread.size == 0:
        return values
    rows = (raw.index.to_numpy()[unread] if part.suffix.lower() == ".csv"
            else unread + first_row + 1)
    values = values.copy()  # Arrow's array may be read-only
    values[unread] = numbers_in_cells(cells.iloc[unread].reset_index(drop=True).astype(object),
                                      file=part, column=column,
                                      rows=np.asarray(rows, dtype=np.int64))
    return values


def read_part(part: Path, reader: PartReader) -> pd.DataFrame:
    """Read one part and validate every row.

    Parameters
    ----------
    part : Path
        A Parquet part or a CSV.
    reader : PartReader
        Columns, practice codes and tiers.

    Returns
    -------
    pandas.DataFrame
        The validated columns of the module docstring.

    Raises
    ------
    InputError
        Naming the part, the column and up to five offending person_ids.
    """
    return validate(_load(part, reader.columns()), part, reader)


def validate(raw: pd.DataFrame, part: Path, reader: PartReader, first_row: int = 0,
             check_repeats: bool = True) -> pd.DataFrame:
    """Validate the source columns of a part, or of one record batch of it, into a frame.

    :func:`validate_arrays`, its columns put in a frame.
    """
    return pd.DataFrame(validate_arrays(raw, part, reader, first_row, check_repeats),
                        index=pd.RangeIndex(len(raw)), copy=False)


def validate_arrays(raw: pd.DataFrame, part: Path, reader: PartReader, first_row: int = 0,
                    check_repeats: bool = True) -> dict[str, np.ndarray]:
    """Validate the source columns of a part, or of one record batch of it.

    Parameters
    ----------
    raw : pandas.DataFrame
        The columns of :meth:`PartReader.columns`, named as the model file names them.
    part : Path
        The part they come from, for messages.
    reader : PartReader
    first_row : int
        Data row number (from 0) of the first row within the part, for messages.
    check_repeats : bool
        Check that no person_id repeats within ``raw`` (the caller checks
        across batches when False).

    Returns
    -------
    dict of str to numpy.ndarray
        The validated columns of the module docstring.
    """
    s = reader.spec
    out: dict[str, np.ndarray] = {}

    ids = raw[s.person_id]
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:_LISTED] + 1 + first_row
        raise InputError(f"person_id missing in data rows {', '.join(map(str, rows))}",
                         file=part, column=s.person_id)
    if pd.api.types.is_integer_dtype(ids.dtype):
        out["person_id"] = ids.to_numpy(dtype=np.int64)
    elif pd.api.types.is_float_dtype(ids.dtype) and np.all(np.mod(ids.to_numpy(), 1) == 0):
        out["person_id"] = ids.to_numpy().astype(np.int64)
    else:
        out["person_id"] = ids.astype(str).str.strip().to_numpy(dtype=object)
    if check_repeats and not _unique_by_count(out["person_id"]):
        dup = pd.Series(out["person_id"]).duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError(f"{_ids(out, dup)} appear more than once (expected each person "
                             "once)", file=part, column=s.person_id)

    column = raw[s.practice]
    if isinstance(column.dtype, pd.CategoricalDtype):  # Parquet dictionary: match categories only
        categories = np.append(
            column.cat.categories.astype(str).str.strip().to_numpy(dtype=object), "")
        taken = column.cat.codes.to_numpy()
        taken = np.where(taken < 0, len(categories) - 1, taken)  # missing: "" (never a code)
        where, known = _match_codes(categories, reader.practice_codes)
        where, known = where[taken], known[taken]
        code = None
    else:
        code = column.astype("string").str.strip().to_numpy(dtype=object, na_value="")
        where, known = _match_codes(code, reader.practice_codes)
    if not known.all():
        code = categories[taken] if code is None else code
        unknown = sorted(set(code[~known]))
        raise InputError(f"{_ids(out, ~known)} are registered at practices not in "
                         f"{reader.practices_file}: {_values(unknown, quote=True)}",
                         file=part, column=s.practice)
    out["practice"] = where.astype(np.int32)

    sex_code = _by_value(raw[s.sex], lambda text: text.str.strip().str.upper().map(
        {"M": 0, "F": 1}).to_numpy(dtype=float, na_value=np.nan))
    bad = np.isnan(sex_code)
    if bad.any():
        given = raw[s.sex].to_numpy()[bad]
        present = sorted({str(v) for v in given if pd.notna(v)})
        values = present + ([None] if pd.isna(given).any() else [])
        raise InputError(f'{_ids(out, bad)}: sex {_values(values)} is not "M" or "F"',
                         file=part, column=s.sex)
    out["sex"] = sex_code.astype(np.int8)

    if pd.api.types.is_integer_dtype(raw[s.age].dtype):  # whole numbers already
        age = raw[s.age].to_numpy()
        bad = (age < 0) | (age > MAX_AGE)
    else:
        age = _numbers(raw, s.age, part, first_row)
        bad = ~np.isfinite(age) | (age < 0) | (age > MAX_AGE) | (np.mod(age, 1) != 0)
    if bad.any():
        raise InputError(f"{_ids(out, bad)}: age {_values(raw[s.age].to_numpy()[bad])} is not a "
                         f"whole number of years from 0 to {MAX_AGE}", file=part, column=s.age)
    out["age"] = np.minimum(age, TOP_AGE).astype(np.int8)

    if s.risk_tier is not None:
        index = {n: i for i, n in enumerate(reader.tier_names)}
        tier = _by_value(raw[s.risk_tier], lambda text: text.str.strip().map(index).to_numpy(
            dtype=float, na_value=np.nan))
        bad = np.isnan(tier)
        if bad.any():
            names = sorted({str(v) for v in raw[s.risk_tier].to_numpy()[bad]})
            raise InputError(f"{_ids(out, bad)}: tier {_values(names, quote=True)} is not a "
                             f"[[risk_tier]] name ({', '.join(reader.tier_names)})",
                             file=part, column=s.risk_tier)
        out["u"] = tier.astype(np.uint64)
        out["tier"] = tier.astype(np.int8)
    elif s.risk_score is not None:
        score = _numbers(raw, s.risk_score, part, first_row)
        bad = ~np.isfinite(score) | (score < 0)
        if bad.any():
            raise InputError(f"{_ids(out, bad)}: risk score "
                             f"{_values(raw[s.risk_score].to_numpy()[bad])} is "
                             "missing or not a number 0 or more", file=part,
                             column=s.risk_score)
        out["u"] = order_key(score)
    else:
        out["u"] = np.zeros(len(raw), dtype=np.uint64)
    return out


def check_unique_ids(person_id: np.ndarray, part_starts: np.ndarray, parts: list[Path],
                     column: str) -> None:
    """Raise when a person_id appears in more than one row across parts.

    Whole-number ids are counted (:func:`_repeated`), never sorted; text ids
    fall back to :meth:`pandas.Series.duplicated`.

    Parameters
    ----------
    person_id : numpy.ndarray
        Every person's id, parts one after another.
    part_starts : numpy.ndarray
        The row at which each part starts (0 first), rising.
    parts : list of Path
        The part files.
    column : str
        The person_id column name, for the message.
    """
    dup = _repeated(person_id)
    if dup is not None:
        rows = np.flatnonzero(dup)
        within = np.searchsorted(np.asarray(part_starts), rows, side="right") - 1
        if within.min() == within.max():  # repeats inside one part: the part's own wording
            shown = person_id[rows[:_LISTED]]
            more = len(rows) - len(shown)
            text = ", ".join(str(v) for v in shown) + (f" and {more:,} more" if more > 0 else "")
            raise InputError(f"person_id {text} appear more than once (expected each person "
                             "once)", file=parts[int(within[0])], column=column)
        files = sorted({parts[i].name for i in np.unique(within)})
        shown = pd.unique(person_id[rows])[:_LISTED]
        raise InputError(f"person_id {', '.join(map(str, shown))} appear more than once, in "
                         f"parts {', '.join(files[:_LISTED])} (expected each person once)",
                         file=parts[int(within[0])], column=column)


def _repeated(person_id: np.ndarray) -> np.ndarray | None:
    """Mask of the ids that occur more than once, or None when every id is unique.

    Whole-number ids are marked in one array of flags over their range: as
    many marks as ids means none repeats (the usual case, one pass). Only
    then are they counted with :func:`numpy.bincount` to find the repeats.
    For a range far wider than the ids, :func:`numpy.unique` counts them;
    text ids are hashed and the hashes sorted, and only when two hashes are
    equal go through :meth:`pandas.Series.duplicated`.
    """
    if len(person_id) == 0:
        return None
    if person_id.dtype.kind in "iu":
        low, high = int(person_id.min()), int(person_id.max())
        if high - low <= 8 * len(person_id) + (1 << 20):
            start = 0 if 0 <= low <= high - low + (1 << 20) else low  # ids as they are: no copy
            seen = np.zeros(high - start + 1, dtype=bool)
            seen[person_id - start if start else person_id] = True
            if int(np.count_nonzero(seen)) == len(person_id):
                return None
            offset = (person_id - low).astype(np.intp, copy=False)  # int64: no second copy
            counts = np.bincount(offset)
            if int(counts.max()) <= 1:
                return None
            return counts[offset] > 1
        distinct, inverse, counts = np.unique(person_id, return_inverse=True,
                                              return_counts=True)
        if int(counts.max()) <= 1:
            return None
        return counts[inverse] > 1
    # Text ids: a 64-bit hash of each, sorted. No equal neighbours means no
    # repeats (about twice as quick as a set of 3 million strings); equal
    # hashes may be a collision, so pandas then decides exactly.
    hashed = np.sort(pd.util.hash_array(person_id, categorize=False))
    if not (hashed[1:] == hashed[:-1]).any():
        return None
    dup = pd.Series(person_id).duplicated(keep=False).to_numpy()
    return dup if dup.any() else None

