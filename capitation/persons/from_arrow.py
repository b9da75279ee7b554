"""Person rows straight from Arrow into validated numpy arrays: a Parquet record batch, a CSV.

The quick route of the read (:func:`capitation.persons.batches.part_batches`):
the columns of :mod:`capitation.persons.read` are filled from the batch's
Arrow arrays, with no pandas frame. A CSV is parsed by Arrow's CSV reader a
block at a time into record batches of text (:func:`arrays_from_csv`).

Codes are matched with Arrow's hash lookup (:func:`pyarrow.compute.index_in`);
a dictionary-encoded column (the usual Parquet writing of practice codes,
sexes and tier names) is matched through its dictionary only, so each batch
maps its few distinct values, not every row.

The quick route only ever says yes to a batch it can read exactly as the
careful route (:func:`capitation.persons.read.validate_arrays`) would. When a
batch holds anything to report (a missing id, an unknown practice, a sex
that is not M or F, an age or score out of range or not a number) or a kind
of column the careful route reads by its own rules (numbers written as
text that Arrow cannot read as numbers, codes that are not text), it
returns None and the careful route reads that batch (a CSV: the whole file),
so every message and warning is the careful route's, word for word.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from capitation.errors import InputError
from capitation.inputs import find_columns
from capitation.inputs.csv_tables import to_numbers
from capitation.persons.tiers import order_key

if TYPE_CHECKING:
    import pyarrow as pa

    from capitation.persons.read import PartReader

__all__ = ["arrays_from_batch", "arrays_from_csv"]

# What Python's str.strip() removes (every character for which str.isspace() is true; none is
# above U+3000), so that a code trimmed here matches the careful route's trimmed code exactly.
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_LARGEST = float(np.finfo(np.float64).max)
_CSV_BLOCK_BYTES = 16 << 20  # about 400,000 persons a block
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _positions(text: pa.Array, known: pa.Array, upper: bool) -> np.ndarray:
    """Return each trimmed (when ``upper``, upper-cased) value's position in ``known``, or -1."""
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim(text, characters=_WHITESPACE)
    if upper:
        trimmed = pc.ascii_upper(trimmed)  # only "m" and "f" become "M" and "F", as str.upper()
    found = pc.index_in(trimmed, value_set=known).fill_null(-1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _coded(column: pa.Array, known: pa.Array, upper: bool = False) -> np.ndarray | None:
    """Each value's position in ``known``, or None when a value is missing or not there."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        if column.indices.null_count or not _is_text(column.type.value_type):
            return None
        where = _positions(column.dictionary, known, upper)[column.indices.to_numpy()]
    elif _is_text(column.type):
        if column.null_count:
            return None
        where = _positions(column, known, upper)
    else:
        return None
    return None if len(where) and int(where.min()) < 0 else where


def _numbers(column: pa.Array) -> np.ndarray | None:
    """Return a column of numbers (or of text Arrow reads as numbers) as numpy, else None.

    Integers stay integers (no copy); anything else is float64.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        return None
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)
        return values if values.dtype.kind in "iu" else values.astype(np.float64, copy=False)
    if not _is_text(kind):
        return None
    try:  # the careful route's first step too (capitation.inputs.csv_tables.to_numbers)
        return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    except pa.ArrowInvalid:  # "1,234", "5%" or no number: the careful route reads or reports it
        return None


def _within(values: np.ndarray, low: float, high: float) -> bool:
    """Say whether every value lies in [low, high]; NaN fails (min and max carry it)."""
    return len(values) == 0 or bool(values.min() >= low and values.max() <= high)


