"""Input sheets → TOML tables, each value checked in its cell.

The model workbook (:mod:`capitation.excel.model_workbook`) and the risk share
agreement workbook share two kinds of input sheet
(:mod:`capitation.excel.model_schema` describes the layout):

- a key/value sheet (:func:`read_key_value`): the TOML key in column A, its
  value in column B, an optional ``key`` header row;
- a table sheet (:func:`read_array`), one per array of tables: a header row of
  TOML keys and one row per entry.

Both read through a :class:`SheetReader`, which opens the workbook once,
refuses cells merged over inputs, notes hidden rows and values read in an
unusual form, and records the sheet and cell every TOML key came from, so that
an error about a key can name the cell (``loss_band!C4``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from capitation.errors import InputError
from capitation.excel.model_schema import (
    MODEL_SCHEMA,
    SECTIONS_KEY,
    Cell,
    Problem,
    Schema,
    base_key,
    convert,
    unflatten,
)
from capitation.excel.read import column_letter, open_workbook, read_sheet

__all__ = ["SheetReader", "is_blank", "read_array", "read_key_value", "check_sections"]

_RANGE = re.compile(r"^([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$")


class SheetReader:
    """The state of one read of a workbook: the open file, notes, and where each key was.

    Parameters
    ----------
    path : Path
        The ``.xlsx`` workbook (checked for zip and XML bombs when opened).
    schema : Schema, optional
        What each key holds (default: the model's,
        :data:`~capitation.excel.model_schema.MODEL_SCHEMA`).

    Attributes
    ----------
    path : Path
        The workbook, named in every error and note.
    schema : Schema
        What each key holds, which decides how its cell is converted.
    book : python_calamine.CalamineWorkbook
        The open workbook.
    names : list of str
        Its sheet names, in workbook order.
    notes : list of str
        Notes on what was read in an unusual but unambiguous form
        (``"agreement.xlsx, pool!B2: ..."``), for the caller to warn about.
    where : dict of str to (str, str or None)
        Dotted TOML key (``pool.loss_band[2].upto``) → sheet and cell (None for
        a whole sheet).
    """

    def __init__(self, path: Path, schema: Schema | None = None) -> None:
        self.path = path
        self.schema = MODEL_SCHEMA if schema is None else schema
        self.book = open_workbook(path)
        self.names = list(self.book.sheet_names)
        self.notes: list[str] = []
        self.where: dict[str, tuple[str, str | None]] = {}

    def error(self, message: str, sheet: str | None = None, cell: str | None = None
              ) -> InputError:
        """Return an :class:`~capitation.errors.InputError` naming the workbook, sheet and cell."""
        return InputError(message, file=self.path, sheet=sheet, cell=cell)

    def note(self, sheet: str, cell: str | None, message: str) -> None:
        """Record a note about a cell (or a whole sheet when ``cell`` is None)."""
        place = f"{sheet}!{cell}" if cell else f"sheet {sheet}"
        self.notes.append(f"{self.path.name}, {place}: {message}")

    def rows(self, sheet: str, inputs_from_row: int = 2) -> list[list]:
        """Return a sheet's rows of cell values (row 1 first).

        Parameters
        ----------
        sheet : str
            The sheet's name.
        inputs_from_row : int, default 2
            The first worksheet row (1-based) holding inputs: cells merged
            over it or any row below are refused.

        Returns
        -------
        list of list
            Cell values as the workbook stores them (formula results); a
            blank cell is None.

        Raises
        ------
        InputError
            Cells merged over inputs, or an error value (``#DIV/0!``), by cell.
        """
        rows, scan = read_sheet(self.path, sheet, self.book)
        for merged in scan.merged:
            match = _RANGE.match(merged)
            last_row = int(match.group(4) or match.group(2)) if match else 0
            if last_row >= inputs_from_row:
                raise self.error(f"cells {merged} are merged over inputs; unmerge them so each "
                                 "value has its own cell", sheet, merged.split(":")[0])
        hidden = scan.hidden_rows
        if hidden:
            shown = ", ".join(map(str, hidden[:10])) + (" ..." if len(hidden) > 10 else "")
            self.note(sheet, None, f"rows {shown} are hidden; they were read as inputs")
        return rows

    def value(self, sheet: str, section: str, key: str, raw: object, ref: str) -> object:
        """Convert one cell to the TOML value its key takes.

        Parameters
        ----------
        sheet : str
            The sheet the cell is on.
        section : str
            The TOML table whose schema gives the key's kind (the sheet's name).
        key : str
            The workbook key (``share_2025_26``, ``shares:CCG``).
        raw : object
            The cell's value as read.
        ref : str
            The cell (``B4``).

        Returns
        -------
        object
            The value in its TOML form (a number, text, a boolean).

        Raises
        ------
        InputError
            A value in the wrong form, naming the sheet and cell.
        """
        notes: list[str] = []
        try:
            value = convert(raw, self.schema.kind_of(section, base_key(section, key)), notes)
        except Problem as problem:
            raise self.error(str(problem), sheet, ref) from None
        for text in notes:
            self.note(sheet, ref, text)
        return value


def is_blank(value: object) -> bool:
    """Return whether a cell value is blank: None, or text of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def read_key_value(reader: SheetReader, section: str) -> dict:
    """Read a key/value sheet (key in column A, value in column B) as a TOML table.

    Parameters
    ----------
    reader : SheetReader
        The workbook being read; ``reader.where`` gains the cell of each key.
    section : str
        The sheet, named as its TOML table (``pool``).

    Returns
    -------
    dict
        The table as ``tomllib`` gives it; a key with a blank value is left out.

    Raises
    ------
    InputError
        A value with no key, a key given twice, or a value in the wrong form,
        naming the sheet and cell.
    """
    rows = reader.rows(section)
    start = 1 if rows and str(rows[0][0]).strip().lower() == "key" else 0
    cells: dict[str, Cell] = {}
    seen: dict[str, str] = {}
    for r in range(start, len(rows)):
        row = rows[r] + ["", ""]
        key, raw = row[0], row[1]
        if is_blank(key):
            if not is_blank(raw):
                raise reader.error(f"a value with no key (expected a key in A{r + 1})",
                                   section, f"A{r + 1}")
            continue
        key = str(key).strip()
        ref = f"B{r + 1}"
        if key in seen:
            raise reader.error(f'key "{key}" is given twice (A{seen[key][1:]} and A{r + 1}); '
                               "keep one", section, f"A{r + 1}")
        seen[key] = ref
        reader.where[f"{section}.{base_key(section, key)}"] = (section, ref)
        if is_blank(raw):
            continue
        cells[key] = Cell(reader.value(section, section, key, raw, ref), ref)
    where: dict[str, str] = {}
    table = unflatten(section, cells, section, where)
    reader.where.update({k: (section, v) for k, v in where.items()})
    return table


