"""The input edge (capitation/inputs/): each error names its place in one wording."""

import numpy as np
import pandas as pd
import pytest

from capitation.errors import InputError
from capitation.inputs import (
    TomlKeys,
    consecutive_years,
    financial_year,
    financial_years,
    find_columns,
    normalise_header,
    number_column,
    read_csv,
    read_toml,
    suggest,
    text_column,
)

# ---------------------------------------------------------------- CSV reader


def test_csv_with_a_byte_order_mark_reads_its_first_header(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("code,n\nA, 1 \n".encode("utf-8-sig"))
    table = read_csv(path)
    assert list(table.frame.columns) == ["code", "n"]
    assert table.frame.to_dict("list") == {"code": ["A"], "n": ["1"]}
    assert table.rows.tolist() == [2]


def test_latin1_csv_is_refused_with_the_byte_offset_and_row(tmp_path):
    path = tmp_path / "t.csv"
    text = "code,pod\nA,Orthopédie\n"
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    with pytest.raises(InputError) as caught:
        read_csv(path)
    assert str(caught.value) == (f"t.csv, row 2: is not UTF-8 text (byte {offset}): "
                                 "save it as CSV UTF-8")


def test_latin1_offset_counts_the_byte_order_mark(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfcode\n\xe9\n")
    with pytest.raises(InputError, match=r"byte 8\)"):
        read_csv(path)


def test_empty_header_only_and_ragged_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        read_csv(empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="header.csv: the file has a header but no data rows "
                                         r"\(expected bands\)"):
        read_csv(header, expect_rows="bands")
    assert len(read_csv(header, expect_rows=None)) == 0
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"ragged.csv, row 3: is not a well-formed CSV "
                                         r"\(Expected 2 fields in line 3, saw 3\)"):
        read_csv(ragged)


def test_blank_rows_are_dropped_and_rows_keep_their_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n\n,\n3,4\n", encoding="utf-8")
    table = read_csv(path)
    assert table.rows.tolist() == [2, 5]
    assert table.frame["a"].tolist() == ["1", "3"]


def test_missing_file_is_named_as_what_it_is(tmp_path):
    with pytest.raises(InputError, match="nope.csv: lines file not found"):
        read_csv(tmp_path / "nope.csv", what="lines file")


# ---------------------------------------------------------------- headers


def test_header_match_collapses_whitespace():
    found = find_columns(["  Final   WP ", "code"], ["Final WP", "code"])
    assert found == {"Final WP": "  Final   WP ", "code": "code"}
    assert normalise_header(" a \t b ") == "a b"


def test_header_match_keeps_case_unless_told_otherwise():
    with pytest.raises(InputError, match='no column "age"'):
        find_columns(["AGE"], ["age"], file="w.csv")
    assert find_columns(["AGE"], ["age"], case_sensitive=False) == {"age": "AGE"}


def test_missing_column_lists_the_columns_and_names_file_column_and_key():
    with pytest.raises(InputError) as caught:
        find_columns(["code", "pop"], {"population": "Population"}, file="p.csv",
                     key="population.population")
    error = caught.value
    assert (error.file, error.column, error.key) == ("p.csv", "Population",
                                                      "population.population")
    assert 'no column "Population" (the columns are: code, pop)' in str(error)


def test_two_headers_the_same_after_tidying_are_refused():
    with pytest.raises(InputError, match='headers "a b" and "a  b" are the same name'):
        find_columns(["a b", "a  b"], ["a b"], file="t.csv")


# ---------------------------------------------------------------- first bad row


def test_number_column_names_the_first_bad_row_and_lists_others():
    cells = pd.Series(["1", "x", "2", "y"])
    with pytest.raises(InputError) as caught:
        number_column(cells, file="t.csv", column="n", rows=np.array([2, 3, 5, 9]))
    assert str(caught.value) == ('t.csv, row 3, column n: "x" is not a number (expected a '
                                 "number, 0 or more) (also row 9)")
    assert caught.value.row == 3


@pytest.mark.parametrize("cell, whole, fragment", [
    ("", False, "row 3, column n: is blank (expected a count)"),
    ("-4", False, "row 3, column n: -4 is negative (expected a count)"),
    ("2.5", True, 'row 3, column n: "2.5" is not a whole number (expected a count)'),
    ("inf", False, 'row 3, column n: "inf" is not a finite number'),
])
def test_number_column_wording_for_each_mistake(cell, whole, fragment):
    with pytest.raises(InputError) as caught:
        number_column(pd.Series(["1", cell]), what="a count", file="t.csv", column="n",
                      whole=whole)
    assert fragment in str(caught.value)


def test_number_column_reads_good_cells_and_allowed_blanks():
    values = number_column(pd.Series([" 1 ", "", "2e3"]), blank=np.nan, minimum=None)
    assert values[0] == 1 and np.isnan(values[1]) and values[2] == 2000


def test_numbers_written_as_text_are_read_with_one_warning_naming_the_first_cell():
    # The rule of every input table: a thousands separator, a pound sign, a trailing percent
    # sign are read ("5%" as 0.05); one warning names the first cell and the other rows.
    cells = pd.Series(["41,300", "12", "£1,200.50", "5%", " 7 "])
    with pytest.warns(UserWarning) as caught:
        values = number_column(cells, file="t.csv", column="n",
                               rows=np.array([2, 3, 4, 5, 6]))
    assert values.tolist() == [41_300, 12, 1_200.5, 0.05, 7]
    assert [str(w.message) for w in caught] == [
        't.csv, row 2, column n: "41,300" is a number stored as text; read as 41300 '
        "(also rows 4, 5)"]
    with pytest.raises(InputError, match='"41,3OO" is not a number'):
        number_column(pd.Series(["41,3OO"]), file="t.csv", column="n")


def test_plain_numbers_in_a_csv_draw_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert number_column(pd.Series(["1", "2.5"])).tolist() == [1, 2.5]


def test_baselines_written_with_pounds_and_separators_are_read(tmp_path):
    # A finance team's baselines CSV with "£1,480,000.00": read as 1480000 with a warning
    # naming the file, row and column, and the run goes on.
    from capitation import Model
    from tests.capitation.helpers import worked_model

    (tmp_path / "baselines.csv").write_text(
        'ICB,baseline_gbp\nI1,"£1,900,000.00"\nI2,1000000\n', encoding="utf-8")
    pace = ('[pace_of_change]\nlevel = "ICB"\nbaseline = "baselines.csv"\n'
            "min_growth = 0.0\nmethod = \"lp\"")
    component = ('[[component]]\nname = "core"\nshare = 1.0\n'
                 'weighted_population = { "pop" = 1.0 }\n')
    path = worked_model(tmp_path, component, envelope="3_000_000", extra=pace)
    with pytest.warns(UserWarning) as caught:
        results = Model.from_toml(path).run()
    assert [str(w.message) for w in caught] == [
        'baselines.csv, row 2, column baseline_gbp: "£1,900,000.00" is a number stored as '
        "text; read as 1900000"]
    assert results.table("ICB").loc["I1", "baseline_gbp"] == 1_900_000


def test_text_column_refuses_a_blank_code_and_reads_whole_floats():
    assert text_column(pd.Series([1001.0, " A "]), what="a code").tolist() == ["1001", "A"]
    with pytest.raises(InputError, match="t.csv, row 3, column id: is blank "
                                         r"\(expected a code\)"):
        text_column(pd.Series(["A", None]), what="a code", file="t.csv", column="id")


# ---------------------------------------------------------------- TOML keys


def test_unknown_key_suggests_a_close_spelling():
    keys = TomlKeys("m.toml")
    with pytest.raises(InputError) as caught:
        keys.check_keys({"envelop_gbp": 1}, "model", {"name", "envelope_gbp"})
    assert caught.value.key == "model.envelop_gbp"
    assert 'did you mean "envelope_gbp"?' in str(caught.value)


def test_unknown_key_suggests_nothing_silly():
    assert suggest("pace", {"pace_of_change", "model"}) is None
    assert suggest("x", {"name", "year"}) is None
    assert suggest("Name", {"name", "year"}) == "name"
    with pytest.raises(InputError) as caught:
        TomlKeys("m.toml").check_keys({"colour": 1}, "", {"name", "year"})
    assert "did you mean" not in str(caught.value)
    assert "expected one of: name, year" in str(caught.value)


def test_missing_required_key_says_what_it_should_hold():
    with pytest.raises(InputError, match=r"a.toml, key pool.mode: is missing \(expected "
                                         r"corridor or first_dollar\)"):
        TomlKeys("a.toml").check_keys({}, "pool", {"mode"}, {"mode": "corridor or first_dollar"})


@pytest.mark.parametrize("value, bounds, message", [
    ("one million", {}, "expected a number, found 'one million'"),
    (True, {}, "expected a number, found True"),
    (float("inf"), {}, "expected a finite number, found inf"),
    (-0.2, {"low": 0.0}, "-0.2 is below 0 (must be at least 0)"),
    (1.5, {"low": 0.0, "high": 1.0}, "1.5 is above 1 (must be between 0 and 1)"),
    (0, {"above": 0.0}, "0 is not above 0 (must be above 0)"),
])
def test_number_wording_for_each_mistake(value, bounds, message):
    with pytest.raises(InputError) as caught:
        TomlKeys("m.toml").number(value, "k", **bounds)
    assert str(caught.value) == f"m.toml, key k: {message}"


def test_percentage_looking_fraction_is_refused_with_the_fraction_meant():
    with pytest.raises(InputError) as caught:
        TomlKeys("m.toml").number(2.5, "component[1].share", 0.0, 1.0, fraction=True)
    # The words of the workbook route (capitation.excel.model_schema.convert), and the range.
    assert str(caught.value) == ("m.toml, key component[1].share: 2.5 looks like a percentage; "
                                 "expected a fraction such as 0.025 (must be between 0 and 1)")
    assert TomlKeys("m.toml").number(0.025, "k", 0.0, 1.0, fraction=True) == 0.025
    with pytest.raises(InputError, match="is above 1 \\(must be"):  # not a percentage
        TomlKeys("m.toml").number(250, "k", 0.0, 1.0, fraction=True)


def test_per_year_counts_its_values():
    keys = TomlKeys("m.toml")
    assert keys.per_year({"g": 0.1}, "x.g", ["2025/26", "2026/27"]) == [0.1, 0.1]
    with pytest.raises(InputError, match=r"key x.g: has 1 value for 2 years \(2025/26, "
                                         r"2026/27\); expected 2 values, one per year"):
        keys.per_year({"g": [0.1]}, "x.g", ["2025/26", "2026/27"])
    with pytest.raises(InputError, match=r"key x.g\[2\]: expected a number"):
        keys.per_year({"g": [0.1, "a"]}, "x.g", ["2025/26", "2026/27"])
    with pytest.raises(InputError, match=r"key x.g: has 2 values for 1 year \(2025/26\); "
                                         r"expected 1 value, one per year"):
        keys.per_year({"g": [0.1, 0.2]}, "x.g", ["2025/26"])


def test_counted_says_one_year_and_42_icbs():
    from capitation.words import counted, plural

    assert counted(1, "year") == "1 year" and counted(3, "year") == "3 years"
    assert counted(42, "ICB") == "42 ICBs" and counted(1, "ICB") == "1 ICB"
    assert counted(1_100_000, "scenario") == "1,100,000 scenarios"
    assert counted(2, "party") == "2 parties" and plural("practice") == "practices"
    assert counted(0, "line") == "0 lines"


def test_read_toml_refuses_bad_syntax_and_latin1(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("a = \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.toml: is not valid TOML \(.*line 1"):
        read_toml(bad)
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "é"\n'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.toml: is not UTF-8 text \(byte 8\)"):
        read_toml(latin)
    with pytest.raises(InputError, match="none.toml: model file not found"):
        read_toml(tmp_path / "none.toml", what="model file")


# ---------------------------------------------------------------- financial years


def test_financial_years():
    assert consecutive_years("2099/00", 2) == ["2099/00", "2100/01"]
    assert financial_year("2025/26") == "2025/26"
    with pytest.raises(InputError, match=r'm.toml, key model.year: "2025/27" is not a '
                                         r'financial year \(expected text like "2025/26"\)'):
        financial_year("2025/27", file="m.toml", key="model.year")
    with pytest.raises(InputError, match=r'"2027/28" does not follow "2025/26": the years must '
                                         "be consecutive"):
        financial_years(["2025/26", "2027/28"], first="2025/26", first_is="the model year")
    with pytest.raises(InputError, match=r'starts at "2024/25"; expected "2025/26" \(the years '
                                         "must be consecutive, starting the model year\\)"):
        financial_years(["2024/25"], first="2025/26", first_is="the model year")


def test_refuse_repeats_names_the_first_row_and_the_others():
    from capitation.inputs import refuse_repeats

    codes = pd.Series(["A", "B", "C", "B", "A", "B"])
    with pytest.raises(InputError) as caught:
        refuse_repeats(codes, what="practice", file="p.csv", column="code",
                       rows=np.array([2, 3, 5, 6, 7, 9]))
    # "A" is the first code seen that repeats (rows 2 and 7), before "B" (rows 3, 6, 9).
    assert str(caught.value) == ('p.csv, row 2, column code: practice "A" appears again in '
                                 "row 7 (expected one row per practice)")
    refuse_repeats(pd.Series(["A", "B"]), what="practice")  # no repeat: no error


# ---------------------------------------------------------------- files before they are opened


@pytest.fixture
def fifo(tmp_path):
    """A named pipe: opening it for reading would wait for a writer forever.

    An alarm turns a hang into a failure (an exception raised by a signal
    handler interrupts the blocked open).
    """
    import os
    import signal

    def hang(signum, frame):
        raise TimeoutError("the reader opened the named pipe and waited")

    path = tmp_path / "model.toml"
    os.mkfifo(path)
    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(20)
    yield path
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("read", [read_csv, read_toml])
def test_a_named_pipe_is_refused_without_being_opened(fifo, read):
    with pytest.raises(InputError) as caught:
        read(fifo)
    assert str(caught.value) == ("model.toml: is not a regular file (it is a named pipe); "
                                 "expected a file saved on disk")


def test_a_named_pipe_as_model_file_or_workbook_exits_2(fifo, capsys, tmp_path):
    from capitation import Model
    from capitation.cli import main

    with pytest.raises(InputError, match="model.toml: is not a regular file"):
        Model.from_toml(fifo)
    workbook = tmp_path / "model.xlsx"
    fifo.rename(workbook)
    with pytest.raises(InputError, match="model.xlsx: is not a regular file"):
        Model.from_excel(workbook)
    assert main(["run", str(workbook), "--out", str(tmp_path / "out.xlsx"), "--quiet"]) == 2
    assert "model.xlsx: is not a regular file (it is a named pipe)" in capsys.readouterr().err
    assert not (tmp_path / "out.xlsx").exists()


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"cannot be read \(it is a folder; expected a file\)"):
        read_csv(tmp_path)


@pytest.mark.parametrize("read", [read_csv, read_toml])
def test_a_file_the_system_will_not_let_us_read_is_named(tmp_path, monkeypatch, read):
    # The tests may run as root, for whom chmod 000 changes nothing: the refusal
    # is made by the Path.read_bytes the readers call.
    from pathlib import Path

    path = tmp_path / "locked.csv"
    path.write_text("a\n1\n", encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == "locked.csv: cannot be read (Permission denied)"


def test_a_toml_file_with_a_byte_order_mark_reads(tmp_path):
    # Notepad saves UTF-8 with a byte-order mark; tomllib alone refuses it.
    path = tmp_path / "notepad.toml"
    path.write_bytes('\ufeff[model]\nname = "é"\n'.encode("utf-8"))
    assert read_toml(path) == {"model": {"name": "é"}}
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"\xef\xbb\xbf" + 'name = "é"\n'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin.toml: is not UTF-8 text \(byte 11\)"):
        read_toml(latin)  # the offset counts the byte-order mark, as in the file


def test_a_model_file_with_a_byte_order_mark_runs_and_exports(tmp_path):
    from pathlib import Path

    from capitation import Model
    from capitation.excel.model_export import export_model

    demo = Path(__file__).resolve().parents[2] / "models"
    text = (demo / "demo.toml").read_text(encoding="utf-8")
    for name in ("demo_baselines.csv",):
        (tmp_path / name).write_bytes((demo / name).read_bytes())
    path = tmp_path / "demo.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace('"../capitation/data/', '"' + (
        demo.parent / "capitation" / "data").as_posix() + "/").encode("utf-8"))
    model = Model.from_toml(path)
    assert model.spec.name
    assert export_model(path, tmp_path / "demo.xlsx").exists()


