"""The output columns of both packages, in one table: name, dtype, unit, label, Excel format.

Every column a result, workbook or summary of ``capitation`` or ``risk_share``
shows has one :class:`Column` here, and the places that format or label a
column (the terminal summaries, the HTML display, the workbook writers, the
charts and the README's column lists) read it instead of deciding from the
column's name. Look a column up with :func:`column`, or with the shortcuts
:func:`label`, :func:`number_format` and :func:`unit`::

    >>> column("allocation_gbp").label
    'Allocation (£)'
    >>> label("target_core_gbp")
    'Target: core (£)'
    >>> number_format("distance_from_target")
    '0.00%'

Names with a part that varies (a component, a party, a level, a year) are
*pattern* entries: ``target_<component>_gbp`` matches ``target_core_gbp``, and
the matched part fills the label. A pattern that is nothing but a placeholder
(``<party>``: the columns of ``positions`` are party names) matches only when
the lookup names its table (``column("CCG", table="positions")``). A name
that means different things in two tables (``fixed``: a fraction of cost on a
budget line, a flag on a settled line) needs its table too.

The labels and number formats are the ones the outputs use today (the Excel
format is what each workbook writes for the column; ``General`` where it
writes none). The results workbook's level sheets show the labels as their
header (over a hidden row of the exact column names, which
``capitation.read_results`` reads); the other workbooks still head their
columns with the names.

``python -m capitation.columns README.md`` rewrites the README's column
tables (between ``<!-- columns:start TABLE -->`` and ``<!-- columns:end -->``)
from this module; a test checks that they agree.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

from capitation.columns.schema import (
    GENERAL,
    MONEY_FORMAT,
    SCHEMA,
    SUFFIX,
    TABLES,
    UNITS,
    Column,
)

__all__ = [
    "Column",
    "GENERAL",
    "MONEY_FORMAT",
    "SCHEMA",
    "TABLES",
    "UNITS",
    "column",
    "columns_of",
    "find",
    "format_value",
    "label",
    "number_format",
    "readme_blocks",
    "render_markdown",
    "unit",
    "unit_of",
    "update_readme",
]

_PLACEHOLDER = re.compile(r"<([a-z]+)>")
_PART = {"side": r"loss|gain", "k": r"\d+", "year": r"\d{4}/\d{2}"}


def _regex(pattern: str) -> re.Pattern[str]:
    parts, at = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[at:match.start()]))
        parts.append(f"(?P<{match.group(1)}>{_PART.get(match.group(1), '.+')})")
        at = match.end()
    parts.append(re.escape(pattern[at:]))
    return re.compile("".join(parts))


_PATTERNS = tuple((entry, _regex(entry.name), len(_PLACEHOLDER.sub("", entry.name)))
                  for entry in SCHEMA if _PLACEHOLDER.search(entry.name))


def _matches(name: str, table: str | None) -> list[Column]:
    """Entries for ``name``: exact names first, then the pattern with most fixed text."""
    exact = [e for e in SCHEMA if e.name == name and (table is None or table in e.tables)]
    if exact:
        return exact
    found: list[tuple[int, Column]] = []
    for entry, regex, fixed in _PATTERNS:
        if table is None and fixed == 0:
            continue  # "<party>" matches anything: only within its table
        if table is not None and table not in entry.tables:
            continue
        match = regex.fullmatch(name)
        if match is not None:
            filled = replace(entry, name=name, title=entry.title.format(**match.groupdict()),
                             pattern=entry.name)
            found.append((fixed, filled))
    if not found:
        return []
    best = max(fixed for fixed, _ in found)
    return [c for fixed, c in found if fixed == best]


def column(name: str, table: str | None = None) -> Column:
    """Return the schema entry of an output column.

    Parameters
    ----------
    name : str
        Column (or index) name, such as ``allocation_gbp`` or ``target_core_gbp``.
    table : str, optional
        One of :data:`TABLES`. Needed for a name that is only a placeholder
        (a party, a level, a year) and for a name two tables use differently.

    Returns
    -------
    Column
        With a pattern's placeholders filled in from ``name``.

    Raises
    ------
    KeyError
        The name is not in the schema (of ``table``), or it is ambiguous
        without ``table``; the message names the column.
    """
    if table is not None and table not in TABLES:
        raise KeyError(f"no output table {table!r} (tables are {', '.join(TABLES)})")
    found = _matches(str(name), table)
    if not found:
        where = f" of table {table!r}" if table is not None else ""
        raise KeyError(f"{name!r} is not a column{where} in capitation.columns.SCHEMA")
    if len(found) > 1:
        tables = ", ".join(t for c in found for t in c.tables)
        raise KeyError(f"column {name!r} means different things in tables {tables}: "
                       "give table=")
    return found[0]


def find(name: str, table: str | None = None) -> Column | None:
    """Return the schema entry of ``name``, or None when it has none or is ambiguous.

    For code that formats frames it did not make (a column a user added).

    Parameters
    ----------
    name : str
        Column name.
    table : str, optional
        As for :func:`column`.

    Returns
    -------
    Column or None
    """
    found = _matches(str(name), table)
    return found[0] if len(found) == 1 else None


def label(name: str, table: str | None = None) -> str:
    """Return the label of a column ("Allocation (£)"); raises KeyError as :func:`column`."""
    return column(name, table).label


def number_format(name: str, table: str | None = None) -> str:
    """Return the Excel number format of a column; raises KeyError as :func:`column`."""
    return column(name, table).number_format


def unit(name: str, table: str | None = None) -> str:
    """Return the unit of a column (a key of :data:`UNITS`); raises KeyError as :func:`column`."""
    return column(name, table).unit


def unit_of(name: str) -> str | None:
    """Return the unit of any column name, for frames the toolkit did not make.

    The schema's unit when the name has one entry; otherwise the style
    guide's naming rule (a name ending in ``_gbp`` is money); otherwise None.

    Parameters
    ----------
    name : str
        Column name.

    Returns
    -------
    str or None
    """
    entry = find(name)
    if entry is not None:
        return entry.unit
    return "gbp" if str(name).endswith("_gbp") else None


def columns_of(table: str) -> list[Column]:
    """Return the schema entries of one table, in schema order.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Returns
    -------
    list of Column
    """
    if table not in TABLES:
        raise KeyError(f"no output table {table!r} (tables are {', '.join(TABLES)})")
    return [c for c in SCHEMA if table in c.tables]


def format_value(value: object, unit: str) -> str:
    """Format one value for the terminal by its unit, as ``capitation run`` prints it.

    Money ``£1,234.56`` (``-£1,234.56``), fractions as signed percentages
    (``+1.38%``), indices to 4 decimal places, persons and counts with
    thousands separators; other units as ``str(value)``. Blank for NaN.

    Parameters
    ----------
    value : object
        A number (or text, for text units).
    unit : str
        One of :data:`UNITS`.

    Returns
    -------
    str
    """
    if unit not in UNITS:
        raise KeyError(f"no unit {unit!r} (units are {', '.join(UNITS)})")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if unit == "gbp":
        number = float(value)  # type: ignore[arg-type]
        return f"-£{-number:,.2f}" if number < 0 else f"£{number:,.2f}"
    if unit == "fraction":
        return f"{float(value):+.2%}"  # type: ignore[arg-type]
    if unit == "index":
        return f"{float(value):.4f}"  # type: ignore[arg-type]
    if unit in ("persons", "count"):
        return f"{float(value):,.0f}"  # type: ignore[arg-type]
    return str(value)


def render_markdown(table: str) -> str:
    """Return the Markdown table of one output table's columns, as the README shows it.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Returns
    -------
    str
        A header row, a rule and one row per column (no trailing newline).
    """
    rows = ["| column | label | unit | Excel format | description |",
            "|---|---|---|---|---|"]
    for c in columns_of(table):
        shown = re.sub(r"\{(\w+)\}", r"*\1*", c.title) + SUFFIX.get(c.unit, "")
        rows.append(f"| `{c.name}` | {shown} | {c.unit} | `{c.number_format}` | "
                    f"{c.description} |")
    return "\n".join(rows)


_BLOCK = re.compile(
    r"(<!-- columns:start (?P<table>[a-z_]+) -->\n)(?P<body>.*?)(<!-- columns:end -->)", re.DOTALL)


def readme_blocks(text: str) -> list[tuple[str, str, str]]:
    """Return (table, what the README holds, what :func:`render_markdown` gives) per block."""
    return [(m.group("table"), m.group("body"), render_markdown(m.group("table")) + "\n")
            for m in _BLOCK.finditer(text)]


def update_readme(path: str | Path) -> bool:
    """Rewrite the column tables of a README from the schema.

    Each block between ``<!-- columns:start TABLE -->`` and
    ``<!-- columns:end -->`` becomes :func:`render_markdown` of ``TABLE``.

    Parameters
    ----------
    path : str or Path
        The README.

    Returns
    -------
    bool
        Whether the file changed.
    """
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    new = _BLOCK.sub(lambda m: m.group(1) + render_markdown(m.group("table")) + "\n"
                     + m.group(4), text)
    if new != text:
        file.write_text(new, encoding="utf-8")
    return new != text


