"""risk_share's checked-in template matches its generator, cell by cell (drift, not errors)."""

from pathlib import Path

from python_calamine import CalamineWorkbook

from risk_share.excel.templates import TEMPLATES, write_templates

ROOT = Path(__file__).resolve().parents[3]


def test_templates_match_the_generator_cell_by_cell(tmp_path):
    written = write_templates(tmp_path)
    for name, fresh in zip(TEMPLATES, written, strict=True):
        checked_in = ROOT / "workbooks" / name
        assert checked_in.exists(), f"workbooks/{name} missing: python -m " \
                                    "risk_share.excel.templates workbooks"
        a = CalamineWorkbook.from_path(str(checked_in))
        b = CalamineWorkbook.from_path(str(fresh))
        assert a.sheet_names == b.sheet_names, name
        for sheet in a.sheet_names:
            assert a.get_sheet_by_name(sheet).to_python() == \
                b.get_sheet_by_name(sheet).to_python(), f"{name} {sheet}"
