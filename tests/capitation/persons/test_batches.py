"""Reading persons one record batch at a time gives the rows a whole-part read gives.

Expected values: :func:`capitation.persons.read.read_part` on each whole part,
put end to end (the former pandas engine's read).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from capitation import InputError
from capitation.persons import batches
from capitation.persons.read import PartReader, list_parts, read_part
from capitation.persons.spec import PersonsSpec
from tests.capitation.persons.helpers import tiered_persons, write_persons


def _reader(spec: PersonsSpec) -> PartReader:
    return PartReader(spec=spec, practice_codes=np.array(["P1", "P2", "P3", "P4"]),
                      practices_file="practices.csv", tier_names=("a", "b", "c", "d"))


def _spec(path, **kwargs) -> PersonsSpec:
    fields = {"path": path, "person_id": "person_id", "practice": "practice", "sex": "sex",
              "age": "age", "risk_score": "risk_score", "risk_tier": None}
    fields.update(kwargs)
    return PersonsSpec(**fields)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(batches, "BATCH_ROWS", 97)


def test_batches_are_the_parts_end_to_end(tmp_path, small_batches):
    frame = tiered_persons([10, 90, 300, 1_600])
    frame["practice"] = frame["practice"].astype("category")  # dictionary-encoded
    write_persons(frame, tmp_path / "persons", parts=3)
    parts = list_parts(tmp_path / "persons")
    reader = _reader(_spec(tmp_path / "persons"))
    persons = batches.read_persons(parts, reader)
    expected = pd.concat([read_part(p, reader) for p in parts], ignore_index=True)
    assert sorted(persons.columns) == sorted(expected.columns)
    for column in expected.columns:
        assert persons.columns[column].dtype == expected[column].dtype, column
        assert np.array_equal(persons.columns[column], expected[column].to_numpy()), column
    assert np.bincount(persons.part_of).tolist() == [667, 667, 666]


def test_missing_id_in_a_later_batch_names_its_row_in_the_part(tmp_path, small_batches):
    frame = tiered_persons([10, 90, 300, 100])
    frame["person_id"] = frame["person_id"].astype(float)
    frame.loc[[250, 251], "person_id"] = np.nan
    write_persons(frame, tmp_path / "persons", parts=1)
    reader = _reader(_spec(tmp_path / "persons"))
    with pytest.raises(InputError, match=r"part-00000\.parquet, column person_id: person_id "
                                         r"missing in data rows 251, 252$"):
        batches.read_persons(list_parts(tmp_path / "persons"), reader)


def test_text_ids_after_whole_number_ids(tmp_path, small_batches):
    frame = tiered_persons([10, 90, 300, 100])
    folder = tmp_path / "persons"
    folder.mkdir()
    frame.iloc[:200].to_parquet(folder / "a.parquet", index=False)
    later = frame.iloc[200:].assign(person_id=lambda f: "x" + f["person_id"].astype(str))
    later.to_parquet(folder / "b.parquet", index=False)
    persons = batches.read_persons(list_parts(folder), _reader(_spec(folder)))
    ids = persons.columns["person_id"]
    assert ids.dtype == object and ids[0] == frame["person_id"].iloc[0]
    assert ids[-1] == "x" + str(frame["person_id"].iloc[-1])


def test_a_truncated_part_is_named(tmp_path):
    frame = tiered_persons([10, 90, 300, 100])
    path = write_persons(frame, tmp_path / "persons", parts=2)
    good = (path / "part-00001.parquet").read_bytes()
    (path / "part-00001.parquet").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"part-00001\.parquet: cannot be read: the Parquet "
                                         r"part is truncated or damaged"):
        batches.read_persons(list_parts(path), _reader(_spec(path)))


def test_a_damaged_row_group_is_named(tmp_path, small_batches):
    # The footer reads but a page does not: the error comes from a later batch.
    frame = tiered_persons([10, 90, 300, 100])
    path = tmp_path / "persons"
    path.mkdir()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path / "p.parquet",
                   row_group_size=100, compression="none")
    data = bytearray((path / "p.parquet").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\xff" * 64
    (path / "p.parquet").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"p\.parquet"):
        batches.read_persons(list_parts(path), _reader(_spec(path)))


def test_auto_engine_is_one_process_unless_a_scheduler_and_many_persons(tmp_path, monkeypatch):
    from capitation.persons import engine

    frame = tiered_persons([10, 90, 300, 100])
    path = write_persons(frame, tmp_path / "persons", parts=2)
    spec = _spec(path)
    assert spec.engine == "auto"
    assert engine.choose_engine(spec) == "pandas"  # no scheduler: never a local cluster
    with_scheduler = _spec(path, dask_scheduler="tcp://127.0.0.1:8786")
    assert engine.choose_engine(with_scheduler) == "pandas"  # 500 persons: one process
    monkeypatch.setattr(engine, "AUTO_DASK_PERSONS", 499)
    assert engine.choose_engine(with_scheduler) == "dask"
    assert engine.choose_engine(with_scheduler, keep_persons=True) == "pandas"
    assert engine.choose_engine(_spec(path, engine="pandas",
                                      dask_scheduler="tcp://127.0.0.1:8786")) == "pandas"


def test_a_repeat_within_a_part_is_reported_before_later_parts_are_read(tmp_path):
    # Part 1 has a bad age: the repeat in part 0 is found first, as soon as part 0 is read.
    frame = tiered_persons([10, 90, 300, 100])
    frame.loc[[3, 4], "person_id"] = frame.loc[2, "person_id"]
    frame.loc[400, "age"] = -1
    path = write_persons(frame, tmp_path / "persons", parts=2)
    with pytest.raises(InputError, match=rf"part-00000\.parquet, column person_id: person_id "
                                         rf"{frame.loc[2, 'person_id']}, .* appear more than "
                                         r"once \(expected each person once\)"):
        batches.read_persons(list_parts(path), _reader(_spec(path)))
