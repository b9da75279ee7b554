"""Plan lines from capitation's service budget (docs/methods (service budget, marginal rates)).

A capitated budget's lines (provider × point of delivery, with planned activity
and price, and new services as patients × cost per patient) become the plan
lines a risk share settles and simulates. Stranded-cost support becomes one
fixed line per provider that never varies.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from capitation.errors import InputError

__all__ = ["BUDGET_LINE_COLUMNS", "STRANDED_COST_POD", "plan_lines_from_budget"]

STRANDED_COST_POD = "Stranded-cost support"


class HasBudgetLines(Protocol):
    """Anything with service budget lines: capitation's ``Results`` or ``CapitatedBudget``."""

    @property
    def budget_lines(self) -> pd.DataFrame | None:
        """One row per provider × POD × year (None: the run has no service budget)."""
        ...
BUDGET_LINE_COLUMNS = (
    "provider",
    "pod",
    "year",
    "planned_activity",
    "price_gbp",
    "support_gbp",
    "kind",
)


def plan_lines_from_budget(results: HasBudgetLines, year: str) -> pd.DataFrame:
    """Plan lines for one year of a capitated service budget.

    Parameters
    ----------
    results : HasBudgetLines
        Anything with a ``budget_lines`` DataFrame (capitation's results): one
        row per provider × POD × year with at least ``provider``, ``pod``,
        ``year`` (``"2018/19"``), ``planned_activity``, ``price_gbp`` (pounds
        per unit), ``support_gbp`` (stranded-cost support, pounds) and ``kind``
        (``"line"`` or ``"new_service"``; a new service's activity is its
        patients and its price the cost per patient).
    year : str
        The budget year, such as ``"2018/19"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``party``, ``pod``, ``planned_activity``, ``price_gbp``,
        ``fixed``: one line per provider × POD of that year in budget order
        (``fixed`` False), then per provider with support > 0 a line with POD
        ``"Stranded-cost support"``, activity 1, price = its total support
        and ``fixed`` True. Index ``line`` from 0.

    Raises
    ------
    InputError
        No ``budget_lines``, a missing column, a year not in the budget, or a
        provider × POD repeated within the year.
    """
    budget = getattr(results, "budget_lines", None)
    if not isinstance(budget, pd.DataFrame):
        raise InputError("results: expected an object with a budget_lines DataFrame")
    missing = [c for c in BUDGET_LINE_COLUMNS if c not in budget.columns]
    if missing:
        raise InputError(
            f"budget_lines: missing column {missing[0]!r} (needs {', '.join(BUDGET_LINE_COLUMNS)})",
            column=missing[0],
        )
    rows = budget[budget["year"].astype(str) == str(year)]
    if rows.empty:
        years = ", ".join(sorted(budget["year"].astype(str).unique()))
        raise InputError(f"year {year!r} is not in the budget (years: {years})", key="year")
    kinds = set(rows["kind"].astype(str))
    if not kinds <= {"line", "new_service"}:
        raise InputError(
            f"budget_lines: kind {sorted(kinds - {'line', 'new_service'})[0]!r} is not "
            "'line' or 'new_service'",
            column="kind",
        )
    repeated = rows.duplicated(["provider", "pod"])
    if repeated.any():
        first = rows[repeated].iloc[0]
        raise InputError(
            f"budget_lines: {first['provider']!r}, {first['pod']!r} appears twice in {year}",
            column="pod",
        )
    lines = pd.DataFrame(
        {
            "party": rows["provider"].astype(str).to_numpy(),
            "pod": rows["pod"].astype(str).to_numpy(),
            "planned_activity": rows["planned_activity"].to_numpy(dtype=float),
            "price_gbp": rows["price_gbp"].to_numpy(dtype=float),
            "fixed": False,
        }
    )
    support = rows.groupby("provider", sort=False)["support_gbp"].sum()
    support = support[support > 0]
    stranded = pd.DataFrame(
        {
            "party": support.index.astype(str),
            "pod": STRANDED_COST_POD,
            "planned_activity": 1.0,
            "price_gbp": support.to_numpy(dtype=float),
            "fixed": True,
        }
    )
    out = pd.concat([lines, stranded], ignore_index=True)
    out.index.name = "line"
    return out
