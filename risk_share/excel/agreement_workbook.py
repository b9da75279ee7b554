"""Risk share agreement (TOML tables) ↔ agreement workbook, one to one.

The layout follows the model workbook's conventions
(:mod:`capitation.excel.model_schema`; what each key holds is
:data:`risk_share.excel.agreement_schema.AGREEMENT_SCHEMA`): a sheet ``instructions`` first;
key/value sheets ``agreement`` and ``pool`` (TOML key in column A, value in
column B); one sheet per array of tables, ``party``, ``loss_band``,
``gain_band`` and ``marginal_rate``, with a header row of TOML keys and a
band's ``shares`` table as one column per party (``shares:CCG``); and, when
plan lines are given, a ``plan_lines`` sheet (party, pod, planned_activity,
actual_activity, price_gbp, optionally fixed). Input cells are yellow, the
pool mode is a drop-down list and fractions are checked to lie between 0 and 1.
An exported workbook (``risk-share export``) lists its sections in the
``agreement`` sheet (key ``sections``): a listed sheet that is gone, such as
``marginal_rate``, is an error rather than an agreement without it.

The writer is :func:`capitation.excel.model_export.write_model_workbook`;
the reader shares the model reader's key/value and table sheet readers
(:mod:`capitation.excel.input_sheets`), so a value in the wrong form is
reported by sheet and cell (``loss_band!C4: expected a number, found
"twelve"``) and the dict it returns is what ``tomllib`` gives for the
equivalent agreement file. Validating that dict is the agreement's own job
(``risk_share``); :meth:`AgreementWorkbook.locate` turns a TOML key named in
its errors into the sheet and cell.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from capitation.errors import InputError
from capitation.excel.input_sheets import (
    SheetReader,
    check_sections,
    is_blank,
    read_array,
    read_key_value,
)
from capitation.excel.model_export import write_model_workbook
from capitation.excel.model_schema import Problem, convert
from capitation.excel.read import column_letter
from capitation.inputs.files import check_file
from risk_share.excel.agreement_schema import AGREEMENT_SCHEMA

__all__ = [
    "AGREEMENT_ARRAYS",
    "AGREEMENT_INSTRUCTIONS",
    "AgreementWorkbook",
    "PLAN_LINES_SHEET",
    "PlanLinesSheet",
    "read_agreement_workbook",
    "read_plan_lines_sheet",
    "write_agreement_workbook",
]

log = logging.getLogger(__name__)

#: Sheets of the arrays of tables of an agreement → (parent table or None, key).
AGREEMENT_ARRAYS = {"party": (None, "party"), "loss_band": ("pool", "loss_band"),
                    "gain_band": ("pool", "gain_band"),
                    "marginal_rate": (None, "marginal_rate")}
PLAN_LINES_SHEET = "plan_lines"
#: Sheets the toolkit writes that are never inputs of an agreement workbook.
_OUTPUT_SHEETS = {"instructions", "settled_lines", "parties", "agreement_terms", "summary",
                  "positions", "_columns"}
_REQUIRED = ("agreement", "party", "pool", "loss_band", "gain_band")
#: The sections an agreement workbook may have (the sheets an export lists).
_SECTIONS = ("agreement", "party", "pool", "loss_band", "gain_band", "marginal_rate")
_LINE_NUMBERS = ("planned_activity", "actual_activity", "price_gbp")
_LINE_TEXT = ("party", "pod")
#: An entry of an array of tables as an agreement's message names it: party[2].
_ENTRY = re.compile(r"(?<![\w.\]])(?:pool\.(?:loss_band|gain_band)|party|marginal_rate)\[\d+\]")
#: A band's share as the agreement names it: pool.loss_band[2].shares."Acute trust".
_SHARE_KEY = re.compile(r'pool\.(loss_band|gain_band)\[(\d+)\]\.shares\."(.*)"')

AGREEMENT_INSTRUCTIONS = [
    "Risk share agreement workbook: every sheet but this one is an input; "
    "`risk-share settle` reads it.",
    "",
    "Key/value sheets (agreement, pool): the key in column A, its value in column B (yellow).",
    "Table sheets (party, loss_band, gain_band, marginal_rate): one row per entry.",
    "A band's shares are one column per party: shares:CCG, shares:Acute trust; a blank "
    "share is 0. The last band of each side has no upto (it is unbounded).",
    "Influence, shares, rates, tolerance and band bounds are fractions: 0.05 is 5%, never 5.",
    "A cap or collar is max_loss / max_gain (a fraction of budget_gbp) or max_loss_gbp / "
    "max_gain_gbp (pounds); leave both blank for none.",
    "plan_lines: planned and actual activity and price per party and point of delivery; "
    "`risk-share settle` reads it when no lines file is given.",
    "Sheets you add are ignored (and listed in a note when the agreement is read).",
]


def write_agreement_workbook(data: dict, out: str | Path,
                             plan_lines: pd.DataFrame | None = None,
                             record_sections: bool = False) -> Path:
    """Write an agreement (the parsed TOML) as an agreement workbook, atomically.

    Parameters
    ----------
    data : dict
        The agreement file as ``tomllib`` reads it (not changed).
    out : str or Path
        The ``.xlsx`` to write.
    plan_lines : pandas.DataFrame, optional
        Plan lines (as read from their CSV, text or numbers) for a
        ``plan_lines`` sheet.
    record_sections : bool, default False
        Record the sections written in the ``agreement`` sheet (key
        ``sections``), so that reading the workbook refuses one whose sheet
        was deleted; templates, which a team may cut down, have no record.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    tables = {PLAN_LINES_SHEET: plan_lines} if plan_lines is not None else None
    return write_model_workbook(data, out.parent, out, arrays=AGREEMENT_ARRAYS, tables=tables,
                                instructions=AGREEMENT_INSTRUCTIONS, schema=AGREEMENT_SCHEMA,
                                sections_in="agreement" if record_sections else None)


