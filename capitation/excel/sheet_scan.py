"""One streaming pass over a worksheet before any Excel library reads it.

A sheet is a part of the workbook's zip (``xl/worksheets/sheet1.xml``). The
pass reads it in chunks with :mod:`zipfile` and parses it with expat, so its
memory does not grow with the sheet, and finds:

- the used range: the last row and column holding a value (a cell with a
  ``<v>`` or an inline string), which is what calamine allocates, from A1, when
  it reads the sheet (a sheet's declared ``<dimension>`` and empty formatted
  cells cost nothing). A value beyond :data:`MAX_SHEET_COLUMNS`,
  :data:`MAX_SHEET_ROWS` or :data:`MAX_SHEET_CELLS` is refused the moment it
  is seen: one value at XFD1048576 would have calamine allocate 17 billion
  cells and abort the process;
- formula cells with no saved value (a workbook saved by a program that does
  not calculate, such as openpyxl): calamine reads them as blanks, which would
  silently drop an optional input;
- error cells (``#DIV/0!``, ``#REF!``), which calamine reads as empty text;
- hidden rows and merged ranges.

A sheet that is not well-formed XML is refused, naming its part, as is a
document type declaration (the guard refuses those in every part first).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from capitation.errors import InputError
from capitation.excel.guard import sheet_parts

__all__ = ["MAX_SHEET_COLUMNS", "MAX_SHEET_ROWS", "MAX_SHEET_CELLS", "SheetScan", "scan_sheet",
           "column_letter", "column_number", "limits_text"]

#: The most columns an input sheet may use. The widest input the toolkit reads
#: (a practice table with a column per age band and sex, blend weights and
#: level codes) has a few dozen; calamine allocates every column up to the last
#: value, so the cap bounds the memory a sheet can ask for.
MAX_SHEET_COLUMNS = 200
#: The most rows an input sheet may use. England has about 6,300 practices and
#: 33,000 LSOAs; a longer table (a national single-year-of-age register) stays a
#: CSV file, which ``capitation export`` names instead of copying it into a sheet.
MAX_SHEET_ROWS = 100_000
#: The most cells (rows times columns, from A1 to the last value) an input sheet
#: may use: calamine holds each in about 32 bytes and the Python copy in as much
#: again, so 5 million cells cost some 400 MB at most.
MAX_SHEET_CELLS = 5_000_000
#: How many error cells, formula cells, hidden rows and merged ranges are kept
#: (each is also counted): enough for any message, bounded for a hostile sheet.
MAX_LISTED = 10_000

_CHUNK = 1 << 16
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")
_DIGITS = "0123456789"
_NS_MAIN = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
            "http://purl.oclc.org/ooxml/spreadsheetml/main")
#: Cell types whose empty ``<v></v>`` is a value: a formula's empty text result.
_TEXT_TYPES = {"str", "s", "inlineStr"}


@dataclass(frozen=True)
class SheetScan:
    """What the streaming pass found in one sheet.

    Attributes
    ----------
    sheet : str
        The sheet's name.
    part : str
        Its part in the zip (``xl/worksheets/sheet1.xml``).
    last_row, last_column : int
        The last row and column (1-based) holding a value; 0 for an empty sheet.
    errors : tuple of (str, str)
        Error cells as (reference, error text), in file order (the first
        :data:`MAX_LISTED`); ``error_count`` counts them all.
    formulas_without_value : tuple of str
        Formula cells with no saved value, in file order (the first
        :data:`MAX_LISTED`); ``formula_count`` counts them all.
    hidden_rows : tuple of int
        1-based numbers of hidden rows (the first :data:`MAX_LISTED`).
    merged : tuple of str
        Merged ranges such as ``"B3:C3"`` (the first :data:`MAX_LISTED`).
    """

    sheet: str
    part: str
    last_row: int
    last_column: int
    errors: tuple[tuple[str, str], ...]
    error_count: int
    formulas_without_value: tuple[str, ...]
    formula_count: int
    hidden_rows: tuple[int, ...]
    merged: tuple[str, ...]


def column_letter(index: int) -> str:
    """Return the Excel column letter of a zero-based column index (0 → A, 27 → AB)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_number(letters: str) -> int:
    """Return the 1-based number of an Excel column (A → 1, AB → 28)."""
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def limits_text() -> str:
    """Return the limits of an input sheet, as messages state them."""
    return (f"an input sheet may use at most {MAX_SHEET_COLUMNS} columns "
            f"(A to {column_letter(MAX_SHEET_COLUMNS - 1)}), {MAX_SHEET_ROWS:,} rows and "
            f"{MAX_SHEET_CELLS:,} cells from A1 to its last value")


