"""Errors raised for bad input, naming where the problem is.

Every problem a user can fix is an :class:`InputError`: a ``ValueError`` whose
message starts with the place (file, sheet, cell, row, column or TOML key)
and then says what was expected. A value the message echoes is cut to
:data:`MAX_ECHO` characters by :func:`clip`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["InputError", "SolverError", "clip", "located", "MAX_ECHO"]

#: Longest value a message echoes; a longer one is cut (:func:`clip`).
MAX_ECHO = 60


def clip(value: object, limit: int = MAX_ECHO) -> str:
    """Return ``value`` as text for a message, cut to ``limit`` characters if longer.

    Every reader echoes a bad value through this one function, so that a cell
    or key holding a whole pasted file does not fill the screen:
    ``clip("x" * 32_000)`` is 60 x's, an ellipsis and ``(32,000 characters)``.
    """
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


class InputError(ValueError):
    """Bad input, with the place it was found.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    file : str or Path, optional
        The file the input came from (its name is shown, not the full path).
    sheet : str, optional
        Workbook sheet.
    cell : str, optional
        Cell reference such as ``"C4"``.
    row : int, optional
        Row number as a user sees it (1-based, header is row 1 in a CSV).
    column : str, optional
        Column name.
    key : str, optional
        TOML key, dotted (``"pace_of_change.min_growth"``).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.sheet = sheet
        self.cell = cell
        self.row = row
        self.column = column
        self.key = key
        self.reason = message
        super().__init__(self._format())

    def _format(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            parts.append(Path(self.file).name)
        if self.sheet is not None and self.cell is not None:
            parts.append(f"{self.sheet}!{self.cell}")
        elif self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.key is not None:
            parts.append(f"key {self.key}")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason


class SolverError(RuntimeError):
    """The optimiser failed or returned something that cannot be trusted."""


def located(message: str, *, file: str | Path | None = None, sheet: str | None = None,
            cell: str | None = None, row: int | None = None, column: str | None = None,
            key: str | None = None) -> str:
    """Return a message that starts with its place, worded as :class:`InputError` words it.

    For warnings about an input (an amount that looks like the wrong unit, a
    number stored as text): the same place, in the same words, as an error
    about the same input would give.

    Parameters
    ----------
    message : str
        What was found.
    file, sheet, cell, row, column, key : optional
        The place, as for :class:`InputError`.

    Returns
    -------
    str
        ``"file, key k: message"``, or the message alone without a place.
    """
    return InputError(message, file=file, sheet=sheet, cell=cell, row=row, column=column,
                      key=key).args[0]