@dataclass(frozen=True, eq=False)
class AgreementWorkbook:
    """An agreement workbook as read: the TOML tables and where each value was.

    Attributes
    ----------
    path : Path
        The workbook.
    data : dict
        The agreement as ``tomllib`` would give it (``agreement``, ``party``,
        ``pool`` with ``loss_band`` and ``gain_band``, ``marginal_rate``).
    where : dict
        Dotted TOML key (``pool.loss_band[2].shares."Acute trust"``) →
        (sheet, cell).
    has_plan_lines : bool
        Whether the workbook has a ``plan_lines`` sheet.
    """

    path: Path
    data: dict
    where: dict = field(repr=False)
    has_plan_lines: bool = False

    def locate(self, error: InputError) -> InputError:
        """Return an error naming a TOML key as one naming the workbook's sheet and cell.

        The key is shortened (``party[2].max_loss`` → ``party[2]`` → ``party``)
        until a value read from the workbook is found; failing that, the
        sheet of its table is named. An entry the message refers to
        (``see party[2]``) is named by its row's first cell (``see party!A3``),
        and a band's share for a name that is no party by its column header.
        """
        if error.key is None or error.file not in (None, str(self.path)):
            return error
        reason = _ENTRY.sub(self._entry_cell, error.reason)
        header = self._unknown_share_header(error.key)
        if header is not None:
            sheet, cell, title = header
            return InputError(f'column header "{title}": {reason}', file=self.path,
                              sheet=sheet, cell=cell)
        key = error.key
        while key:
            if key in self.where:
                sheet, cell = self.where[key]
                return InputError(reason, file=self.path, sheet=sheet, cell=cell)
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        top = error.key.split(".")[0].split("[")[0]
        if top == "pool" and (".loss_band" in error.key or ".gain_band" in error.key):
            top = "loss_band" if ".loss_band" in error.key else "gain_band"
        return InputError(f"{error.reason} (TOML key {error.key})", file=self.path, sheet=top)

    def _entry_cell(self, match: re.Match) -> str:
        """``party[2]`` → ``party!A3``, when the workbook has that entry."""
        place = self.where.get(match.group(0))
        return f"{place[0]}!{place[1]}" if place and place[1] else match.group(0)

    def _unknown_share_header(self, key: str) -> tuple[str, str, str] | None:
        """Sheet, header cell and header of a share column naming no party, else None."""
        match = _SHARE_KEY.fullmatch(key)
        if match is None or key not in self.where:
            return None
        name = match.group(3)
        parties = [p.get("name") for p in self.data.get("party", []) if isinstance(p, dict)]
        if name in parties:
            return None
        sheet, cell = self.where[key]
        column = re.match(r"[A-Z]+", cell or "")
        if column is None:
            return None
        return sheet, f"{column.group(0)}1", f"shares:{name}"


