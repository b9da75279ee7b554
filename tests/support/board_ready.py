"""The board-ready checklist for one printed table, shared by the output workbooks' tests.

A header a person reads has no identifier in it (no underscore, no "gbp");
each column's cells carry the number format of its unit in
:mod:`capitation.columns` (£ for money, % for fractions, whole numbers for
people); the sheet prints landscape, one page wide (as many pages high as it
needs), with print titles, the model or agreement on the left of the footer
and "Page x of y" on its right.
"""

from __future__ import annotations

from capitation.columns import find


def assert_labels(labels: list, where: str) -> None:
    """Every label is text a person reads: not empty, no underscore, no "gbp"."""
    for label in labels:
        assert isinstance(label, str) and label, (where, label)
        assert "_" not in label and "gbp" not in label.lower(), (where, label)


def assert_formats(sheet, row: int, keys: list[str], table: str, where: str) -> int:
    """Each column's cell in ``row`` (1-based) has its unit's format; return columns checked."""
    checked = 0
    for c, key in enumerate(keys, start=1):
        entry = find(key, table)
        if entry is None:
            continue
        shown = sheet.cell(row, c).number_format
        if entry.unit == "gbp":
            assert shown.startswith("£#,##0"), (where, key, shown)
        elif entry.unit == "fraction":
            assert shown.endswith("%"), (where, key, shown)
        elif entry.unit == "persons":
            assert shown == "#,##0", (where, key, shown)
        else:
            continue
        checked += 1
    return checked


def assert_prints(sheet, footer: str, where: str) -> None:
    """Landscape, one page wide, print titles, the footer."""
    assert sheet.page_setup.orientation == "landscape", where
    assert sheet.sheet_properties.pageSetUpPr.fitToPage, where
    # fitToWidth left out means 1 (ECMA-376 18.3.1.63); 0 pages high: as many as it needs.
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0, where
    assert sheet.print_title_rows and sheet.print_title_cols, where
    assert footer.replace("&", "&&") in sheet.oddFooter.left.text, where
    assert sheet.oddFooter.right.text == "Page &P of &N", where
