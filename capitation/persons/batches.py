"""All persons into numpy arrays, one Arrow record batch at a time (the pandas engine's read).

Parquet parts are read with :meth:`pyarrow.parquet.ParquetFile.iter_batches`:
each batch (about a million rows) is validated on its own and copied into
arrays sized once from the parts' row counts. No frame of persons is built
and nothing is concatenated: memory beyond the arrays is one batch.

A batch is read straight from its Arrow columns
(:func:`capitation.persons.from_arrow.arrays_from_batch`). Text columns of
codes (practice, sex, tier) are read dictionary-encoded, so each batch maps
its few distinct codes, not every row. Only a batch holding something to
report, or numbers written as text the quick route does not read (such as
``"1,234"``), goes through a small pandas frame to the careful route
(:func:`capitation.persons.read.validate_arrays`), whose messages name the
part, the column and the persons, and missing ids their row in the part.

Whether ids repeat is checked once over all persons afterwards
(:func:`capitation.persons.read.check_unique_ids`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from capitation.errors import InputError, clip
from capitation.inputs import find_columns
from capitation.inputs.files import cannot_read
from capitation.persons.from_arrow import arrays_from_batch, arrays_from_csv
from capitation.persons.read import (
    PartReader,
    check_unique_ids,
    parquet_call,
    read_part,
    validate_arrays,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Persons", "read_persons", "read_part_arrays", "part_batches", "BATCH_ROWS"]

BATCH_ROWS = 1 << 20

_COLUMNS = {"practice": np.int32, "sex": np.int8, "age": np.int8, "u": np.uint64,
            "tier": np.int8}


@dataclass(eq=False)
class Persons:
    """Every person's validated columns (see :mod:`capitation.persons.read`), as arrays.

    Attributes
    ----------
    columns : dict of str to numpy.ndarray
        ``person_id``, ``practice``, ``sex``, ``age``, ``u`` and, when tiers
        come in a column, ``tier``; one entry per person, parts in name order.
    part_rows : tuple of int
        Persons in each part, parts in name order.
    """

    columns: dict[str, np.ndarray]
    part_rows: tuple[int, ...]

    @property
    def part_starts(self) -> np.ndarray:
        """The row at which each part starts (0 first)."""
        return np.cumsum((0, *self.part_rows[:-1]), dtype=np.int64)

    @property
    def part_of(self) -> np.ndarray:
        """int32 index of each person's part (built when asked: one entry per person)."""
        return np.repeat(np.arange(len(self.part_rows), dtype=np.int32), self.part_rows)


def _batches(part: Path, reader: PartReader) -> Iterator[pa.RecordBatch]:
    """Record batches of one part's source columns, in the order of :meth:`PartReader.columns`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = reader.columns()
    names = parquet_call(part, pq.read_schema).names
    found = find_columns(names, columns, file=part)
    s = reader.spec
    codes = [found[c] for c in (s.practice, s.sex, s.risk_tier) if c is not None]
    file = parquet_call(part, lambda path: pq.ParquetFile(path, read_dictionary=codes))
    batches = file.iter_batches(batch_size=BATCH_ROWS, columns=[found[c] for c in columns],
                                use_threads=False)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except PermissionError as exc:
            raise cannot_read(part, exc) from None
        except (pa.ArrowException, OSError) as exc:
            reason = clip(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise InputError(f"cannot be read: the Parquet part is truncated or damaged "
                             f"({reason}); write it again", file=part) from None
        yield batch


def _csv_arrays(part: Path, reader: PartReader) -> dict[str, np.ndarray]:
    """Read a persons CSV by Arrow's CSV reader, or whole by the careful route if it declines."""
    arrays = arrays_from_csv(part, reader)
    if arrays is None:  # something to report, or text read by the careful route's rules
        frame = read_part(part, reader)
        arrays = {c: frame[c].to_numpy() for c in frame.columns}
    return arrays


def _rows(part: Path) -> int:
    """Rows of a Parquet part from its footer."""
    import pyarrow.parquet as pq

    return int(parquet_call(part, pq.read_metadata).num_rows)