class _Refused(Exception):
    """Raised from a parser handler to stop the pass; carries the message."""

    def __init__(self, message: str, damaged: bool = True) -> None:
        super().__init__(message)
        self.damaged = damaged  # a damaged sheet's message names its part


#: What the pass does on an element, by its local name (any other: closes the cell).
_CELL, _VALUE, _INLINE, _FORMULA, _ROW, _MERGE, _OTHER, _FOREIGN = range(8)
_KINDS = {"c": _CELL, "v": _VALUE, "is": _INLINE, "f": _FORMULA, "row": _ROW,
          "mergeCell": _MERGE}


def _kind(name: str) -> int:
    """Return what the pass does on an element named ``name`` (``namespace}local``)."""
    space, _, local = name.rpartition("}")
    kind = _KINDS.get(local, _OTHER)
    # Cells, values and rows go by their local name, whatever the namespace, as
    # calamine reads them, so the used range found is never smaller than its.
    # Other names count in the main namespace only: extensions (x14 data
    # validations) hold <xm:f>, which is not a cell's formula.
    if space and space not in _NS_MAIN and kind not in (_CELL, _VALUE, _INLINE, _ROW):
        return _FOREIGN
    return kind


class _Pass:
    """The expat handlers and what they found (one sheet, one pass).

    The start handler runs once for every element of the sheet, so it is
    written for speed: one dictionary look-up decides what an element is.
    """

    def __init__(self, parser: expat.XMLParserType) -> None:
        self.parser = parser
        self.kinds: dict[str, int] = {}
        self.columns: dict[str, int] = {}  # column letters → number, as met
        self.row = 0  # current row (1-based), for cells without a reference
        self.column = 0  # last cell's column in this row (1-based)
        self.last_row = 0
        self.last_column = 0
        self.cell: str | None = None  # reference of the cell being read
        self.cell_type = "n"
        self.has_value = False
        self.has_formula = False
        self.noteworthy = False  # an error cell or a formula: closed by finish()
        self.value_text: list[str] | None = None  # text of <v>, kept for formulas and errors
        self.errors: list[tuple[str, str]] = []
        self.error_count = 0
        self.formulas: list[str] = []
        self.formula_count = 0
        self.hidden: list[int] = []
        self.merged: list[str] = []

    # -- handlers --------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        kind = self.kinds.get(name)
        if kind is None:
            kind = self.kinds[name] = _kind(name)
        if kind == _CELL:  # the common case first, inline
            if self.noteworthy:
                self.finish()
            ref = attrs.get("r")
            if ref is None:
                ref = self._next_cell()
            else:
                letters = ref.rstrip(_DIGITS)
                column = self.columns.get(letters)
                digits = ref[len(letters):]
                if column is None or not digits.isdigit() or len(digits) > 7:
                    column = self._column(ref, letters)
                self.column = column
                self.row = int(digits)
            self.cell = ref
            cell_type = attrs.get("t")
            self.cell_type = "n" if cell_type is None else cell_type
            self.noteworthy = cell_type == "e"
            self.has_value = False
            self.has_formula = False
        elif kind == _VALUE or kind == _INLINE:
            if self.cell is not None:
                self.has_value = True
                if self.noteworthy and kind == _VALUE:
                    self.value_text = []
                    self.parser.CharacterDataHandler = self.text
            if self.row > self.last_row or self.column > self.last_column:
                self._grow()
        elif kind == _FOREIGN:
            return
        elif kind == _FORMULA:
            if self.cell is not None:
                self.has_formula = self.noteworthy = True
        else:
            if self.noteworthy:
                self.finish()
            self.cell = None
            if kind == _ROW:
                self._row(attrs)
            elif kind == _MERGE:
                ref = attrs.get("ref")
                if ref and len(self.merged) < MAX_LISTED:
                    self.merged.append(ref)

    def text(self, data: str) -> None:
        if self.value_text is not None:
            self.value_text.append(data)

    def doctype(self, *_args: object) -> None:
        raise _Refused("declares a DTD or entities (an XML bomb?)")

    # -- steps -----------------------------------------------------------------

    def _row(self, attrs: dict[str, str]) -> None:
        number = attrs.get("r")
        if number is None:
            self.row += 1
        elif number.isdigit() and 0 < len(number) <= 7 and int(number) > 0:
            self.row = int(number)
        else:
            raise _Refused(f'has a row numbered "{number[:20]}" (expected 1 to 1,048,576); '
                           "the sheet is damaged")
        self.column = 0
        if attrs.get("hidden") in ("1", "true") and len(self.hidden) < MAX_LISTED:
            self.hidden.append(self.row)

    def _next_cell(self) -> str:
        """Place a cell written without a reference: the next column of the row."""
        self.column += 1
        self.row = max(self.row, 1)
        return f"{column_letter(self.column - 1)}{self.row}"

    def _column(self, ref: str, letters: str) -> int:
        """Return the column of a reference not met before; refuse one that is not valid."""
        if _REF.fullmatch(ref) is None:
            raise _Refused(f'has a cell "{ref[:20]}" that is not a cell reference such as '
                           "B7; the sheet is damaged")
        column = self.columns[letters] = column_number(letters)
        return column

    def _grow(self) -> None:
        """Grow the used range to the current cell; refuse it past the limits."""
        row, column = max(self.row, 1), max(self.column, 1)
        self.last_row = max(self.last_row, row)
        self.last_column = max(self.last_column, column)
        if (column > MAX_SHEET_COLUMNS or row > MAX_SHEET_ROWS
                or self.last_row * self.last_column > MAX_SHEET_CELLS):
            where = self.cell or f"{column_letter(column - 1)}{row}"
            raise _Refused(f"has a value at {where}; {limits_text()}: delete what is "
                           "beyond the table, or keep a table this large as a CSV file",
                           damaged=False)

    def finish(self) -> None:
        """Close a noteworthy cell: note an error or a formula with no saved value."""
        self.noteworthy = False
        if self.cell is None:
            return
        text = None
        if self.value_text is not None:
            text = "".join(self.value_text).strip()
            self.value_text = None
            self.parser.CharacterDataHandler = None
        if self.cell_type == "e" and self.has_value:
            self.error_count += 1
            if len(self.errors) < MAX_LISTED:
                self.errors.append((self.cell, text or "#ERROR"))
        elif self.has_formula and (not self.has_value or (
                text == "" and self.cell_type not in _TEXT_TYPES)):
            self.formula_count += 1
            if len(self.formulas) < MAX_LISTED:
                self.formulas.append(self.cell)
        self.cell = None


