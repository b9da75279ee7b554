"""The command line: risk-share settle / simulate (also python -m risk_share)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import openpyxl
import pytest

from risk_share.cli import main

AGREEMENT = "models/msk_agreement.toml"
OUTTURN = "models/msk_outturn.csv"


def read_sheet(path, name):
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [list(r) for r in book[name].iter_rows(values_only=True)]
    book.close()
    return rows


def test_settle_writes_a_workbook(tmp_path, capsys):
    out = tmp_path / "settlement.xlsx"
    assert main(["settle", AGREEMENT, OUTTURN, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Pooled variance: £" in printed
    assert "pool_transfer_gbp" in printed
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["settled_lines", "parties", "agreement_terms", "_columns"]
    book.close()
    parties = read_sheet(out, "parties")
    # The hidden key row (the exact names), the title block, the printed labels, the data.
    assert parties[0][:5] == [
        "party",
        "variance_before_pool_gbp",
        "pool_share_gbp",
        "final_position_gbp",
        "pool_transfer_gbp",
    ]
    assert parties[5][:3] == ["Party", "Variance before pool (£)", "Pool share (£)"]
    assert [r[0] for r in parties[6:9]] == ["CCG", "Acute trust", "Community MSK"]
    assert round(sum(r[4] for r in parties[6:9]), 6) == 0
    assert parties[9][0] == "Total"
    lines = read_sheet(out, "settled_lines")
    assert "marginal_payment_gbp" in lines[0]
    assert [r[0] for r in lines[6:15]] == list(range(9)) and lines[15][0] == "Total"


def test_settle_states_the_sign_convention_under_its_table(tmp_path, capsys):
    from risk_share.settlement import SIGN_CONVENTION

    out = tmp_path / "settlement.xlsx"
    assert main(["settle", AGREEMENT, OUTTURN, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    table_end = next(i for i, line in enumerate(printed) if line.startswith("Community MSK"))
    assert printed[table_end + 1] == SIGN_CONVENTION
    assert printed[table_end + 2] == f"settlement workbook: {out.resolve()}"


def test_simulate_writes_a_workbook(tmp_path, capsys):
    out = tmp_path / "simulation.xlsx"
    code = main(
        [
            "simulate",
            AGREEMENT,
            OUTTURN,
            "-n",
            "300",
            "--cv",
            "0.05",
            "--correlation",
            "0.2",
            "--seed",
            "1",
            "--distribution",
            "normal",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "300 scenarios" in printed and "cvar95_gbp" in printed
    summary = read_sheet(out, "summary")
    assert summary[0] == [
        "party",
        "mean_gbp",
        "sd_gbp",
        "p5_gbp",
        "p50_gbp",
        "p95_gbp",
        "p_loss",
        "var95_gbp",
        "cvar95_gbp",
    ]
    assert summary[5][:3] == ["Party", "Mean (£)", "Standard deviation (£)"]  # the labels
    positions = read_sheet(out, "positions")
    assert positions[0] == ["Scenario", "CCG", "Acute trust", "Community MSK"]
    assert len(positions) == 301
    assert f"simulation workbook: {out.resolve()}" in printed


def test_simulation_summary_sheet_is_formatted_and_states_sign_and_seed(tmp_path):
    out = tmp_path / "simulation.xlsx"
    args = ["simulate", AGREEMENT, OUTTURN, "-n", "300", "--cv", "0.05", "--seed", "7"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    sheet = book["summary"]
    header = [c.value for c in sheet[1]]  # the hidden key row; the data from row 7
    assert sheet["A2"].value.endswith("300 scenarios, seed 7")  # the title block
    formats = {name: sheet.cell(7, c).number_format for c, name in enumerate(header, start=1)}
    assert formats["p_loss"] == "0.00%"
    for name in ("mean_gbp", "sd_gbp", "p5_gbp", "p50_gbp", "p95_gbp", "var95_gbp",
                 "cvar95_gbp"):
        assert formats[name].startswith("£#,##0.00"), name
    # Widths fit: each column is wider than its header and its longest value as shown
    # (money with £, separators and 2 decimals; a sign when negative). Excel's default
    # column (8.43) would show ### for "-£1,191,165.90".
    widths = {c: d.width for d in sheet.column_dimensions.values()  # <col min max> ranges
              for c in range(d.min, d.max + 1)}
    for c, name in enumerate(header, start=1):
        width = widths[c]
        cells = [sheet.cell(r, c).value for r in range(7, 10)]
        if name == "p_loss":
            longest = max(len(f"{v:.2%}") for v in cells)
        elif name == "party":
            longest = max(map(len, cells))
        else:
            longest = max(len(("-" if v < 0 else "") + f"£{abs(v):,.2f}") for v in cells)
        assert width > max(len(name), longest), (name, width)
    notes = [sheet.cell(r, 1).value for r in range(11, 15)]  # after a blank row
    assert "positive = a loss borne by the party, negative = a gain" in notes[0]
    assert "seed 7" in notes[2]
    positions = book["positions"]
    assert positions["B2"].number_format.startswith("£#,##0.00")
    assert dict(read_sheet(out, "assumptions")[6:])["seed"] == "7"


def test_quiet_prints_nothing(tmp_path, capsys):
    assert main(["simulate", AGREEMENT, OUTTURN, "-n", "50", "--cv", "0.05", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["settle", AGREEMENT, "LINES"], 'lines.csv, row 3, column actual_activity: "41,3OO"'),
        (["settle", "AGREEMENT", OUTTURN], "key pool.loss_band[2].shares: shares add up to 0.9"),
        (
            ["simulate", AGREEMENT, OUTTURN, "-n", "10", "--cv", "0.05", "--correlation", "-0.9"],
            "not positive semi-definite",
        ),
        (["settle", AGREEMENT, "missing.csv"], "missing.csv: lines file not found"),
        # Found by a black-box test: these ran to garbage (NaN activity) or a traceback.
        (["simulate", AGREEMENT, OUTTURN, "-n", "10", "--cv", "1e308"],
         "cv: coefficients of variation must be finite and at least 0, up to 10 (found 1e+308)"),
        (["simulate", AGREEMENT, OUTTURN, "-n", "10", "--cv", "0.05", "--seed", "-1"],
         "seed: -1 is not a whole number from 0 to 4,294,967,295 (2**32 - 1)"),
        (["simulate", AGREEMENT, OUTTURN, "-n", "10", "--cv", "0.05", "--seed", str(2**32)],
         "seed: 4294967296 is not a whole number from 0 to 4,294,967,295"),
        # 3 parties: (2 × 3 + 1) × 8 = 56 bytes a scenario; 2 GiB / 56 = 38,347,922.3.
        (
            ["simulate", AGREEMENT, OUTTURN, "-n", "1000000000", "--cv", "0.05"],
            "n: 1,000,000,000 scenarios of 3 parties need 52.2 GiB to hold their results, "
            "more than the 2 GiB a simulation may take; at most 38,347,922 scenarios fit",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, args, fragment):
    bad_lines = tmp_path / "lines.csv"
    bad_lines.write_text(open(OUTTURN).read().replace("41300", '"41,3OO"'))
    bad_agreement = tmp_path / "agreement.toml"
    bad_agreement.write_text(
        open(AGREEMENT)
        .read()
        .replace('"Community MSK" = 0.2 }\n\n# Sav', '"Community MSK" = 0.1 }\n\n# Sav')
    )
    args = [
        str(bad_lines) if a == "LINES" else str(bad_agreement) if a == "AGREEMENT" else a
        for a in args
    ]
    out = tmp_path / "out.xlsx"
    assert main([*args, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("risk-share: error: ")
    assert fragment in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err
    assert not out.exists()
    assert list(tmp_path.glob("*.xlsx")) == []


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "risk_share", "settle", AGREEMENT, "models/absent.csv"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "risk-share: error: absent.csv: lines file not found\n"


def test_positions_past_a_sheet_go_on_more_sheets_none_cut(tmp_path, capsys, monkeypatch):
    # A sheet holds 1,048,575 rows under its header; lowered to 100 here to show the rule on
    # 250 scenarios: sheets positions (1-100), positions_2 (101-200), positions_3 (201-250).
    import capitation.excel.tables as tables
    import risk_share

    monkeypatch.setattr(tables, "MAX_SHEET_ROWS", 100)
    out = tmp_path / "simulation.xlsx"
    args = ["simulate", AGREEMENT, OUTTURN, "-n", "250", "--cv", "0.05", "--seed", "4"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["summary", "positions", "positions_2", "positions_3",
                               "assumptions"]
    book.close()
    simulation = risk_share.Agreement.from_toml(AGREEMENT).simulate(
        OUTTURN, n=250, cv=0.05, seed=4
    )
    rows = []
    for sheet in ("positions", "positions_2", "positions_3"):
        part = read_sheet(out, sheet)
        assert part[0] == ["Scenario", "CCG", "Acute trust", "Community MSK"]
        assert len(part) - 1 <= 100
        rows += part[1:]
    assert [r[0] for r in rows] == list(range(1, 251))  # every scenario once, in order
    np.testing.assert_array_equal([r[1:] for r in rows], simulation.positions.to_numpy())
    items = dict(read_sheet(out, "assumptions")[6:])
    assert items["positions_sheets"] == "all 250 scenarios on sheets positions to positions_3"
    summary = read_sheet(out, "summary")
    assert ("Each scenario's final positions: all 250 scenarios on sheets positions to "
            "positions_3.") in [r[0] for r in summary]
    expected = simulation.summary()
    table = [r for r in summary[6:] if r[1] is not None]
    assert [r[0] for r in table] == expected.index.tolist()
    # The cell holds the number to 15 significant digits or so: compare to 1e-12.
    np.testing.assert_allclose([r[1:] for r in table], expected.to_numpy(), rtol=1e-12)


def test_positions_that_fit_are_all_written(tmp_path, capsys):
    out = tmp_path / "simulation.xlsx"
    args = ["simulate", AGREEMENT, OUTTURN, "-n", "40", "--cv", "0.05", "--seed", "4"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    assert len(read_sheet(out, "positions")) == 1 + 40
    assert dict(read_sheet(out, "assumptions")[6:])["positions_sheets"] == (
        "all 40 scenarios on sheet positions")


def test_warnings_are_one_line_each(tmp_path):
    # An agreement workbook with a sheet of the team's own notes: risk-share
    # settles it and says the sheet is ignored, in one line without Python source.
    from risk_share.agreement_file import export_agreement

    book_path = export_agreement(AGREEMENT, tmp_path / "agreement.xlsx", OUTTURN)
    book = openpyxl.load_workbook(book_path)
    book.create_sheet("notes")["A1"] = "signed off by the board"
    book.save(book_path)
    done = subprocess.run([sys.executable, "-m", "risk_share", "settle", str(book_path),
                           "--quiet"], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "risk-share: warning: agreement.xlsx: sheets not part of the agreement, ignored: notes"]


@pytest.mark.slow
def test_simulate_past_excels_row_limit_loses_no_scenario(tmp_path, capsys):
    # 1,100,000 scenarios: 1,048,575 fit under the header of sheet positions (Excel's
    # 1,048,576 rows), the other 51,425 go on positions_2. Counted with calamine. About
    # two minutes, most of it writing the workbook.
    from python_calamine import CalamineWorkbook

    out = tmp_path / "simulation.xlsx"
    args = ["simulate", AGREEMENT, OUTTURN, "-n", "1100000", "--cv", "0.05", "--seed", "3"]
    assert main([*args, "--quiet", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names == ["summary", "positions", "positions_2", "assumptions"]
    scenarios = []
    for sheet in ("positions", "positions_2"):
        rows = book.get_sheet_by_name(sheet).to_python()
        assert rows[0] == ["Scenario", "CCG", "Acute trust", "Community MSK"]
        scenarios += [row[0] for row in rows[1:]]
    assert len(scenarios) == 1_100_000
    assert scenarios == list(range(1, 1_100_001))


def test_amounts_in_the_wrong_unit_warn_on_the_command_line(tmp_path, capsys):
    # A pool budget of 40 (meant as £40m) and a cv of 5 (meant as 5%): warnings on stderr, one
    # line each, and the run still settles (exit status 0).
    agreement = tmp_path / "agreement.toml"
    agreement.write_text(open(AGREEMENT).read().replace("budget_gbp = 40_000_000",
                                                        "budget_gbp = 40"))
    assert main(["settle", str(agreement), OUTTURN, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("risk-share: warning: agreement.toml, key pool.budget_gbp: the pool "
                          "budget £40.00 is below 1% of the plan lines' value £45,267,530.76")
    assert err.count("\n") == 1
    assert main(["simulate", AGREEMENT, OUTTURN, "-n", "20", "--cv", "5", "--quiet"]) == 0
    assert capsys.readouterr().err == (
        "risk-share: warning: cv: 5 is above 1: activity's standard deviation would be 5 times "
        "its plan (a fraction: 0.05 means 5%); did you mean 0.05?\n")
    assert main(["simulate", AGREEMENT, OUTTURN, "-n", "20", "--cv", "1", "--quiet"]) == 0
    assert capsys.readouterr().err == ""
