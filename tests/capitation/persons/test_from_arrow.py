"""The quick route reads a record batch or a CSV exactly as the careful route, or declines it.

Expected values: :func:`capitation.persons.read.validate_arrays` (the careful
route, through a pandas frame) on the same batch. The quick route may decline
a batch (return None); it must never give different arrays, and it must not
decline the usual kinds of column, or it would be the careful route again.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capitation import InputError
from capitation.persons import batches, from_arrow
from capitation.persons.from_arrow import arrays_from_batch, arrays_from_csv
from capitation.persons.read import PartReader, list_parts, read_part, validate_arrays
from capitation.persons.spec import PersonsSpec
from tests.capitation.persons.helpers import tiered_persons, write_persons

CODES = np.array(["A81001", "B82002", "C83003"])
TIERS = ("very high", "high", "low")


def _reader(**kwargs: str | None) -> PartReader:
    fields: dict = {"path": "persons", "person_id": "person_id", "practice": "practice",
                    "sex": "sex", "age": "age", "risk_score": "risk_score", "risk_tier": None}
    fields.update(kwargs)
    return PartReader(spec=PersonsSpec(**fields), practice_codes=CODES,
                      practices_file="practices.csv", tier_names=TIERS)


def _batch(reader: PartReader, **given: pa.Array) -> pa.RecordBatch:
    """Six persons; a column given by name replaces the plain one."""
    plain = {
        "person_id": pa.array([11, 12, 13, 14, 15, 16], pa.int64()),
        "practice": pa.array(["A81001", "B82002", "C83003", "A81001", "B82002", "C83003"]),
        "sex": pa.array(["M", "F", "F", "M", "F", "M"]),
        "age": pa.array([0, 5, 40, 95, 101, 120], pa.int16()),
        "risk_score": pa.array([0.0, 1.5, 1.5, 7.25, 0.125, 3.0]),
        "tier": pa.array(["low", "high", "very high", "low", "low", "high"]),
    }
    plain.update(given)
    names = reader.columns()
    return pa.RecordBatch.from_arrays([plain[n] for n in names], names=names)


def _careful(batch: pa.RecordBatch, reader: PartReader) -> dict[str, np.ndarray]:
    raw = batch.to_pandas().set_axis(reader.columns(), axis=1)
    return validate_arrays(raw, reader.spec.path, reader, check_repeats=False)


def _same(quick: dict[str, np.ndarray] | None, careful: dict[str, np.ndarray]) -> None:
    assert quick is not None, "the quick route declined a batch it should read"
    assert sorted(quick) == sorted(careful)
    for name, values in careful.items():
        assert quick[name].dtype == values.dtype, name
        assert np.array_equal(quick[name], values), name


def _dictionary(values: list[str | None], extra: list[str] = ()) -> pa.DictionaryArray:
    """Dictionary-encoded text, with unused dictionary entries ``extra``."""
    words = sorted({v for v in values if v is not None}) + list(extra)
    indices = pa.array([None if v is None else words.index(v) for v in values], pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(words))


READ_ALIKE = {
    "plain": {},
    "int32 ids": {"person_id": pa.array([1, 2, 3, 4, 5, 6], pa.int32())},
    "whole ids as floats": {"person_id": pa.array([1.0, 2, 3, 4, 5, 6])},
    "text ids, padded": {"person_id": pa.array(["8F3A", " 8F3B", "8F3C\xa0", "12", "0012",
                                                "x y"])},
    "codes padded, a Python-only space": {
        "practice": pa.array([" A81001", "B82002 ", "\tC83003", "A81001\x1c", "\u3000B82002",
                              "C83003"])},
    "dictionary codes, an unused bad entry": {
        "practice": _dictionary(["A81001", "B82002", "C83003", "A81001", "B82002", "C83003"],
                                extra=["ZZZ999", " "])},
    "sexes in lower case and padded": {"sex": pa.array(["m", " f", "F ", "M", "f", "m"])},
    "dictionary sexes": {"sex": _dictionary(["m", "F", "F", "M", "f", "M"])},
    "ages as int8": {"age": pa.array([0, 5, 40, 95, 101, 120], pa.int8())},
    "ages as int64": {"age": pa.array([0, 5, 40, 95, 101, 120], pa.int64())},
    "ages as whole floats": {"age": pa.array([0.0, 5, 40, 95, 101, 120])},
    "ages as plain text numbers": {"age": pa.array(["0", "5", "40", "95", "101", "120.0"])},
    "scores as float32": {"risk_score": pa.array([0.0, 1.5, 1.5, 7.25, 0.125, 3.0],
                                                 pa.float32())},
    "scores as integers": {"risk_score": pa.array([0, 2, 2, 7, 1, 3], pa.int64())},
    "scores as plain text numbers": {"risk_score": pa.array(["0", "1.5", "1.5", "7.25",
                                                             "0.125", "3e0"])},
    "a score of minus zero": {"risk_score": pa.array([-0.0, 1.5, 1.5, 7.25, 0.125, 0.0])},
}


@pytest.mark.parametrize("case", READ_ALIKE)
def test_the_quick_route_reads_usual_columns_as_the_careful_route(case):
    reader = _reader()
    batch = _batch(reader, **READ_ALIKE[case])
    _same(arrays_from_batch(batch, reader), _careful(batch, reader))


@pytest.mark.parametrize("tiers", [
    pa.array(["low", "high", "very high", "low", "low", "high"]),
    pa.array([" low", "high ", "very high", "low", "low", "high"]),
    _dictionary(["low", "high", "very high", "low", "low", "high"], extra=["medium"]),
])
def test_given_tiers_are_read_as_the_careful_route(tiers):
    reader = _reader(risk_score=None, risk_tier="tier")
    batch = _batch(reader, tier=tiers)
    _same(arrays_from_batch(batch, reader), _careful(batch, reader))


def test_no_score_and_no_tier_gives_zero_keys():
    reader = _reader(risk_score=None)
    batch = _batch(reader)
    _same(arrays_from_batch(batch, reader), _careful(batch, reader))


# Each batch holds something the careful route reports (or reads by its own rules):
# the quick route must decline it, so that the message is the careful route's.
DECLINED = {
    "a missing id": {"person_id": pa.array([11, None, 13, 14, 15, 16], pa.int64())},
    "a fraction id": {"person_id": pa.array([1.0, 2.5, 3, 4, 5, 6])},
    "a NaN id": {"person_id": pa.array([1.0, np.nan, 3, 4, 5, 6])},
    "uint64 ids": {"person_id": pa.array([1, 2, 3, 4, 5, 6], pa.uint64())},
    "an unknown practice": {"practice": pa.array(["A81001", "B82002", "C83003", "X", "B82002",
                                                  "C83003"])},
    "a missing practice": {"practice": pa.array(["A81001", None, "C83003", "A81001", "B82002",
                                                 "C83003"])},
    "a missing dictionary practice": {
        "practice": _dictionary(["A81001", None, "C83003", "A81001", "B82002", "C83003"])},
    "practice codes as numbers": {"practice": pa.array([1, 2, 3, 1, 2, 3])},
    "a sex not M or F": {"sex": pa.array(["M", "F", "X", "M", "F", "M"])},
    "a missing sex": {"sex": pa.array(["M", "F", None, "M", "F", "M"])},
    "an age over 120": {"age": pa.array([0, 5, 40, 95, 101, 121], pa.int16())},
    "a negative age": {"age": pa.array([0, -1, 40, 95, 101, 120], pa.int16())},
    "a missing age": {"age": pa.array([0, None, 40, 95, 101, 120], pa.int16())},
    "a fractional age": {"age": pa.array([0, 5.5, 40, 95, 101, 120])},
    "a NaN age": {"age": pa.array([0, np.nan, 40, 95, 101, 120])},
    "an age with a thousands separator": {"age": pa.array(["0", "5", "40", "95", "101",
                                                           "1,0"])},
    "a negative score": {"risk_score": pa.array([0.0, -1.5, 1.5, 7.25, 0.125, 3.0])},
    "an infinite score": {"risk_score": pa.array([0.0, np.inf, 1.5, 7.25, 0.125, 3.0])},
    "a NaN score": {"risk_score": pa.array([0.0, np.nan, 1.5, 7.25, 0.125, 3.0])},
    "a missing score": {"risk_score": pa.array([0.0, None, 1.5, 7.25, 0.125, 3.0])},
    "a score as a percentage": {"risk_score": pa.array(["0", "5%", "1", "2", "3", "4"])},
    "a score that is not a number": {"risk_score": pa.array(["0", "n/a", "1", "2", "3",
                                                             "4"])},
}


@pytest.mark.parametrize("case", DECLINED)
def test_the_quick_route_declines_what_the_careful_route_words(case):
    reader = _reader()
    assert arrays_from_batch(_batch(reader, **DECLINED[case]), reader) is None


@pytest.mark.parametrize("tiers", [
    pa.array(["low", "medium", "very high", "low", "low", "high"]),
    pa.array(["low", None, "very high", "low", "low", "high"]),
    pa.array(["Low", "high", "very high", "low", "low", "high"]),  # names are matched exactly
])
def test_a_tier_not_named_is_declined(tiers):
    reader = _reader(risk_score=None, risk_tier="tier")
    assert arrays_from_batch(_batch(reader, tier=tiers), reader) is None


@pytest.mark.parametrize("text_ids", [False, True])
def test_a_clean_part_never_takes_the_careful_route(tmp_path, monkeypatch, text_ids):
    # The careful route builds a pandas frame of the batch: a clean part must not need it,
    # with ids as numbers or as text (pseudonyms).
    frame = tiered_persons([10, 90, 300, 1_600])
    if text_ids:
        frame["person_id"] = [f"{i:08X}" for i in frame["person_id"]]
    write_persons(frame, tmp_path / "persons", parts=2)
    reader = PartReader(spec=PersonsSpec(path=tmp_path / "persons", person_id="person_id",
                                         practice="practice", sex="sex", age="age",
                                         risk_score="risk_score", risk_tier=None),
                        practice_codes=np.array(["P1", "P2", "P3", "P4"]),
                        practices_file="practices.csv", tier_names=("a", "b", "c", "d"))
    parts = list_parts(tmp_path / "persons")
    expected = batches.read_persons(parts, reader).columns

    def refuse(*args, **kwargs):
        raise AssertionError("the careful route was taken")

    monkeypatch.setattr(batches, "validate_arrays", refuse)
    _same(batches.read_persons(parts, reader).columns, expected)


def test_a_bad_batch_is_worded_by_the_careful_route(tmp_path, monkeypatch):
    # Plain (not dictionary) text codes in the file: read dictionary-encoded all the same,
    # and an unknown practice in the second batch is named with the careful route's words.
    monkeypatch.setattr(batches, "BATCH_ROWS", 4)
    reader = _reader()
    rows = _batch(reader, practice=pa.array(["A81001", "B82002", "C83003", "A81001",
                                             "B82002", "Q99999"]))
    pq.write_table(pa.Table.from_batches([rows]), tmp_path / "p.parquet")
    with pytest.raises(InputError) as error:
        batches.read_persons([tmp_path / "p.parquet"], reader)
    assert str(error.value) == ("p.parquet, column practice: person_id 16 are registered at "
                                "practices not in practices.csv: 'Q99999'")


# --- persons CSV: Arrow's CSV reader, or the careful route (capitation.inputs.read_csv) ---

CSV_HEADER = "person_id,practice,sex,age,risk_score\n"
CSV_ROWS = ("11,A81001,M,0,0\n12,B82002,F,5,1.5\n13,C83003,F,40,1.5\n"
            "14,A81001,M,95,7.25\n15,B82002,F,101,0.125\n16,C83003,M,120,3\n")

CSV_READ_ALIKE = {
    "plain": CSV_HEADER + CSV_ROWS,
    "quoted cells, CRLF line ends": (CSV_HEADER + CSV_ROWS).replace("\n", "\r\n").replace(
        "A81001", '"A81001"'),
    "a byte-order mark": "\ufeff" + CSV_HEADER + CSV_ROWS,
    "cells padded with every kind of space": CSV_HEADER + CSV_ROWS.replace(
        "A81001", " A81001\x1c").replace("B82002", "\u3000B82002\xa0").replace(
        ",M,", ",\tm ,").replace(",1.5", ", 1.5 "),
    "ids written as decimals": CSV_HEADER + CSV_ROWS.replace("11,", "11.0,").replace(
        "16,", "1.6e1,"),
    "padded headers, extra columns": " person_id, practice ,sex,age,risk_score,note\n"
    + CSV_ROWS.replace("\n", ",x\n"),
    "blank lines between rows": CSV_HEADER + CSV_ROWS.replace("\n13,", "\n\n13,"),
    "text ids": CSV_HEADER + CSV_ROWS.replace("11,", "P11,").replace("14,", " 0014 ,"),
    "ids too large for whole floats, so text": CSV_HEADER + CSV_ROWS.replace(
        "11,", "9007199254740993,"),
}


def _csv_reader(path, **kwargs) -> PartReader:
    reader = _reader(**kwargs)
    return PartReader(spec=PersonsSpec(**{**reader.spec.__dict__, "path": path}),
                      practice_codes=CODES, practices_file="practices.csv", tier_names=TIERS)


@pytest.mark.parametrize("case", CSV_READ_ALIKE)
def test_a_persons_csv_is_read_by_arrow_as_the_careful_route(tmp_path, case):
    path = tmp_path / "persons.csv"
    path.write_bytes(CSV_READ_ALIKE[case].encode("utf-8"))
    reader = _csv_reader(path)
    careful = read_part(path, reader)
    _same(arrays_from_csv(path, reader), {c: careful[c].to_numpy() for c in careful.columns})


@pytest.mark.parametrize("ids", [["1", "2", "3", "P4"], ["P1", "2", "3", "4"], ["1", "2", "3", "4"],
                                 ["1", "2.0", "3e0", "4"]])
def test_whole_ids_are_numbers_only_when_every_block_s_are(tmp_path, monkeypatch, ids):
    # The careful route's rule holds for the whole file: one text id makes every id text,
    # whichever block it is in (blocks of a few rows here).
    monkeypatch.setattr(from_arrow, "_CSV_BLOCK_BYTES", 40)
    path = tmp_path / "persons.csv"
    path.write_text(CSV_HEADER + "".join(f"{i},A81001,M,40,1.5\n" for i in ids), encoding="utf-8")
    reader = _csv_reader(path)
    careful = read_part(path, reader)
    quick = arrays_from_csv(path, reader)
    _same(quick, {c: careful[c].to_numpy() for c in careful.columns})
    assert (quick["person_id"].dtype == object) == any(i.startswith("P") for i in ids)


def test_given_tiers_in_a_csv_are_read_as_the_careful_route(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_text("person_id,practice,sex,age,tier\n1,A81001,M,4, low\n2,B82002,f,7,high\n"
                    "3,C83003,F,80,very high\n", encoding="utf-8")
    reader = _csv_reader(path, risk_score=None, risk_tier="tier")
    careful = read_part(path, reader)
    _same(arrays_from_csv(path, reader), {c: careful[c].to_numpy() for c in careful.columns})


# Each file holds something the careful route reports, or reads by its own rules.
CSV_DECLINED = {
    "not UTF-8 in a column not read": (CSV_HEADER.replace("\n", ",note\n")
                                       + CSV_ROWS.replace("\n", ",caf\xe9\n")).encode("cp1252"),
    "a NUL character": (CSV_HEADER + CSV_ROWS.replace("0.125", "0.1\x0025")).encode(),
    "more semicolons than commas in the header": (
        CSV_HEADER.replace("\n", ",a;b;c;d;e;f;g\n") + CSV_ROWS.replace("\n", ",x\n")).encode(),
    "more tabs than commas in the header": (
        CSV_HEADER.replace("\n", ",a\tb\tc\td\te\tf\tg\n") + CSV_ROWS.replace("\n", ",x\n")
    ).encode(),
    "a blank id": (CSV_HEADER + CSV_ROWS.replace("11,", ",")).encode(),
    "a row too long": (CSV_HEADER + CSV_ROWS.replace("0.125", "0.125,9")).encode(),
    "the header row repeated": (CSV_HEADER + CSV_ROWS + CSV_HEADER).encode(),
    "a row of empty cells": (CSV_HEADER + CSV_ROWS + ",,,,\n").encode(),
    "an age with a thousands separator": (CSV_HEADER + CSV_ROWS.replace(",40,", ',"4,0",')
                                          ).encode(),
    "a header not found": (CSV_HEADER.replace("sex", "gender") + CSV_ROWS).encode(),
    "a header only": CSV_HEADER.encode(),
    "an empty file": b"",
}


@pytest.mark.parametrize("case", CSV_DECLINED)
def test_the_csv_quick_route_declines_what_the_careful_route_reads_or_words(tmp_path, case):
    path = tmp_path / "persons.csv"
    path.write_bytes(CSV_DECLINED[case])
    assert arrays_from_csv(path, _csv_reader(path)) is None


def test_a_declined_csv_gives_the_careful_route_result(tmp_path):
    # A row of empty cells is dropped by the careful route: the result is its, not an error.
    path = tmp_path / "persons.csv"
    path.write_text(CSV_HEADER + CSV_ROWS + ",,,,\n", encoding="utf-8")
    reader = _csv_reader(path)
    careful = read_part(path, reader)
    _same(batches.read_persons([path], reader).columns,
          {c: careful[c].to_numpy() for c in careful.columns})
    path.write_text(CSV_HEADER + CSV_ROWS.replace("13,C83003", "13,Q99999"), encoding="utf-8")
    with pytest.raises(InputError, match=r"persons.csv, column practice: person_id 13 are "
                                         r"registered at practices not in practices.csv"):
        batches.read_persons([path], reader)


def test_a_clean_csv_never_takes_the_careful_route(tmp_path, monkeypatch):
    path = tmp_path / "persons.csv"
    path.write_text(CSV_HEADER + CSV_ROWS * 1, encoding="utf-8")
    reader = _csv_reader(path)
    careful = read_part(path, reader)

    def refuse(*args, **kwargs):
        raise AssertionError("the careful route was taken")

    monkeypatch.setattr(batches, "read_part", refuse)
    _same(batches.read_persons([path], reader).columns,
          {c: careful[c].to_numpy() for c in careful.columns})


# --- any batch: the quick route gives the careful route's arrays, or declines ---

_SPACES = ["", " ", "\t", "\xa0", "\x1c", "\u3000"]
# Per column, cells the quick route reads, then cells it declines or the careful route refuses.
_GOOD = {
    "person_id": [1, 2, 3, 2.0, "8", " 9"],
    "practice": ["A81001", "B82002", "C83003"],
    "sex": ["M", "F", "m", "f"],
    "age": [0, 40, 95, 120, 7.0, "40"],
    "risk_score": [0.0, -0.0, 1.5, 7, "1.5"],
}
_BAD = {
    "person_id": [7.5, float("nan"), None, "P10"],
    "practice": ["a81001", "Z00000", "", None],
    "sex": ["X", "", None],
    "age": [121, -1, 3.5, float("nan"), float("inf"), "4,0", "", None],
    "risk_score": [-2.0, float("inf"), float("nan"), "5%", "n/a", None],
}


def _column(cells: list, kind: str) -> pa.Array:
    """The drawn cells as one Arrow column of the drawn kind (cells that kind cannot hold: text)."""
    if kind == "text" or any(isinstance(c, str) for c in cells):
        return pa.array([None if c is None else str(c) for c in cells], pa.string())
    if kind == "int" and all(c is None or isinstance(c, int) for c in cells):
        return pa.array(cells, pa.int64())
    return pa.array([None if c is None else float(c) for c in cells], pa.float64())


def _cells(draw, name: str, n: int, bad: bool) -> list:
    """``n`` good cells of a column; when ``bad``, one of them replaced by a bad one."""
    cells = draw(st.lists(st.sampled_from(_GOOD[name]), min_size=n, max_size=n))
    if bad:
        cells[draw(st.integers(0, n - 1))] = draw(st.sampled_from(_BAD[name]))
    return cells


@st.composite
def _batches(draw) -> pa.RecordBatch:
    n = draw(st.integers(1, 6))
    bad = draw(st.sets(st.sampled_from(list(_GOOD)), max_size=2))  # often none: quick reads
    columns = []
    for name in _GOOD:
        cells = _cells(draw, name, n, name in bad)
        if name in ("practice", "sex"):
            cells = [c if c is None else draw(st.sampled_from(_SPACES)) + c
                     + draw(st.sampled_from(_SPACES)) for c in cells]
        column = _column(cells, draw(st.sampled_from(["int", "float", "text"])))
        if name in ("practice", "sex") and draw(st.booleans()):
            column = column.dictionary_encode()
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=list(_GOOD))


@settings(max_examples=400, deadline=None)
@given(_batches())
def test_any_batch_is_read_as_the_careful_route_reads_it_or_declined(batch):
    reader = _reader()
    quick = arrays_from_batch(batch, reader)
    if quick is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a batch the careful route warns about is not quick
        _same(quick, _careful(batch, reader))


@st.composite
def _csv_rows(draw) -> list[tuple]:
    n = draw(st.integers(1, 5))
    bad = draw(st.sets(st.sampled_from(list(_GOOD)), max_size=2))
    columns = [_cells(draw, name, n, name in bad) for name in _GOOD]
    return list(zip(*columns, strict=True))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # one file, rewritten
@given(_csv_rows(), st.sampled_from(_SPACES))
def test_any_csv_is_read_as_the_careful_route_reads_it_or_declined(tmp_path, rows, space):
    path = tmp_path / "persons.csv"
    text = CSV_HEADER + "".join(",".join("" if c is None else f"{space}{c}" for c in row) + "\n"
                                for row in rows)
    path.write_text(text.replace("4,0", '"4,0"'), encoding="utf-8")
    reader = _csv_reader(path)
    quick = arrays_from_csv(path, reader)
    if quick is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            careful = read_part(path, reader)
        except InputError as refused:  # a repeated id, which the caller checks after reading
            with pytest.raises(InputError) as error:
                batches.read_persons([path], reader)
            assert str(error.value) == str(refused)
            return
    _same(quick, {c: careful[c].to_numpy() for c in careful.columns})
