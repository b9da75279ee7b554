"""Tests for capitation/register/read.py: NHS Digital's GP register by single year of age."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.register.read import REGISTER_COLUMNS, read_register

DATA = Path(__file__).resolve().parents[2] / "data" / "register"
EXAMPLE = Path(__file__).resolve().parents[3] / "models" / "register_example"
HEADER = (
    "EXTRACT_DATE,SUB_ICB_LOCATION_CODE,ONS_SUB_ICB_LOCATION_CODE,ORG_CODE,POSTCODE,"
    "SEX,AGE,NUMBER_OF_PATIENTS"
)


def _csv(tmp_path: Path, rows: list[str], name: str = "register.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- #
# The worked example of docs/methods/weighted-capitation.md#from-the-register, as a real register
# CSV
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "path", [DATA / "register_worked_example.csv", EXAMPLE / "register.csv"], ids=["tests", "docs"]
)
def test_worked_example_register_holds_the_domain_table(path):
    # docs/methods/weighted-capitation.md#from-the-register worked example: people aged 0-64 and 65+
    # per practice.
    #   P1 800 / 200, P2 900 / 100, P3 500 / 500, each 1,000 in all.
    # The file lists MALE and FEMALE ages "0".."94", "95+" and the ALL totals
    # (585 data rows); the ALL rows must not be counted a second time.
    register = read_register(path)
    assert list(register.columns) == list(REGISTER_COLUMNS)
    assert len(register) == 3 * 2 * 96
    band = np.where(register["age"] >= 65, "65+", "0-64")
    table = register.groupby(["practice", band])["patients"].sum().unstack()
    assert table.to_dict("index") == {
        "P1": {"0-64": 800, "65+": 200},
        "P2": {"0-64": 900, "65+": 100},
        "P3": {"0-64": 500, "65+": 500},
    }
    assert register.groupby("practice")["sub_icb"].first().to_dict() == {
        "P1": "00A",
        "P2": "00A",
        "P3": "00B",
    }


def test_long_form_types_and_order():
    register = read_register(DATA / "register_small.csv")
    assert register["practice"].dtype == "str"
    assert register["sex"].dtype == "str"
    assert register["age"].dtype == np.int64
    assert register["patients"].dtype == np.int64
    assert isinstance(register.index, pd.RangeIndex)
    keys = list(zip(register["practice"], register["sex"], register["age"], strict=True))
    assert keys == sorted(keys)
    assert set(register["sex"]) == {"M", "F"}


def test_95_plus_is_age_95_and_totals_are_not_counted():
    # register_small.csv, practice A00001:
    #   MALE 0: 10, 1: 12, 95+: 3 (ALL 25); FEMALE 0: 9, 1: 11, 95+: 7 (ALL 27);
    #   ALL/ALL 52. Counted once: 10 + 12 + 3 + 9 + 11 + 7 = 52 (not 52 + 25 + 27 + 52).
    register = read_register(DATA / "register_small.csv")
    a1 = register[register["practice"] == "A00001"]
    assert a1["patients"].sum() == 52
    top = a1[a1["age"] == 95].set_index("sex")["patients"].to_dict()
    assert top == {"M": 3, "F": 7}
    assert register["age"].max() == 95
    # A00002 has "94" (a plain age), which stays 94.
    a2 = register[register["practice"] == "A00002"]
    assert sorted(a2["age"].unique().tolist()) == [0, 94]


def test_bom_crlf_old_ccg_columns_and_extra_columns_read_the_same():
    # Old-format file: CCG_CODE / ONS_CCG_CODE, extra PUBLICATION and TYPE
    # columns, a UTF-8 byte-order mark and CRLF line ends.
    assert (DATA / "register_small_bom_ccg_type.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    old = read_register(DATA / "register_small_bom_ccg_type.csv")
    new = read_register(DATA / "register_small.csv")
    pd.testing.assert_frame_equal(old, new)


def test_sex_all_rows_by_age_are_checked(tmp_path):
    # A "SEX ALL, AGE 0" row is the sum over sexes at age 0: 10 + 9 = 19.
    good = [
        "X,00A,,A1,,MALE,0,10",
        "X,00A,,A1,,FEMALE,0,9",
        "X,00A,,A1,,ALL,0,19",
    ]
    assert read_register(_csv(tmp_path, good))["patients"].tolist() == [9, 10]
    bad = [*good[:2], "X,00A,,A1,,ALL,0,20"]
    with pytest.raises(InputError) as caught:
        read_register(_csv(tmp_path, bad, "bad.csv"))
    message = str(caught.value)
    assert "bad.csv, row 4, column NUMBER_OF_PATIENTS" in message
    assert "A1" in message and "says 20" in message and "add up to 19" in message


def test_all_row_mismatch_names_practice_and_both_numbers():
    # register_bad_all_row_mismatch.csv row 9: A00001 FEMALE ALL says 28, but
    # the FEMALE rows are 9 + 11 + 7 = 27.
    with pytest.raises(InputError) as caught:
        read_register(DATA / "register_bad_all_row_mismatch.csv")
    message = str(caught.value)
    assert message.startswith("register_bad_all_row_mismatch.csv, row 9, column NUMBER_OF_PATIENTS")
    assert "A00001" in message and "28" in message and "27" in message


def test_many_offending_rows_are_listed_up_to_five(tmp_path):
    rows = [f"X,00A,,A1,,MALE,{age},1" for age in ["9O", "1", "x", "y", "z", "w", "v", "u"]]
    with pytest.raises(InputError) as caught:
        read_register(_csv(tmp_path, rows))
    message = str(caught.value)
    # First offender locates the error (row 2); rows 4..8 are listed, row 9 is "1 more".
    assert message.startswith('register.csv, row 2, column AGE: "9O" is not an age')
    assert "(also rows 4, 5, 6, 7, 8 and 1 more)" in message


def test_blank_lines_keep_row_numbers_as_the_user_sees_them(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "\nX,00A,,A1,,MALE,0,1\n\nX,00A,,A1,,MALE,1,one\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"register.csv, row 4, column NUMBER_OF_PATIENTS"):
        read_register(path)


# --------------------------------------------------------------------------- #
# Bad inputs: one small file each, with the message fragment it must raise
# --------------------------------------------------------------------------- #

BAD_REGISTERS = {
    "register_bad_missing_column.csv": (
        'column NUMBER_OF_PATIENTS: no column "NUMBER_OF_PATIENTS" (the columns are: '
        "EXTRACT_DATE, SUB_ICB_LOCATION_CODE, ONS_SUB_ICB_LOCATION_CODE, ORG_CODE, POSTCODE, "
        "SEX, AGE)"
    ),
    "register_bad_non_numeric_count.csv": (
        'row 7, column NUMBER_OF_PATIENTS: "1l" is not a number (expected a count of '
        "patients, 0 or more)"
    ),
    "register_bad_negative_count.csv": "row 12, column NUMBER_OF_PATIENTS: -2 is negative",
    "register_bad_unknown_sex.csv": 'row 6, column SEX: "FEMAIL" is not a sex code',
    "register_bad_age.csv": 'row 3, column AGE: "9O" is not an age (expected 0 to 94, "95+"',
    "register_bad_duplicate.csv": (
        "row 3, column ORG_CODE: practice A00001, SEX MALE, AGE 1 appears again in row 4"
    ),
    "register_bad_empty.csv": (
        ": the file has a header but no data rows (expected one row per practice, sex and age)"
    ),
    "register_bad_zero_bytes.csv": ": the file is empty",
    "register_bad_not_utf8.csv": "row 12: is not UTF-8 text (byte 659): save it as CSV UTF-8",
    "register_bad_all_row_mismatch.csv": (
        "row 9, column NUMBER_OF_PATIENTS: the total row for practice A00001"
    ),
    "register_bad_only_totals.csv": "row 2, column AGE: the file has only total (ALL) rows",
    "register_bad_two_extracts.csv": 'row 13, column EXTRACT_DATE: "01MAY2025" differs',
    "register_bad_two_sub_icbs.csv": (
        'row 7, column SUB_ICB_LOCATION_CODE: practice A00001 is in sub-ICB "00C"'
    ),
}


def test_every_bad_register_file_has_an_entry():
    on_disk = {p.name for p in DATA.glob("register_bad_*.csv")}
    assert on_disk == set(BAD_REGISTERS)


@pytest.mark.parametrize("name", sorted(BAD_REGISTERS))
def test_bad_register_raises_naming_file_row_and_column(name):
    with pytest.raises(InputError) as caught:
        read_register(DATA / name)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith(f"{name}")
    assert BAD_REGISTERS[name] in message


@pytest.mark.parametrize("name, message", [("no_such_file.csv", "no_such_file.csv: file not found"),
                                           ("", "register: cannot be read")])
def test_unreadable_path_is_an_input_error(name, message):
    path = DATA / name if name else DATA  # a missing file, then a folder
    with pytest.raises(InputError, match=message):
        read_register(path)
