"""Bad person-level input: a clear InputError naming the file (part), column and person_ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation import InputError, Model
from tests.capitation.persons.helpers import (
    ROLAND_TIERS,
    practices_frame,
    tiered_persons,
    write_model,
    write_persons,
)


def _persons() -> pd.DataFrame:
    frame = tiered_persons([5, 45, 150, 800], practices=3)
    frame["person_id"] = np.arange(1, len(frame) + 1)
    return frame


def _model(tmp_path, frame, parts=2, **kwargs):
    write_persons(frame, tmp_path / "persons", parts=parts)
    return write_model(tmp_path, "persons", practices_frame(["P1", "P2", "P3"]),
                       envelope=1_000_000, **kwargs)


def _bad(frame: pd.DataFrame, column: str, value, rows=range(600, 607)) -> pd.DataFrame:
    frame = frame.copy()
    if not isinstance(value, str) and frame[column].dtype.kind in "iu":
        frame[column] = frame[column].astype(float)
    frame[column] = frame[column].astype(object)
    frame.loc[list(rows), column] = value
    return frame


# Rows 600-606 are person_ids 601-607, in the second of two parts.
CASES = {
    "unknown practice": ("practice", "P9", r"practice: person_id 601, 602, 603, 604, 605 and "
                                           r"2 more are registered at practices not in "
                                           r"practices\.csv: 'P9'"),
    "negative age": ("age", -3, r"column age: person_id 601, .* age -3"),
    "non-integer age": ("age", 4.5, r"column age: person_id 601, .* age 4\.5.*whole number"),
    "missing risk score": ("risk_score", None, r"column risk_score: person_id 601, .*missing"),
    "negative risk score": ("risk_score", -1.0, r"column risk_score: person_id 601"),
    "unknown sex": ("sex", "X", r'column sex: person_id 601, .*"M" or "F"'),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_person_rows(tmp_path, case):
    column, value, message = CASES[case]
    model = _model(tmp_path, _bad(_persons(), column, value))
    with pytest.raises(InputError, match=r"^part-00001\.parquet, column " + column) as caught:
        Model.from_toml(model).run()
    assert caught.match(message)


def test_duplicated_person_id_across_parts(tmp_path):
    frame = _persons()
    frame.loc[[900, 901], "person_id"] = [3, 4]  # part 2 repeats two ids of part 1
    model = _model(tmp_path, frame)
    with pytest.raises(InputError, match=r"person_id 3, 4 appear more than once, in parts "
                                         r"part-00000\.parquet, part-00001\.parquet"):
        Model.from_toml(model).run()


def test_duplicated_person_id_within_a_part(tmp_path):
    frame = _persons()
    frame.loc[900, "person_id"] = 602
    model = _model(tmp_path, frame)
    with pytest.raises(InputError, match=r"part-00001\.parquet, column person_id: person_id "
                                         r"602, 602 appear more than once"):
        Model.from_toml(model).run()


def test_unknown_tier_name_in_column(tmp_path):
    frame = _persons().drop(columns="risk_score")
    frame["tier"] = "low"
    frame.loc[[3, 4], "tier"] = "extreme"
    model = _model(tmp_path, frame, parts=1, risk='risk_tier = "tier"')
    with pytest.raises(InputError, match=r"part-00000\.parquet, column tier: person_id 4, 5: "
                                         r"tier 'extreme' is not a \[\[risk_tier\]\] name"):
        Model.from_toml(model).run()


def test_unknown_tier_name_in_tier_weights(tmp_path):
    components = ('[[component]]\nname = "core"\nshare = 1.0\n'
                  'tier_weights = { "very hihg" = 3.0 }\n')
    model = _model(tmp_path, _persons(), components=components)
    with pytest.raises(InputError, match=r'key component\[1\]\.tier_weights\.very hihg: '
                                         r'"very hihg" is not a tier'):
        Model.from_toml(model)


@pytest.mark.parametrize("tiers, message", [
    ([("a", 0.0, 0.05, 2.0), ("b", 0.06, 1.0, 1.0)],
     r'key risk_tier: gap between tier "a" \(to 0\.05\) and tier "b" \(from 0\.06\)'),
    ([("a", 0.0, 0.05, 2.0), ("b", 0.04, 1.0, 1.0)],
     r'key risk_tier: tier "a" \(to 0\.05\) overlaps tier "b" \(from 0\.04\)'),
    ([("a", 0.0, 0.05, 2.0), ("b", 0.05, 0.9, 1.0)],
     r"key risk_tier: the tiers end at 0\.9, leaving a gap to 1"),
])
def test_tiers_with_gap_or_overlap(tmp_path, tiers, message):
    model = _model(tmp_path, _persons(), tiers=tiers)
    with pytest.raises(InputError, match=r"model\.toml, " + message):
        Model.from_toml(model)


def test_csv_source_and_nothing_written(tmp_path):
    frame = _bad(_persons(), "age", -1, rows=[10])
    frame.to_csv(tmp_path / "persons.csv", index=False)
    model = write_model(tmp_path, "persons.csv", practices_frame(["P1", "P2", "P3"]),
                        envelope=1_000_000, tiers=ROLAND_TIERS)
    out = tmp_path / "out.xlsx"
    with pytest.raises(InputError, match=r"^persons\.csv, column age: person_id 11: age -1"):
        Model.from_toml(model).run().to_excel(out)
    assert not out.exists()


@pytest.mark.parametrize("case", ["unknown practice", "unknown sex"])
def test_dictionary_columns_give_the_same_errors(tmp_path, case):
    """Parquet dictionary columns (read as categoricals) are checked through their categories."""
    column, value, message = CASES[case]
    frame = _bad(_persons(), column, value)
    frame[column] = frame[column].astype("category")
    model = _model(tmp_path, frame)
    with pytest.raises(InputError, match=r"^part-00001\.parquet, column " + column) as caught:
        Model.from_toml(model).run()
    assert caught.match(message)


def test_missing_practice_in_a_dictionary_column(tmp_path):
    frame = _persons()
    frame["practice"] = frame["practice"].astype("category")
    frame.loc[[600, 601], "practice"] = None
    model = _model(tmp_path, frame)
    with pytest.raises(InputError, match=r"^part-00001\.parquet, column practice: person_id "
                                         r"601, 602 are registered at practices not in "
                                         r"practices\.csv: ''"):
        Model.from_toml(model).run()


def test_unknown_tier_name_in_a_dictionary_column(tmp_path):
    frame = _persons().drop(columns="risk_score")
    frame["tier"] = "low"
    frame.loc[[3, 4], "tier"] = "extreme"
    frame["tier"] = frame["tier"].astype("category")
    model = _model(tmp_path, frame, parts=1, risk='risk_tier = "tier"')
    with pytest.raises(InputError, match=r"part-00000\.parquet, column tier: person_id 4, 5: "
                                         r"tier 'extreme' is not a \[\[risk_tier\]\] name"):
        Model.from_toml(model).run()


@pytest.mark.parametrize("ids", ["sparse", "text"])
def test_duplicated_person_id_within_a_part_sparse_or_text_ids(tmp_path, ids):
    """Ids too sparse to count by bincount, or text, are checked the slow way."""
    frame = _persons()
    frame.loc[900, "person_id"] = 602
    frame["person_id"] = (frame["person_id"] * 10**12 if ids == "sparse"
                          else "id" + frame["person_id"].astype(str))
    shown = "602000000000000" if ids == "sparse" else "id602"
    model = _model(tmp_path, frame)
    with pytest.raises(InputError, match=rf"part-00001\.parquet, column person_id: person_id "
                                         rf"{shown}, {shown} appear more than once"):
        Model.from_toml(model).run()


@pytest.mark.parametrize("source", ["persons.csv", "persons"])
def test_missing_column_is_named_with_the_columns_there_are(tmp_path, source):
    frame = _persons().rename(columns={"sex": "gender"})
    if source.endswith(".csv"):
        frame.to_csv(tmp_path / source, index=False)
        where = "persons.csv"
    else:
        write_persons(frame, tmp_path / source)
        where = "part-00000.parquet"
    model = write_model(tmp_path, source, practices_frame(["P1", "P2", "P3"]),
                        envelope=1_000_000)
    with pytest.raises(InputError) as caught:
        Model.from_toml(model).run()
    assert str(caught.value) == (f'{where}, column sex: no column "sex" (the columns are: '
                                 "person_id, practice, gender, age, risk_score)")


def test_csv_ids_read_as_numbers_or_text_as_from_parquet(tmp_path):
    # The same persons as CSV and as Parquet give the same tier table, with
    # whole-number ids (read as int64) and with text ids.
    frame = _persons()
    frame.to_csv(tmp_path / "persons.csv", index=False)
    write_persons(frame, tmp_path / "persons")
    practices = practices_frame(["P1", "P2", "P3"])
    tiers = []
    for source in ["persons.csv", "persons"]:
        model = write_model(tmp_path, source, practices, envelope=1_000_000)
        tiers.append(Model.from_toml(model).run().persons.tiers)
    pd.testing.assert_frame_equal(tiers[0], tiers[1])
    frame["person_id"] = "id" + frame["person_id"].astype(str)
    frame.loc[5, "sex"] = ""  # a blank sex is missing, named like any other bad sex
    frame.to_csv(tmp_path / "persons.csv", index=False)
    model = write_model(tmp_path, "persons.csv", practices, envelope=1_000_000)
    with pytest.raises(InputError, match=r'^persons\.csv, column sex: person_id id6: sex blank '
                                         r'is not "M" or "F"'):
        Model.from_toml(model).run()


def test_a_truncated_parquet_part_is_named(tmp_path):
    model = _model(tmp_path, _persons(), parts=3)
    part = tmp_path / "persons" / "part-00001.parquet"
    part.write_bytes(part.read_bytes()[:-100])  # a copy cut short
    with pytest.raises(InputError, match=r"^part-00001\.parquet: cannot be read: the Parquet "
                                         r"part is truncated or damaged \(.+\); write it again$"):
        Model.from_toml(model).run()


def test_a_parquet_part_that_is_not_parquet_is_named(tmp_path):
    model = _model(tmp_path, _persons(), parts=2)
    (tmp_path / "persons" / "part-00000.parquet").write_text("person_id,practice\n1,P1\n")
    with pytest.raises(InputError, match=r"^part-00000\.parquet: cannot be read: the Parquet "
                                         r"part is truncated or damaged"):
        Model.from_toml(model).run()


def test_a_named_pipe_as_the_persons_file_is_refused(tmp_path):
    import os

    os.mkfifo(tmp_path / "persons.csv")
    model = write_model(tmp_path, "persons.csv", practices_frame(["P1", "P2", "P3"]),
                        envelope=1_000_000)
    with pytest.raises(InputError, match=r"^persons\.csv: is not a regular file \(it is a "
                                         r"named pipe\)"):
        Model.from_toml(model).run()


@pytest.mark.parametrize("practices, message", [
    # Each was reported as "DataFrame, row N" (or not at all) before.
    (pd.DataFrame({"practice": ["P1", "P2", "P3", "P2"], "ICB": ["Q1", "Q1", "Q2", "Q2"]}),
     r'^practices\.csv, row 3, column practice: practice "P2" appears again in row 5'),
    (pd.DataFrame({"practice": ["P1", "P2", "P3"], "ICB": ["Q1", None, "Q2"]}),
     r"^practices\.csv, row 3, column ICB: is blank \(expected a code\)"),
    (pd.DataFrame({"practice": ["P1", "P2", "P3"], "ICB": ["Q1", "Q1", "Q2"],
                   "MFF": [1.0, -1.0, 1.0]}),
     r"^practices\.csv, row 3, column MFF: -1 is negative"),
])
def test_practices_file_errors_name_the_file(tmp_path, practices, message):
    write_persons(_persons(), tmp_path / "persons")
    components = '[[component]]\nname = "core"\nshare = 1.0\nmultipliers = ["MFF"]\n'
    model = write_model(tmp_path, "persons", practices, envelope=1_000_000,
                        components=components if "MFF" in practices else None)
    with pytest.raises(InputError, match=message):
        Model.from_toml(model).run()