def part_batches(part: Path, reader: PartReader, expected: int | None = None
                 ) -> Iterator[dict[str, np.ndarray]]:
    """Yield the validated columns of one part, a record batch at a time (a CSV at once).

    The kernel both engines read with: the single-process engine copies the
    batches of every part into arrays of all persons (:func:`read_persons`),
    each Dask worker those of its part (:func:`read_part_arrays`).

    Parameters
    ----------
    part : Path
        A Parquet part or a CSV.
    reader : PartReader
    expected : int, optional
        Rows of a Parquet part by its footer (read from it when not given).

    Yields
    ------
    dict of str to numpy.ndarray
        The columns of :mod:`capitation.persons.read`, one entry per person of the batch.
    """
    if part.suffix.lower() == ".csv":
        yield _csv_arrays(part, reader)
        return
    expected = _rows(part) if expected is None else expected
    seen = 0
    for batch in _batches(part, reader):
        seen += batch.num_rows
        if seen > expected:
            raise InputError(f"holds more rows than its footer says ({expected:,}); "
                             "write it again", file=part)
        arrays = arrays_from_batch(batch, reader)
        if arrays is None:  # something to report, or text read by the careful route's rules
            raw = batch.to_pandas().set_axis(reader.columns(), axis=1)
            arrays = validate_arrays(raw, part, reader, first_row=seen - batch.num_rows,
                                     check_repeats=False)
        yield arrays
    if seen != expected:
        raise InputError(f"holds {seen:,} rows but its footer says {expected:,}; "
                         "write it again", file=part)


def _store(columns: dict[str, np.ndarray], at: int, batch: dict[str, np.ndarray]) -> int:
    """Copy a batch into the arrays from row ``at``; return the row after it."""
    stop = at + len(batch["person_id"])
    ids = batch["person_id"]
    if ids.dtype.kind not in "iu" and columns["person_id"].dtype.kind in "iu":
        columns["person_id"] = columns["person_id"].astype(object)  # text ids
    for c in columns:
        columns[c][at:stop] = batch[c]
    return stop


def read_persons(parts: list[Path], reader: PartReader) -> Persons:
    """Read and validate every part into arrays, one record batch at a time.

    A person_id repeated within a part is reported as soon as that part is
    read (:func:`capitation.persons.read.check_unique_ids` on the part);
    repeats across parts are the caller's check, over all persons.

    Parameters
    ----------
    parts : list of Path
        From :func:`capitation.persons.read.list_parts`.
    reader : PartReader

    Returns
    -------
    Persons

    Raises
    ------
    InputError
        Naming the part (a truncated or damaged one too), the column and the
        offending persons.
    """
    if len(parts) == 1 and parts[0].suffix.lower() == ".csv":  # a CSV is always alone
        columns = _csv_arrays(parts[0], reader)
        check_unique_ids(columns["person_id"], np.zeros(1, dtype=np.int64), parts,
                         reader.spec.person_id)
        return Persons(columns=columns, part_rows=(len(columns["person_id"]),))
    rows = [_rows(p) for p in parts]
    total = sum(rows)
    ranked = reader.spec.risk_tier is not None
    columns = {"person_id": np.empty(total, dtype=np.int64)}
    columns.update({c: np.empty(total, dtype=t) for c, t in _COLUMNS.items()
                    if c != "tier" or ranked})
    at = 0
    for part, expected in zip(parts, rows, strict=True):
        start = at
        for batch in part_batches(part, reader, expected):
            at = _store(columns, at, batch)
        check_unique_ids(columns["person_id"][start:at], np.zeros(1, dtype=np.int64), [part],
                         reader.spec.person_id)
    return Persons(columns=columns, part_rows=tuple(rows))


def read_part_arrays(part: Path, reader: PartReader) -> dict[str, np.ndarray]:
    """Read and validate one part into arrays (a Dask worker's read of its part).

    Returns
    -------
    dict of str to numpy.ndarray
        As :attr:`Persons.columns`, for the persons of this part.

    Raises
    ------
    InputError
        As :func:`read_persons`, a person_id repeated within the part too.
    """
    return read_persons([part], reader).columns
