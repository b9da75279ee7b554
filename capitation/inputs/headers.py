"""Finding columns by their header: one match rule and one message for a missing column.

A header matches a name when both are equal after outer whitespace is
stripped and inner runs of whitespace collapse to one space (``"Final  WP "``
matches ``"Final WP"``). Case matters unless the reader says otherwise (the
published GP register and cost-weight files match ignoring case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from capitation.errors import InputError, clip

__all__ = ["normalise_header", "find_columns", "MAX_SHOWN_COLUMNS"]

#: Headers listed in a "the columns are: ..." message.
MAX_SHOWN_COLUMNS = 40


def normalise_header(name: object) -> str:
    """Strip a header and collapse inner runs of whitespace to one space."""
    return " ".join(str(name).split())


def find_columns(columns: Iterable[object],
                 wanted: Mapping[str, str | Sequence[str]] | Sequence[str], *,
                 file: str | Path | None = None, sheet: str | None = None,
                 case_sensitive: bool = True, key: str | None = None,
                 named_by: Mapping[str, str] | None = None,
                 about: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map each wanted column to the header it has in the table.

    Parameters
    ----------
    columns : iterable
        The table's headers as read.
    wanted : sequence of str, or mapping of str to str or sequence of str
        Names to find; a mapping gives, per result name, the name (or
        alternative names, first found wins) to look for.
    file, sheet : optional
        Where the table is, named in errors.
    case_sensitive : bool
        Whether case must match too.
    key : str, optional
        The TOML key that named the columns, named in errors.
    named_by : mapping of str to str, optional
        Per name, where it was named (``"model.toml, key component[1].blend"``),
        shown in the message.
    about : mapping of str to str, optional
        Per name, what the column holds, shown in the message.

    Returns
    -------
    dict of str to str
        Result name → header as written in the table (the column label itself,
        so that ``frame[found[name]]`` works for labels that are not text).

    Raises
    ------
    InputError
        ``no column "AGE" (the columns are: EXTRACT_DATE, ORG_CODE, ...)``,
        naming the file, the missing column and the key; or when two headers
        are the same after whitespace is tidied and one of them is wanted.
    """
    headers = list(columns)
    fold = (lambda s: s) if case_sensitive else str.casefold
    index: dict[str, object] = {}
    twice: dict[str, tuple[object, object]] = {}
    for header in headers:
        tidy = fold(normalise_header(header))
        if not tidy:
            continue
        if tidy in index:
            twice.setdefault(tidy, (index[tidy], header))
        else:
            index[tidy] = header
    targets = dict(wanted) if isinstance(wanted, Mapping) else {w: w for w in wanted}
    found: dict[str, str] = {}
    for result, names in targets.items():
        alternatives = [names] if isinstance(names, str) else list(names)
        match = next((fold(normalise_header(n)) for n in alternatives
                      if fold(normalise_header(n)) in index), None)
        if match is None:
            shown = ", ".join(clip(h) for h in headers[:MAX_SHOWN_COLUMNS]) or "none"
            more = " ..." if len(headers) > MAX_SHOWN_COLUMNS else ""
            label = " or ".join(f'"{clip(n)}"' for n in alternatives)
            notes = []
            if about and result in about:
                notes.append(about[result])
            if named_by and result in named_by:
                notes.append(f"named by {named_by[result]}")
            notes.append(f"the columns are: {shown}{more}")
            raise InputError(f"no column {label} ({'; '.join(notes)})", file=file, sheet=sheet,
                             column=" or ".join(clip(n) for n in alternatives), key=key)
        if match in twice:
            first, second = twice[match]
            raise InputError(f'headers "{clip(first)}" and "{clip(second)}" are the same name '
                             "after whitespace is tidied; rename one", file=file, sheet=sheet)
        found[result] = index[match]  # type: ignore[assignment]
    return found