def read_agreement_workbook(path: str | Path) -> AgreementWorkbook:
    """Read an agreement workbook's input sheets into the agreement file's tables.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` agreement workbook (as ``risk-share export`` writes it,
        possibly edited and saved by Excel or LibreOffice).

    Returns
    -------
    AgreementWorkbook

    Raises
    ------
    InputError
        A missing sheet, or a value in the wrong form, naming sheet and cell.

    Warns
    -----
    UserWarning
        For each value read in an unambiguous but unusual form, hidden rows,
        and sheets that are not part of the agreement.
    """
    path = Path(path)
    check_file(path, what="agreement workbook")
    reader = SheetReader(path, AGREEMENT_SCHEMA)
    for sheet in _REQUIRED:
        if sheet not in reader.names:
            similar = [n for n in reader.names if n.strip().lower() == sheet]
            hint = f' (found "{similar[0]}": rename it "{sheet}")' if similar else ""
            raise reader.error(f'no sheet "{sheet}"{hint}; an agreement workbook needs the '
                               f'sheets {", ".join(_REQUIRED)} (sheets are: '
                               f'{", ".join(reader.names)})')
    data: dict = {"agreement": read_key_value(reader, "agreement")}
    check_sections(reader, data["agreement"], "agreement", _SECTIONS)
    data["party"] = read_array(reader, "party", "party")
    data["pool"] = read_key_value(reader, "pool")
    for side in ("loss_band", "gain_band"):
        data["pool"][side] = read_array(reader, side, f"pool.{side}")
    if "marginal_rate" in reader.names:
        data["marginal_rate"] = read_array(reader, "marginal_rate", "marginal_rate")
    where = dict(reader.where)
    for key, place in reader.where.items():  # the agreement names a share as shares."name"
        head, dot, name = key.partition(".shares.")
        if dot and not name.startswith('"'):
            where[f'{head}.shares."{name}"'] = place
    used = set(_REQUIRED) | {"marginal_rate", PLAN_LINES_SHEET} | _OUTPUT_SHEETS
    extra = [n for n in reader.names if n not in used]
    if extra:
        reader.notes.append(f"{path.name}: sheets not part of the agreement, ignored: "
                            f"{', '.join(extra)}")
    for note in reader.notes:
        log.info(note)
        warnings.warn(note, stacklevel=2)
    return AgreementWorkbook(path=path, data=data, where=where,
                             has_plan_lines=PLAN_LINES_SHEET in reader.names)


@dataclass(frozen=True, eq=False)
class PlanLinesSheet:
    """A workbook's ``plan_lines`` sheet as read.

    Attributes
    ----------
    path : Path
        The workbook.
    frame : pandas.DataFrame
        One row per filled row, indexed by its worksheet row number (row 2
        is the first line); party and pod as text, planned_activity,
        actual_activity and price_gbp as numbers where given, other columns
        (``fixed``) as the cells hold them; blank cells are None.
    letters : dict of str to str
        Column name → column letter.
    """

    path: Path
    frame: pd.DataFrame
    letters: dict

    def cell(self, row: int, column: str | None) -> str:
        """Return the reference of a line's cell (``E5``); column A when unknown."""
        return f"{self.letters.get(column, 'A')}{row}"


def read_plan_lines_sheet(path: str | Path) -> PlanLinesSheet:
    """Read a workbook's ``plan_lines`` sheet, each cell checked in place.

    Parameters
    ----------
    path : str or Path
        The agreement workbook.

    Returns
    -------
    PlanLinesSheet

    Raises
    ------
    InputError
        No ``plan_lines`` sheet, or a value in the wrong form, naming sheet and cell.
    """
    path = Path(path)
    reader = SheetReader(path, AGREEMENT_SCHEMA)
    if PLAN_LINES_SHEET not in reader.names:
        raise reader.error(f'no sheet "{PLAN_LINES_SHEET}": give the plan lines as a CSV file '
                           f'or add the sheet (sheets are: {", ".join(reader.names)})')
    rows = reader.rows(PLAN_LINES_SHEET)
    if not rows:
        raise reader.error("the sheet is empty (expected a header row: party, pod, "
                           "planned_activity, actual_activity, price_gbp)", PLAN_LINES_SHEET)
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    records, numbers = [], []
    for r in range(1, len(rows)):
        row = list(rows[r]) + [""] * (len(header) - len(rows[r]))
        if all(is_blank(v) for v in row):
            continue
        record: dict = {}
        for c, name in enumerate(header):
            raw = row[c]
            if not name:
                continue
            if is_blank(raw):
                record[name] = None
                continue
            kind = "number" if name in _LINE_NUMBERS else "text" if name in _LINE_TEXT else None
            if kind is None:
                record[name] = raw
                continue
            notes: list[str] = []
            try:
                record[name] = convert(raw, kind, notes)
            except Problem as problem:
                raise reader.error(str(problem), PLAN_LINES_SHEET,
                                   f"{column_letter(c)}{r + 1}") from None
            for text in notes:
                reader.note(PLAN_LINES_SHEET, f"{column_letter(c)}{r + 1}", text)
        records.append(record)
        numbers.append(r + 1)
    for note in reader.notes:
        log.info(note)
        warnings.warn(note, stacklevel=2)
    columns = [h for h in header if h]
    frame = pd.DataFrame(records, columns=columns, index=pd.Index(numbers, name="row"),
                         dtype=object)
    letters = {h: column_letter(c) for c, h in enumerate(header) if h}
    return PlanLinesSheet(path=path, frame=frame, letters=letters)
