"""Generate risk share's template checked in under ``workbooks/``.

- ``risk_share_agreement.xlsx``: the risk share agreement and plan lines of
  docs/methods/risk-reward-pool.md (sheets ``agreement``, ``party``, ``pool``,
  ``loss_band``, ``gain_band``, ``marginal_rate``, ``plan_lines``), read by
  ``risk_share.Agreement.from_excel`` and ``risk-share settle``.

The model templates are capitation's (:mod:`capitation.excel.templates`).
The file carries no version and no run time, so regenerating it gives the
same cells (``tests/risk_share/excel/test_templates.py`` checks this).
Regenerate with ``python -m risk_share.excel.templates workbooks``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from risk_share.excel.agreement_workbook import write_agreement_workbook

__all__ = ["TEMPLATES", "write_templates"]

TEMPLATES = ("risk_share_agreement.xlsx",)

_AGREEMENT = {
    "agreement": {"name": "MSK risk share (docs/methods/risk-reward-pool.md worked example)",
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
    """Write every risk share template into ``folder``.

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
    return [write_agreement_workbook(_AGREEMENT, folder / TEMPLATES[0], _PLAN_LINES)]


if __name__ == "__main__":  # pragma: no cover
    write_templates(sys.argv[1] if len(sys.argv) > 1 else "workbooks")