def scan_sheet(path: str | Path, sheet: str) -> SheetScan:
    """Stream one sheet's XML and return its used range, error and formula cells.

    Parameters
    ----------
    path : str or Path
        A workbook that passed :func:`capitation.excel.guard.check_workbook`.
    sheet : str
        The sheet's name.

    Returns
    -------
    SheetScan

    Raises
    ------
    InputError
        Naming the file and sheet: the sheet's part is missing or is not
        well-formed XML, or it holds a value beyond the limits of an input
        sheet (naming the cell).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as book:
            part = sheet_parts(book).get(sheet)
            if part is None or part not in book.NameToInfo:
                raise InputError(f"part {part or '(none)'} of the sheet is missing; the "
                                 "workbook is damaged", file=path, sheet=sheet)
            found = _stream(path, sheet, part, book)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise InputError(f"cannot be read ({exc}); the workbook is truncated or damaged",
                         file=path, sheet=sheet) from None
    return found


def _stream(path: Path, sheet: str, part: str, book: zipfile.ZipFile) -> SheetScan:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    found = _Pass(parser)
    parser.StartElementHandler = found.start
    parser.StartDoctypeDeclHandler = found.doctype
    parser.EntityDeclHandler = found.doctype
    try:
        with book.open(part) as handle:
            while chunk := handle.read(_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        found.finish()
    except _Refused as refused:
        message = f"{refused} (part {part})" if refused.damaged else str(refused)
        raise InputError(message, file=path, sheet=sheet) from None
    except expat.ExpatError as exc:
        raise InputError(f"part {part} is not well-formed XML ({exc}); the workbook is "
                         "damaged", file=path, sheet=sheet) from None
    return SheetScan(sheet=sheet, part=part, last_row=found.last_row,
                     last_column=found.last_column, errors=tuple(found.errors),
                     error_count=found.error_count,
                     formulas_without_value=tuple(found.formulas),
                     formula_count=found.formula_count, hidden_rows=tuple(found.hidden),
                     merged=tuple(found.merged))
