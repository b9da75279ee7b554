"""Results workbook of the national run: formulas vs plain values; reading back vs calamine.

Prints, never asserts. Write: the toolkit's results workbook (live formulas
with cached values, formats) against xlsxwriter writing the same cells as
plain values without formatting, in the same run (target ratio <= 2). Read:
the toolkit's reader (guard, error-cell scan, calamine) over every sheet
against python-calamine reading the same file.
"""

import tempfile
import time
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

from capitation import Model
from capitation.excel.read import read_sheet_rows, sheet_names

ROOT = Path(__file__).resolve().parents[1]
REPEAT = 3


def best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def plain(results, path: Path) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "nan_inf_to_errors": True})
    for year in results.years:
        for level in results.levels:
            table = results.table(level, year).reset_index()
            sheet = book.add_worksheet(f"{level}_{year}".replace("/", "_")[:31])
            sheet.write_row(0, 0, list(map(str, table.columns)))
            columns = [table[c].tolist() for c in table.columns]
            for c, values in enumerate(columns):
                for r, value in enumerate(values, start=1):
                    sheet.write(r, c, value)
    book.close()


def main() -> None:
    results = Model.from_toml(ROOT / "models" / "demo.toml").run()
    cells = sum(results.table(lv, y).size for y in results.years for lv in results.levels)
    with tempfile.TemporaryDirectory() as folder:
        ours = Path(folder) / "results.xlsx"
        baseline = Path(folder) / "plain.xlsx"
        results.to_excel(ours)  # warm up
        write_ours = best(lambda: results.to_excel(ours))
        write_plain = best(lambda: plain(results, baseline))
        names = sheet_names(ours)

        def read_ours() -> None:
            for name in names:
                read_sheet_rows(ours, name)

        def read_calamine() -> None:
            book = CalamineWorkbook.from_path(str(ours))
            for name in book.sheet_names:
                book.get_sheet_by_name(name).to_python()

        read_toolkit = best(read_ours)
        read_raw = best(read_calamine)
    print(f"national run: {len(results.table('practice')):,} practices, {cells:,} table cells")
    print(f"write results workbook (formulas, cached values, formats): {write_ours:.2f} s")
    print(f"xlsxwriter, same values, no formats (baseline):            {write_plain:.2f} s")
    print(f"write ratio: {write_ours / write_plain:.2f} (target <= 2)")
    print(f"read back, toolkit reader (guard + error scan + calamine): {read_toolkit:.2f} s")
    print(f"python-calamine alone (baseline):                          {read_raw:.2f} s")
    print(f"read ratio: {read_toolkit / read_raw:.2f}")


if __name__ == "__main__":
    main()
