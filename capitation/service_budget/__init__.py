"""Capitated service budgets from current spend (docs/methods/service-budget.md).

- :mod:`~capitation.service_budget.budget`: the budget lines and the bridge
  from baseline spend to budget (growth, activity changes, investment);
- :mod:`~capitation.service_budget.stranded_costs`: cost released when
  activity moves, what is stranded, and the tapering support;
- :mod:`~capitation.service_budget.budget_file`: the model file's
  ``[service_budget]`` section and its CSVs → validated inputs.
"""

from capitation.service_budget.budget import (
    BRIDGE_COLUMNS,
    BUDGET_LINE_COLUMNS,
    LINE_COLUMNS,
    NEW_SERVICE_COLUMNS,
    CapitatedBudget,
    ServiceBudgetInputs,
    build_budget,
)
from capitation.service_budget.budget_file import read_service_budget

__all__ = [
    "BRIDGE_COLUMNS",
    "BUDGET_LINE_COLUMNS",
    "LINE_COLUMNS",
    "NEW_SERVICE_COLUMNS",
    "CapitatedBudget",
    "ServiceBudgetInputs",
    "build_budget",
    "read_service_budget",
]