def _person_ids(column: pa.Array) -> np.ndarray | None:
    """Whole-number ids as int64, text ids trimmed; None for missing ids or fractions."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if column.null_count or kind == pa.uint64():
        return None
    if pa.types.is_integer(kind):
        return np.asarray(column.to_numpy(), dtype=np.int64)
    if pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            return values.astype(np.int64) if bool(np.all(np.mod(values, 1) == 0)) else None
    if _is_text(kind):  # pseudonyms such as "8F3A...": text, as the careful route keeps them
        trimmed = pc.utf8_trim(column, characters=_WHITESPACE)
        return np.asarray(trimmed.to_numpy(zero_copy_only=False), dtype=object)
    return None


def arrays_from_batch(batch: pa.RecordBatch, reader: PartReader) -> dict[str, np.ndarray] | None:
    """Validate a record batch's columns into arrays, or say it needs the careful route.

    Parameters
    ----------
    batch : pyarrow.RecordBatch
        The columns of :meth:`~capitation.persons.read.PartReader.columns`, in that order.
    reader : PartReader

    Returns
    -------
    dict of str to numpy.ndarray or None
        The columns of :mod:`capitation.persons.read`, equal to what
        :func:`~capitation.persons.read.validate_arrays` gives for the same
        rows; None when the batch holds something to report or to read by
        the careful route's own rules (see the module docstring).
    """
    import pyarrow as pa

    from capitation.persons.read import MAX_AGE, TOP_AGE

    s = reader.spec
    given = dict(zip(reader.columns(), batch.columns, strict=True))
    out: dict[str, np.ndarray] = {}

    ids = _person_ids(given[s.person_id])
    practice = _coded(given[s.practice], pa.array(reader.practice_codes, type=pa.string()))
    sex = _coded(given[s.sex], pa.array(["M", "F"]), upper=True)
    if ids is None or practice is None or sex is None:
        return None
    out["person_id"] = ids
    out["practice"] = practice.astype(np.int32)
    out["sex"] = sex.astype(np.int8)

    age = _numbers(given[s.age])
    if age is None or not _within(age, 0, MAX_AGE):
        return None
    if age.dtype.kind == "f" and not bool(np.all(np.mod(age, 1) == 0)):
        return None
    out["age"] = np.minimum(age, TOP_AGE).astype(np.int8)

    if s.risk_tier is not None:
        tier = _coded(given[s.risk_tier], pa.array(list(reader.tier_names), type=pa.string()))
        if tier is None:
            return None
        out["u"] = tier.astype(np.uint64)
        out["tier"] = tier.astype(np.int8)
    elif s.risk_score is not None:
        score = _numbers(given[s.risk_score])
        if score is None or not _within(score, 0, _LARGEST):  # infinities fail too
            return None
        out["u"] = order_key(score.astype(np.float64, copy=False))
    else:
        out["u"] = np.zeros(batch.num_rows, dtype=np.uint64)
    return out


def arrays_from_csv(part: Path, reader: PartReader) -> dict[str, np.ndarray] | None:
    """Validate a persons CSV into arrays by Arrow's CSV reader, or say it needs the careful route.

    The file is parsed a block at a time into text columns. Each cell is
    trimmed as the careful route (:func:`capitation.inputs.read_csv`) trims
    it; ids become int64 when every id is a whole number Arrow reads (else
    the careful route keeps them as text); then each block goes through
    :func:`arrays_from_batch`.

    Parameters
    ----------
    part : Path
        The persons CSV.
    reader : PartReader

    Returns
    -------
    dict of str to numpy.ndarray or None
        As :func:`arrays_from_batch`, for the whole file; None when the file
        holds anything the careful route reports or reads by its own rules:
        not UTF-8, a NUL character, another separator, a header not found or
        repeated, a row of the wrong length, a blank or missing cell, text
        ids, or any cell :func:`arrays_from_batch` declines.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        raw = part.read_bytes()
    except OSError:
        return None  # the careful route says why
    end = raw.find(b"\n")
    header = raw if end < 0 else raw[:end]
    if (b"\x00" in raw or header.count(b";") > header.count(b",")
            or header.count(b"\t") > header.count(b",")):
        return None
    try:
        _whole_file(raw).cast(pa.large_string())  # the whole file is UTF-8 text
        names = pcsv.open_csv(pa.BufferReader(raw)).schema.names
    except pa.ArrowInvalid:
        return None
    wanted = reader.columns()
    try:
        found = find_columns(names, wanted, file=part)
    except InputError:
        return None
    if any(names.count(found[c]) > 1 for c in wanted):
        return None
    chosen = [found[c] for c in wanted]
    s = reader.spec
    codes = {found[c] for c in (s.practice, s.sex, s.risk_tier) if c is not None}
    kinds = {c: pa.dictionary(pa.int32(), pa.string()) if c in codes else pa.string()
             for c in chosen}  # codes dictionary-encoded: each block maps its few codes
    convert = pcsv.ConvertOptions(include_columns=chosen, strings_can_be_null=False,
                                  column_types=kinds)
    blocks: list[tuple[dict[str, np.ndarray], pa.Array, bool]] = []
    try:
        stream = pcsv.open_csv(pa.BufferReader(raw),
                               read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
                               parse_options=pcsv.ParseOptions(newlines_in_values=True),
                               convert_options=convert)
        for block in stream:
            if block.num_rows == 0:
                continue
            arrays = _csv_block(block, chosen, reader,
                                text_ids=not all(whole for _, _, whole in blocks))
            if arrays is None:
                return None
            blocks.append(arrays)
    except pa.ArrowInvalid:  # a row of the wrong length, or a quote left open
        return None
    if not blocks:
        return None
    return _join_blocks(blocks)


