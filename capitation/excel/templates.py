"""Generate the blank templates checked in under ``workbooks/``.

Each template is a model workbook (see :mod:`capitation.excel.model_export`)
filled with a small worked example that runs as it is, for a finance team to
overwrite with its own figures:

- ``allocation_model.xlsx``: six practices in three ICBs, two components, a
  two-year pace of change set at ICB level from last year's baselines;
- ``service_budget.xlsx``: the capitated MSK budget of domain.md section 6.2;
- ``risk_share_agreement.xlsx``: the risk share agreement and plan lines of
  domain.md section 8 (sheets ``agreement``, ``party``, ``pool``,
  ``loss_band``, ``gain_band``, ``marginal_rate``, ``plan_lines``), read by
  ``risk_share.Agreement.from_excel`` and ``risk-share settle``.

The files carry no version and no run time, so regenerating them gives the
same cells (``tests/capitation/test_excel_templates.py`` checks this).
Regenerate with ``python -m capitation.excel.templates workbooks``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from capitation.excel.model_export import write_model_workbook
from risk_share.excel.agreement_workbook import AGREEMENT_ARRAYS, write_agreement_workbook

__all__ = ["TEMPLATES", "write_templates", "AGREEMENT_ARRAYS"]

TEMPLATES = ("allocation_model.xlsx", "service_budget.xlsx", "risk_share_agreement.xlsx")

_PRACTICES = pd.DataFrame({
    "practice_code": ["P001", "P002", "P003", "P004", "P005", "P006"],
    "practice_name": ["Riverside Surgery", "Hill Top Practice", "Market Street Surgery",
                      "Green Lane Medical Centre", "Old Mill Surgery", "Station Road Practice"],
    "ICB": ["ICB1", "ICB1", "ICB2", "ICB2", "ICB3", "ICB3"],
    "population": [8_000, 12_500, 6_200, 9_800, 15_000, 4_500],
    "weighted_population": [8_400.5, 11_900.0, 7_100.25, 9_300.0, 14_200.75, 5_100.0],
    "primary_care_weighted_population": [8_100.0, 12_300.0, 6_600.0, 9_700.5, 14_800.0,
                                         4_700.0],
})
_BASELINES = pd.DataFrame({"ICB": ["ICB1", "ICB2", "ICB3"],
                           "baseline_gbp": [33_000_000.0, 26_500_000.0, 30_000_000.0]})

_ALLOCATION = {
    "model": {"name": "Allocation model (worked example: replace with your own)",
              "year": "2025/26", "envelope_gbp": [91_000_000, 94_000_000],
              "need_index_convention": "toolkit"},
    "population": {"file": "practices.csv", "id": "practice_code",
                   "population": "population", "levels": ["ICB"]},
    "component": [
        {"name": "core", "share": 0.85, "weighted_population": {"weighted_population": 1.0}},
        {"name": "primary_care", "share": 0.15,
         "weighted_population": {"primary_care_weighted_population": 1.0}},
    ],
    "pace_of_change": {"level": "ICB", "years": ["2025/26", "2026/27"],
                       "baseline": "baselines.csv", "min_growth": 0.01,
                       "max_growth": [0.08, 0.08], "method": "lp"},
}

_SERVICE_BUDGET = {
    "model": {"name": "Capitated service budget (domain.md 6.2 worked example)",
              "year": "2017/18"},
    "service_budget": {
        "name": "MSK", "baseline_year": "2016/17", "years": ["2017/18", "2018/19", "2019/20"],
        "growth": 0.01, "price_uplift": [0.02, 0.015, 0.015],
        "stranded_support": [1.0, 0.5, 0.0],
        "line": [
            {"provider": "Acute trust", "pod": "Outpatient first", "activity": 20_000,
             "price_gbp": 150.0, "fixed": 0.3, "semi_fixed": 0.2, "variable": 0.5,
             "fixed_release_years": 3, "semi_fixed_release_years": 1,
             "activity_change": [-0.25, -0.25, -0.25]},
            {"provider": "Acute trust", "pod": "Elective inpatient", "activity": 2_000,
             "price_gbp": 4_000.0, "fixed": 0.4, "semi_fixed": 0.3, "variable": 0.3,
             "fixed_release_years": 3, "semi_fixed_release_years": 2,
             "activity_change": [-0.05, -0.10, -0.15]},
        ],
        "new_service": [
            {"provider": "Community MSK", "name": "Physiotherapy-led triage",
             "patients": [13_000, 13_000, 13_000],
             "cost_per_patient_gbp": [120.0, 122.0, 124.0]},
        ],
    },
}

_AGREEMENT = {
    "agreement": {"name": "MSK risk share (domain.md section 8 worked example)",
                  "year": "2018/19", "commissioner": "CCG"},
    "party": [{"name": "CCG", "influence": 0.3},
              {"name": "Acute trust", "influence": 0.5, "max_loss": 0.02, "max_gain": 0.02},
              {"name": "Community MSK", "influence": 0.2}],
    "pool": {"budget_gbp": 40_000_000, "mode": "corridor", "residual": "CCG",
             "loss_band": [{"upto": 0.01, "shares": {"CCG": 1.0}},
                           {"shares": {"CCG": 0.4, "Acute trust": 0.4, "Community MSK": 0.2}}],
             "gain_band": [{"upto": 0.01, "shares": {"CCG": 1.0}},
                           {"shares": {"CCG": 0.5, "Acute trust": 0.3, "Community MSK": 0.2}}]},
    "marginal_rate": [
        {"party": "Acute trust", "pod": "*", "above_plan": 0.2, "below_plan": 0.2,
         "tolerance": 0.02},
        {"party": "Acute trust", "pod": "Emergency", "above_plan": 0.3, "below_plan": 0.3},
        {"party": "Acute trust", "pod": "Elective inpatient", "above_plan": 0.75,
         "below_plan": 0.5},
    ],
}
_PLAN_LINES = pd.DataFrame({
    "party": ["Acute trust", "Acute trust", "Acute trust", "Community MSK", "CCG"],
    "pod": ["Outpatient first", "Elective inpatient", "Emergency", "Physiotherapy-led triage",
            "Independent sector"],
    "planned_activity": [15_000, 1_900, 3_000, 13_000, 500],
    "actual_activity": [16_500, 1_750, 3_400, 12_000, 650],
    "price_gbp": [155.0, 4_100.0, 2_500.0, 122.0, 4_000.0],
})


def write_templates(folder: str | Path) -> list[Path]:
    """Write every template into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Output folder (``workbooks/`` in the repository).

    Returns
    -------
    list of Path
        The written files, in the order of :data:`TEMPLATES`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="capitation-templates-") as scratch:
        base = Path(scratch)
        _PRACTICES.to_csv(base / "practices.csv", index=False)
        _BASELINES.to_csv(base / "baselines.csv", index=False)
        written = [
            write_model_workbook(_ALLOCATION, base, folder / TEMPLATES[0]),
            write_model_workbook(_SERVICE_BUDGET, base, folder / TEMPLATES[1]),
            write_agreement_workbook(_AGREEMENT, folder / TEMPLATES[2], _PLAN_LINES),
        ]
    return written


if __name__ == "__main__":  # pragma: no cover
    write_templates(sys.argv[1] if len(sys.argv) > 1 else "workbooks")
