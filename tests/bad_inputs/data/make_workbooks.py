"""Regenerate the damaged workbooks of tests/bad_inputs/ (run from the repository root).

    .venv/bin/python tests/bad_inputs/data/make_workbooks.py [model|agreement|hostile]

Each model workbook (``wb_*.xlsx``) starts as ``capitation export
tests/bad_inputs/data/tiny_model.toml`` (4 practices, 2 ICBs, pace of change
and a one-line service budget, about 13 KB); each agreement workbook
(``ag_*.xlsx``) as ``risk-share export models/msk_agreement.toml
models/msk_outturn.csv`` (3 parties, two bands a side, 3 marginal rates and 9
plan lines, about 12 KB). Each is damaged in one way, with openpyxl or by
rewriting the zip. The expected messages are in tests/bad_inputs/manifest.toml.
``hostile`` writes the hostile and damaged packages (far-out values, missing
or damaged parts, formulas with no saved value, deleted sections; made with
tests/support/zip_surgery.py) from exports that record their sections.
Without an argument every kind is written. Not collected by pytest (the name
does not start with ``test_``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

from capitation.excel.model_export import export_model

HERE = Path(__file__).resolve().parent
CASES = HERE.parent
MODELS = HERE.parents[2] / "models"
sys.path.insert(0, str(HERE.parents[2]))  # tests.support, when run as a script

BILLION_LAUGHS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>\n"
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    b"</sheetData></worksheet>"
)


def edit(source: Path, target: Path, change: Callable[[openpyxl.Workbook], None]) -> None:
    book = openpyxl.load_workbook(source)
    change(book)
    book.save(target)


def set_cells(**cells: object) -> Callable[[openpyxl.Workbook], None]:
    """``set_cells(component__B2="twelve")``: sheet and cell joined by a double underscore."""

    def change(book: openpyxl.Workbook) -> None:
        for where, value in cells.items():
            sheet, cell = where.split("__")
            book[sheet][cell] = value

    return change


def error_value(sheet: str, cell: str, text: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        book[sheet][cell] = text  # openpyxl stores "#DIV/0!" as an error cell (t="e")
        assert book[sheet][cell].data_type == "e"

    return change


def rename(sheet: str, title: str) -> Callable[[openpyxl.Workbook], None]:
    def change(book: openpyxl.Workbook) -> None:
        book[sheet].title = "renamed"  # openpyxl adds a 1 to a name equal to another ignoring case
        book["renamed"].title = title
        assert book[title].title == title

    return change


def rezip(source: Path, target: Path, replace: dict[str, bytes], level: int = 6) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(
        target, "w", zipfile.ZIP_DEFLATED, compresslevel=level
    ) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, data in replace.items():
            if name not in old.namelist():
                new.writestr(name, data)


def sheet_part(path: Path, sheet: str) -> str:
    from capitation.excel.guard import sheet_parts

    with zipfile.ZipFile(path) as book:
        return sheet_parts(book)[sheet]


def out(name: str) -> Path:
    return CASES / name


def model_workbooks(work: Path) -> None:
    good = export_model(HERE / "tiny_model.toml", work / "tiny.xlsx")

    edit(good, out("wb_wrong_type.xlsx"), set_cells(component__B2="twelve"))
    edit(good, out("wb_blank_required.xlsx"), set_cells(model__B2=None))
    edit(good, out("wb_merged_cells.xlsx"), lambda b: b["component"].merge_cells("B2:B3"))
    edit(good, out("wb_missing_sheet.xlsx"), lambda b: b.remove(b["component"]))
    edit(good, out("wb_renamed_sheet.xlsx"), rename("model", "Model "))
    edit(good, out("wb_date_for_number.xlsx"), set_cells(model__B4=dt.datetime(2025, 4, 1)))
    edit(good, out("wb_percentage_as_whole.xlsx"), set_cells(pace_of_change__B4=5))
    edit(good, out("wb_duplicated_codes.xlsx"), set_cells(population_data__A4="P001"))
    edit(good, out("wb_error_cell.xlsx"), error_value("component", "B3", "#DIV/0!"))
    edit(good, out("wb_negative_population.xlsx"), set_cells(population_data__B3=-2000))
    edit(good, out("wb_text_population.xlsx"), set_cells(population_data__B5="five hundred"))
    edit(good, out("wb_duplicated_key.xlsx"), set_cells(model__A4="name"))
    edit(good, out("wb_line_cost_shares.xlsx"), set_cells(line__E2=0.5))
    edit(good, out("wb_baseline_missing_icb.xlsx"), set_cells(baselines__A3="QZ"))
    edit(good, out("wb_unknown_column.xlsx"),
         set_cells(component__C1="weighted_population:Final WPP"))
    edit(good, out("wb_envelope_too_large.xlsx"), set_cells(model__B4=5e17))
    edit(good, out("wb_min_growth_huge.xlsx"), set_cells(pace_of_change__B4=1e16))

    data = good.read_bytes()
    out("wb_truncated.xlsx").write_bytes(data[: len(data) // 2])
    shutil.copyfile(HERE / "practices.csv", out("wb_csv_renamed.xlsx"))
    out("wb_empty.xlsx").write_bytes(b"")
    with zipfile.ZipFile(out("wb_zip_not_workbook.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("notes.txt", "a zip file, but not a workbook\n")
    # Zip bomb: one 60 MB part of zeros, compressed about 1000:1 (under 100 KB on disk).
    rezip(good, out("wb_zip_bomb.xlsx"), {"xl/media/zeros.bin": bytes(60 * 2**20)}, level=9)
    # XML bomb: billion laughs in the model sheet's part (10^9 "lol"s if expanded).
    rezip(good, out("wb_xml_bomb.xlsx"), {sheet_part(good, "model"): BILLION_LAUGHS})


def agreement_workbooks(work: Path) -> None:
    from risk_share.agreement_file import export_agreement

    # Sheets: agreement and pool (key A, value B, from row 2: pool B2 budget_gbp, B3 mode,
    # B4 residual); party (name, influence, max_loss, max_gain); loss_band and gain_band
    # (upto, shares:CCG, shares:Acute trust, shares:Community MSK; row 3 the unbounded band);
    # marginal_rate (party, pod, above_plan, below_plan, tolerance); plan_lines (party, pod,
    # planned_activity, actual_activity, price_gbp, fixed).
    good = export_agreement(MODELS / "msk_agreement.toml", work / "msk_agreement.xlsx",
                            MODELS / "msk_outturn.csv")
    edit(good, out("ag_wrong_type.xlsx"), set_cells(loss_band__C3="twelve"))
    edit(good, out("ag_shares_not_summing.xlsx"), set_cells(loss_band__D3=0.3))
    edit(good, out("ag_unknown_party.xlsx"), set_cells(gain_band__C1="shares:Acute Trust"))
    edit(good, out("ag_missing_sheet.xlsx"), lambda b: b.remove(b["pool"]))
    edit(good, out("ag_renamed_sheet.xlsx"), rename("loss_band", "Loss_Band"))
    edit(good, out("ag_residual_capped.xlsx"), set_cells(pool__B4="Acute trust"))
    edit(good, out("ag_percentage_as_whole.xlsx"), set_cells(loss_band__B3=40))
    edit(good, out("ag_blank_required.xlsx"), set_cells(agreement__B4=None))
    edit(good, out("ag_negative_rate.xlsx"), set_cells(marginal_rate__C2=-0.2))
    edit(good, out("ag_date_for_number.xlsx"), set_cells(pool__B2=dt.datetime(2018, 4, 1)))
    edit(good, out("ag_error_cell.xlsx"), error_value("party", "B3", "#DIV/0!"))
    edit(good, out("ag_merged_cells.xlsx"), lambda b: b["loss_band"].merge_cells("B2:B3"))
    edit(good, out("ag_lines_non_numeric.xlsx"), set_cells(plan_lines__D3="lots"))
    edit(good, out("ag_lines_blank.xlsx"), set_cells(plan_lines__E4=None))
    edit(good, out("ag_lines_sheet_missing.xlsx"), lambda b: b.remove(b["plan_lines"]))
    edit(good, out("ag_budget_too_large.xlsx"), set_cells(pool__B2=5e17))
    edit(good, out("ag_lines_price_too_large.xlsx"), set_cells(plan_lines__E2=1e17))


def hostile_workbooks(work: Path) -> None:
    from risk_share.agreement_file import export_agreement
    from tests.support import zip_surgery as surgery

    good = export_model(HERE / "tiny_model.toml", work / "tiny.xlsx")
    model = surgery.sheet_part(good, "model")
    contents = surgery.parts(good)
    surgery.append_to_sheet(good, out("wb_far_value.xlsx"), "population_data",
                            b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    edit(good, out("wb_formula_no_value.xlsx"),
         set_cells(pace_of_change__A5="max_growth", pace_of_change__B5="=0.05+0.03"))
    edit(good, out("wb_section_deleted.xlsx"), lambda b: b.remove(b["line"]))
    edit(good, out("wb_file_outside.xlsx"),
         set_cells(pace_of_change__B3="../../models/demo_baselines.csv"))
    surgery.rewrite(good, out("wb_sheet_part_missing.xlsx"), {model: None})
    surgery.rewrite(good, out("wb_shared_strings_missing.xlsx"), {"xl/sharedStrings.xml": None})
    surgery.rewrite(good, out("wb_sheet_malformed.xlsx"), {
        model: contents[model].replace(b"</sheetData>", b"<row></sheetData>")})
    surgery.damage_late(good, out("wb_crc_late.xlsx"), model)
    surgery.set_declared(surgery.write_parts(out("wb_size_understated.xlsx"), contents), model,
                         size=100, crc=zlib.crc32(contents[model][:100]))
    surgery.rewrite(good, out("wb_dtd_any_part.xlsx"),
                    {"customXml/item1.dat": surgery.BILLION_LAUGHS})

    agreement = export_agreement(MODELS / "msk_agreement.toml", work / "msk_agreement.xlsx",
                                 MODELS / "msk_outturn.csv")
    edit(agreement, out("ag_formula_no_value.xlsx"), set_cells(party__C2="=0.01*2"))
    edit(agreement, out("ag_section_deleted.xlsx"), lambda b: b.remove(b["marginal_rate"]))


def main(kinds: list[str]) -> None:
    work = Path(tempfile.mkdtemp())
    if not kinds or "model" in kinds:
        model_workbooks(work)
    if not kinds or "agreement" in kinds:
        agreement_workbooks(work)
    if not kinds or "hostile" in kinds:
        hostile_workbooks(work)
    shutil.rmtree(work)


if __name__ == "__main__":
    main(sys.argv[1:])