def _whole_file(raw: bytes) -> pa.Array:
    """Wrap the file's bytes as one Arrow binary value, without copying them."""
    import pyarrow as pa

    ends = pa.py_buffer(np.array([0, len(raw)], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, ends, pa.py_buffer(raw)])


def _csv_block(block: pa.RecordBatch, chosen: list[str], reader: PartReader, text_ids: bool
               ) -> tuple[dict[str, np.ndarray], pa.Array, bool] | None:
    """Read one block of the CSV's text columns: trimmed, then as a record batch.

    ``text_ids`` says an earlier block had an id that is not a whole number,
    so every id of the file is text.

    Returns
    -------
    tuple or None
        The block's arrays (ids as int64 when every id of the block is a whole
        number, else as text), its trimmed id text, and whether they were whole.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = [column if pa.types.is_dictionary(column.type)  # trimmed when matched
            else pc.utf8_trim(column, characters=_WHITESPACE)
            for column in (block.column(name) for name in chosen)]
    ids = text[0]
    if int(pc.min(pc.utf8_length(ids)).as_py()) == 0:
        return None  # a blank id: the careful route says which row
    whole = None if text_ids else _whole_ids(ids)
    if whole is not None:
        text[0] = pa.array(whole)
    arrays = arrays_from_batch(pa.RecordBatch.from_arrays(text, names=reader.columns()), reader)
    return None if arrays is None else (arrays, ids, whole is not None)


def _whole_ids(ids: pa.Array) -> np.ndarray | None:
    """Text ids as int64 when every one is a whole number by the careful route's rule, else None.

    The rule of :func:`capitation.persons.read._whole_numbers_if_all`: numbers
    as :func:`capitation.inputs.csv_tables.to_numbers` reads them (Arrow's cast,
    or pandas cell by cell for a column Arrow cannot cast), whole and below 2**53.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(ids, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:  # text ids, or numbers only pandas reads
        # A few ids not written as plain numbers, judged by the careful route's reader,
        # usually settle it (pseudonyms such as "8F3A..."): only then are all ids read.
        odd = ids.filter(pc.invert(pc.match_substring_regex(ids, _PLAIN_NUMBER)))
        if _whole(to_numbers(odd.slice(0, 5).to_pandas())) is None:
            return None
        values = to_numbers(ids.to_pandas())
    return _whole(values)


def _whole(values: np.ndarray) -> np.ndarray | None:
    """Numbers as int64 when every one is whole and below 2**53 (exact as a float), else None."""
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2.0**53)
    return values.astype(np.int64) if bool(np.all(whole)) else None


def _join_blocks(blocks: list[tuple[dict[str, np.ndarray], pa.Array, bool]]
                 ) -> dict[str, np.ndarray]:
    """Join the blocks' arrays; ids are int64 only when every block's are (else all text)."""
    if not all(whole for _, _, whole in blocks):  # the rule holds for the file as a whole
        for arrays, ids, _ in blocks:
            arrays["person_id"] = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    first = blocks[0][0]
    return {name: np.concatenate([arrays[name] for arrays, _, _ in blocks]) for name in first}
