"""What each key of an agreement workbook holds: text, numbers, fractions, choices.

The agreement workbook (:mod:`risk_share.excel.agreement_workbook`) is laid
out as a model workbook (:mod:`capitation.excel.model_schema`); its sections
are ``agreement``, ``pool``, ``party``, ``loss_band``, ``gain_band`` and
``marginal_rate``. Fractions (influence, band bounds and shares, rates,
tolerance, caps as a fraction of the budget) are checked to lie between 0
and 1, and the pool mode is one of :data:`risk_share.agreement.POOL_MODES`.
"""

from __future__ import annotations

from capitation.excel.model_schema import SECTIONS_ABOUT, SECTIONS_KEY, Schema
from risk_share.agreement import POOL_MODES

__all__ = ["AGREEMENT_SCHEMA"]

AGREEMENT_SCHEMA = Schema(
    text={
        "agreement": {"name", "year", "commissioner", SECTIONS_KEY},
        "pool": {"mode", "residual"},
        "party": {"name"},
        "marginal_rate": {"party", "pod"},
    },
    numbers={
        "pool": {"budget_gbp"},
        "party": {"max_loss_gbp", "max_gain_gbp"},
    },
    fractions={
        "party": {"influence", "max_loss", "max_gain"},
        "loss_band": {"upto", "shares"},
        "gain_band": {"upto", "shares"},
        "marginal_rate": {"above_plan", "below_plan", "tolerance"},
    },
    choices={("pool", "mode"): POOL_MODES},
    about={
        ("agreement", "name"): "title of the agreement",
        ("agreement", "year"): 'financial year, like "2018/19"',
        ("agreement", "commissioner"): "party that pays the plan and holds the pooled variance "
                                       "before sharing",
        ("agreement", SECTIONS_KEY): SECTIONS_ABOUT,
        ("pool", "budget_gbp"): "pool budget (£): band bounds and cap fractions refer to it",
        ("pool", "mode"): "corridor (each slice at its band's shares) or first_dollar (all of "
                          "it at the shares of the band it falls in)",
        ("pool", "residual"): "party that takes what a capped party cannot (blank: the "
                              "commissioner); it may have no cap",
    },
    fraction_bounds={section: (0.0, 1.0) for section in
                     ("party", "loss_band", "gain_band", "marginal_rate")},
)
