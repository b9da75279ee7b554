"""Settlement workbook → ``settlement.parties``, by the workbook's machine keys, not its headers.

A settlement workbook (:func:`risk_share.excel.settlement_workbook.write_settlement`,
``risk-share settle --out``) carries the hidden sheet ``_columns`` and, on
``parties``, a hidden row of the exact column names
(:mod:`capitation.excel.keyed_tables`, as a results workbook does);
:func:`read_settlement` follows them, so a header a person relabels does not
change what a program reads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from capitation.errors import InputError
from capitation.excel.keyed_tables import KEYS_SHEET, key_entries, read_keyed_table
from capitation.excel.read import open_workbook
from risk_share.excel.settlement_sheets import PARTIES_SHEET
from risk_share.settlement import PARTY_COLUMNS

__all__ = ["read_settlement"]


def read_settlement(path: str | Path) -> pd.DataFrame:
    """Read the per-party table back from a settlement workbook.

    Parameters
    ----------
    path : str or Path
        A workbook written by ``risk-share settle --out`` (with or without
        ``--with-inputs``) or :func:`risk_share.excel.settlement_workbook.write_settlement`.

    Returns
    -------
    pandas.DataFrame
        The same table as :attr:`risk_share.Settlement.parties`: indexed by
        party (agreement order, index named ``party``), columns
        variance_before_pool_gbp, pool_share_gbp, final_position_gbp and
        pool_transfer_gbp, pounds as float64 (whole pence, as Excel stores them).

    Raises
    ------
    InputError
        Naming the file and sheet: the workbook has no ``_columns`` or
        ``parties`` sheet, or the parties table lacks a settlement column.
    """
    path = Path(path)
    book = open_workbook(path)
    found = [e for e in key_entries(book, path, "settlement") if e["level"] == PARTIES_SHEET]
    if not found:
        raise InputError(f'lists no "{PARTIES_SHEET}" table: not a settlement workbook of '
                         "this toolkit", file=path, sheet=KEYS_SHEET)
    table = read_keyed_table(book, path, found[0], "settlement", PARTIES_SHEET)
    missing = [c for c in PARTY_COLUMNS if c not in table.columns]
    if missing or table.index.name != "party":
        wanted = ", ".join(["party", *PARTY_COLUMNS])
        raise InputError(f"the hidden key row (row {found[0]['key_row']}) does not name the "
                         f"settlement's columns (expected {wanted})",
                         file=path, sheet=found[0]["sheet"])
    return table[list(PARTY_COLUMNS)]