# -------------------------------------------------------- CSV that is not comma-separated text


@pytest.mark.parametrize("content, message", [
    (b"code;n\nA;1\n", 'row 1: looks separated by ";", not commas: save it as comma-separated '
                       "(CSV UTF-8)"),
    (b"code\tn\nA\t1\n", "row 1: looks separated by tabs, not commas"),
    (b"code,n\nA,1\nB\x00,2\n", "row 3, column code: holds a NUL character (code 0)"),
    (b"code,n\nA,1\n code , N \nB,2\nCODE,n\n",
     "row 3: repeats the header row (expected one header row, at the top: were two files "
     "pasted together? delete this row) (also row 5)"),
])
def test_csv_that_is_not_comma_separated_text_is_named(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_csv(path)
    assert str(caught.value).startswith(f"t.csv, {message}")


def test_a_semicolon_inside_a_comma_separated_header_is_fine(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('code,"a;b",n\nA,x,1\n', encoding="utf-8")
    assert list(read_csv(path).frame.columns) == ["code", "a;b", "n"]


# ---------------------------------------------------------------- long values echoed


def test_a_long_value_is_cut_where_it_is_echoed():
    from capitation.errors import clip

    assert clip("x" * 60) == "x" * 60
    assert clip("x" * 32_000) == "x" * 60 + "… (32,000 characters)"
    with pytest.raises(InputError) as caught:
        number_column(pd.Series(["1", "y" * 32_000]), file="t.csv", column="n")
    assert str(caught.value) == ('t.csv, row 3, column n: "' + "y" * 60 + '… (32,000 '
                                 'characters)" is not a number (expected a number, 0 or more)')
    with pytest.raises(InputError) as caught:
        TomlKeys("m.toml").number("z" * 5_000, "model.envelope_gbp")
    assert len(str(caught.value)) < 150
    with pytest.raises(InputError) as caught:
        find_columns(["h" * 5_000], ["code"], file="t.csv")
    assert len(str(caught.value)) < 150


def test_number_column_maximum():
    with pytest.raises(InputError, match=r"row 3, column age: 96 is above 95 \(expected an age"):
        number_column(pd.Series(["95", "96"]), what="an age", maximum=95, column="age")
    blank_is_missing = number_column(pd.Series(["1", ""]), whole=True, blank=np.nan)
    assert np.isnan(blank_is_missing[1])
