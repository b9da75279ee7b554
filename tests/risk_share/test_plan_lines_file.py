"""Plan lines at the edge: bad CSV files are refused naming file, row and column."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_share import InputError
from risk_share.plan_lines_file import read_lines

PARTIES = ["CCG", "Acute trust", "Community MSK"]
GOOD = """party,pod,planned_activity,actual_activity,price_gbp
Acute trust,Outpatient first,15000,16500,155
Acute trust,Emergency,3000,3400,2500
CCG,Independent sector,500,650,4000
"""

BAD_CSV = [
    # (case, CSV text, message)
    (
        "missing column",
        GOOD.replace(",price_gbp", ",price"),
        'lines.csv, column price_gbp: no column "price_gbp"',
    ),
    (
        "non-numeric",
        GOOD.replace("3000,3400", "3000,34OO"),
        'lines.csv, row 3, column actual_activity: "34OO" is not a number',
    ),
    (
        "blank number",
        GOOD.replace("500,650", "500,"),
        "lines.csv, row 4, column actual_activity: is blank",
    ),
    (
        "negative activity",
        GOOD.replace("15000,16500", "-15000,16500"),
        "lines.csv, row 2, column planned_activity: -15000 is negative",
    ),
    (
        "negative price",
        GOOD.replace(",4000", ",-4000"),
        "lines.csv, row 4, column price_gbp: -4000 is negative",
    ),
    (
        "unknown party",
        GOOD.replace("CCG,Independent", "ICB,Independent"),
        "lines.csv, row 4, column party: 'ICB' is not a party to the agreement",
    ),
    (
        "blank pod",
        GOOD.replace("Acute trust,Emergency", "Acute trust,"),
        "lines.csv, row 3, column pod: is blank",
    ),
    (
        "repeated line",
        GOOD.replace("Emergency", "Outpatient first"),
        "lines.csv, row 3, column pod: 'Acute trust', 'Outpatient first' appears twice",
    ),
    (
        "bad fixed flag",
        GOOD.replace("price_gbp\n", "price_gbp,fixed\n").replace("155\n", "155,maybe\n"),
        "lines.csv, row 2, column fixed: 'maybe' is not true or false",
    ),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD_CSV], ids=[b[0] for b in BAD_CSV])
def test_bad_csv_names_file_row_and_column(tmp_path, text, message):
    path = tmp_path / "lines.csv"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_lines(path, PARTIES, need_actual=True)
    assert str(caught.value).startswith(message)


def test_good_csv_and_fixed_flags(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(
        GOOD.replace("price_gbp\n", "price_gbp,fixed\n")
        .replace("155\n", "155,true\n")
        .replace("2500\n", "2500,\n")
        .replace("4000\n", "4000,FALSE\n")
    )
    clean = read_lines(path, PARTIES, need_actual=True)
    assert clean["fixed"].tolist() == [True, False, False]
    assert clean["planned_activity"].tolist() == [15000.0, 3000.0, 500.0]
    assert clean.index.name == "line"


def test_actual_activity_not_needed_for_a_simulation():
    frame = pd.DataFrame(
        {"party": ["CCG"], "pod": ["IS"], "planned_activity": [1.0], "price_gbp": [2.0]}
    )
    assert read_lines(frame, PARTIES, need_actual=False)["fixed"].tolist() == [False]
    with pytest.raises(InputError, match='no column "actual_activity"'):
        read_lines(frame, PARTIES, need_actual=True)


def test_dataframe_errors_name_the_index_label():
    frame = pd.DataFrame(
        {"party": ["CCG"], "pod": ["IS"], "planned_activity": ["x"], "price_gbp": [2.0]},
        index=["line A"],
    )
    with pytest.raises(InputError, match=r"column planned_activity, key lines index 'line A'"):
        read_lines(frame, PARTIES, need_actual=False)


def test_a_csv_not_in_utf8_says_how_to_save_it(tmp_path):
    # Excel's plain "CSV" is cp1252: the é of "Orthopédie" is the byte 0xe9, not UTF-8.
    path = tmp_path / "lines.csv"
    text = GOOD.replace("Emergency", "Orthopédie")
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(InputError) as caught:
        read_lines(path, PARTIES, need_actual=True)
    offset = text.encode("cp1252").index(b"\xe9")
    row = text[: text.index("é")].count("\n") + 1
    assert str(caught.value) == (f"lines.csv, row {row}: is not UTF-8 text (byte {offset}): "
                                 "save it as CSV UTF-8")


def test_csv_utf8_with_a_byte_order_mark_is_read(tmp_path):
    # Excel's "CSV UTF-8" starts with a byte order mark; the first header is still "party".
    path = tmp_path / "lines.csv"
    path.write_bytes(GOOD.replace("Emergency", "Orthopédie").encode("utf-8-sig"))
    clean = read_lines(path, PARTIES, need_actual=True)
    assert clean["pod"].tolist() == ["Outpatient first", "Orthopédie", "Independent sector"]


def test_a_blank_cell_says_what_belongs_there(tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(GOOD.replace("500,650", "500,"))
    with pytest.raises(InputError, match=r"row 4, column actual_activity: is blank \(expected "
                                         r"the actual activity, a number ≥ 0"):
        read_lines(path, PARTIES, need_actual=True)