def read_array(reader: SheetReader, sheet: str, prefix: str) -> list[dict]:
    """Read a table sheet (a header row of keys, one row per entry) as an array of tables.

    Parameters
    ----------
    reader : SheetReader
        The workbook being read; ``reader.where`` gains the cell of each key
        (``pool.loss_band[2].upto``), of each entry (its row's column A) and,
        for each column, of its first entry (``pool.loss_band.upto``).
    sheet : str
        The sheet (``loss_band``).
    prefix : str
        The array's dotted TOML key (``pool.loss_band``).

    Returns
    -------
    list of dict
        One table per row that is not wholly blank, in sheet order; blank
        cells are left out.

    Raises
    ------
    InputError
        An empty sheet, a value under a blank header, or a value in the wrong
        form, naming the sheet and cell.
    """
    rows = reader.rows(sheet)
    if not rows:
        raise reader.error("the sheet is empty (expected a header row of keys)", sheet)
    header = [None if is_blank(h) else str(h).strip() for h in rows[0]]
    entries: list[dict] = []
    for r in range(1, len(rows)):
        row = rows[r]
        if all(is_blank(v) for v in row):
            continue
        index = len(entries) + 1
        cells: dict[str, Cell] = {}
        for c, raw in enumerate(row):
            ref = f"{column_letter(c)}{r + 1}"
            key = header[c] if c < len(header) else None
            if key is None:
                if not is_blank(raw):
                    raise reader.error("a value under a blank header (expected a key in row 1 "
                                       "above it)", sheet, ref)
                continue
            reader.where.setdefault(f"{prefix}[{index}].{base_key(sheet, key)}", (sheet, ref))
            reader.where.setdefault(f"{prefix}.{base_key(sheet, key)}", (sheet, ref))
            if not is_blank(raw):
                cells[key] = Cell(reader.value(sheet, sheet, key, raw, ref), ref)
        reader.where.setdefault(f"{prefix}[{index}]", (sheet, f"A{r + 1}"))
        where: dict[str, str] = {}
        entries.append(unflatten(sheet, cells, f"{prefix}[{index}]", where))
        reader.where.update({k: (sheet, v) for k, v in where.items()})
    return entries


def check_sections(reader: SheetReader, table: dict, sheet: str,
                   known: Sequence[str]) -> list[str] | None:
    """Take a workbook's record of its sections out of ``table``; check each is a sheet.

    A workbook written by ``capitation export`` (or ``risk-share export``)
    lists its sections in its first key/value sheet
    (:data:`~capitation.excel.model_schema.SECTIONS_KEY`), so that deleting
    a section's sheet is an error, not a workbook without that section.

    Parameters
    ----------
    reader : SheetReader
        The workbook being read.
    table : dict
        The key/value sheet as read; its ``sections`` key is removed.
    sheet : str
        That sheet's name (``model``, ``agreement``).
    known : sequence of str
        The sections a workbook of this kind may have.

    Returns
    -------
    list of str or None
        The sections listed, or None for a workbook without the record (a
        template, or one exported by an older version).

    Raises
    ------
    InputError
        Naming the record's cell: a listed section has no sheet, or is not a
        section of this kind of workbook.
    """
    listed = table.pop(SECTIONS_KEY, None)
    if listed is None:
        return None
    cell = reader.where.get(f"{sheet}.{SECTIONS_KEY}", (sheet, None))[1]
    names = [name.strip() for name in str(listed).split(",") if name.strip()]
    for name in names:
        if name not in known:
            raise reader.error(f'{SECTIONS_KEY} lists "{name}", which is not a section of this '
                               f'workbook (expected some of: {", ".join(known)})', sheet, cell)
        if name not in reader.names:
            raise reader.error(f'no sheet "{name}", which this workbook lists in its '
                               f'{SECTIONS_KEY}: restore the sheet (or, to drop that section on '
                               f'purpose, delete "{name}" from this cell)', sheet, cell)
    return names
