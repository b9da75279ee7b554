"""Layer 1 of a risk share: marginal rates per plan line (docs/methods/marginal-rates.md).

Each line gets the ``[[marginal_rate]]`` for its party and exact POD, else its
party's ``"*"`` rate, else none (a block, rates 0). The commissioner's own lines
are paid at actual value: rate 1, no tolerance, payment = variance. Money is in
integer pence; R() on pence is :func:`capitation.rounding.half_away` (halves away
from zero after the snap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.rounding import half_away, round_pence
from risk_share.agreement import ALL_PODS, Agreement

__all__ = ["LineTerms", "line_terms", "marginal_payments"]


@dataclass(frozen=True, eq=False)
class LineTerms:
    """The terms of every plan line, as arrays in plan order (length m).

    Attributes
    ----------
    party_index : numpy.ndarray
        Position of each line's party in the agreement's parties.
    planned_activity, price_gbp : numpy.ndarray
        Planned activity and price (pounds).
    planned_pence : numpy.ndarray
        R(planned_activity × price), int64 pence.
    above_plan, below_plan : numpy.ndarray
        Rates; 0 for a block, 1 for the commissioner's own lines.
    tolerance_pence : numpy.ndarray
        R(tolerance × planned_gbp), int64 pence; 0 on own lines.
    tolerance : numpy.ndarray
        The tolerance as a fraction of planned value; 0 on own lines and blocks.
    own : numpy.ndarray
        True for the commissioner's own lines.
    rule : numpy.ndarray
        Which rate applies: ``"Acute trust / Emergency"``, ``"Acute trust / *"``,
        ``"block"`` or ``"own line"``.
    """

    party_index: np.ndarray
    planned_activity: np.ndarray
    price_gbp: np.ndarray
    planned_pence: np.ndarray
    above_plan: np.ndarray
    below_plan: np.ndarray
    tolerance_pence: np.ndarray
    own: np.ndarray
    rule: np.ndarray
    tolerance: np.ndarray


def line_terms(agreement: Agreement, lines: pd.DataFrame) -> LineTerms:
    """Match each plan line to its marginal rate.

    Parameters
    ----------
    agreement : Agreement
        The agreement.
    lines : pandas.DataFrame
        Validated plan lines (:func:`risk_share.plan_lines_file.read_lines`).

    Returns
    -------
    LineTerms

    Raises
    ------
    InputError
        When a ``[[marginal_rate]]`` matches no plan line (naming its key).
    """
    rates = pd.DataFrame(
        {
            "party": [r.party for r in agreement.marginal_rates],
            "pod": [r.pod for r in agreement.marginal_rates],
            "above_plan": [r.above_plan for r in agreement.marginal_rates],
            "below_plan": [r.below_plan for r in agreement.marginal_rates],
            "tolerance": [r.tolerance for r in agreement.marginal_rates],
            "number": np.arange(1, len(agreement.marginal_rates) + 1),
        }
    )
    keys = lines[["party", "pod"]]
    exact = keys.merge(rates, on=["party", "pod"], how="left", validate="many_to_one")
    star = keys[["party"]].merge(
        rates[rates["pod"] == ALL_PODS].drop(columns="pod"),
        on="party",
        how="left",
        validate="many_to_one",
    )
    has_exact = exact["number"].notna().to_numpy()
    has_star = star["number"].notna().to_numpy()

    def pick(column: str) -> np.ndarray:
        return np.where(has_exact, exact[column].to_numpy(float), star[column].to_numpy(float))

    used = set(exact["number"].dropna().astype(int)) | set(
        star["number"][~has_exact].dropna().astype(int)
    )
    for i, rate in enumerate(agreement.marginal_rates, start=1):
        if i not in used:
            what = f"POD {rate.pod!r}" if rate.pod != ALL_PODS else "any POD (no lines at all)"
            if rate.pod == ALL_PODS and (lines["party"] == rate.party).any():
                what = "any POD: every line of the party has its own exact rate"
            raise InputError(
                f"matches no plan line: there is no line for {rate.party!r} with {what}",
                file=agreement.source,
                key=f"marginal_rate[{i}]",
            )

    own = (lines["party"] == agreement.commissioner).to_numpy()
    matched = has_exact | has_star
    above = np.where(own, 1.0, np.where(matched, pick("above_plan"), 0.0))
    below = np.where(own, 1.0, np.where(matched, pick("below_plan"), 0.0))
    tolerance = np.where(own | ~matched, 0.0, pick("tolerance"))
    # Rates and tolerances are NaN on unmatched lines; np.where above picked 0 there
    # (docs/methods/marginal-rates.md: a line no rate matches is a block, rates 0).
    party = lines["party"].to_numpy(dtype=str)
    pod = lines["pod"].to_numpy(dtype=str)
    rule = np.where(
        own,
        "own line",
        np.where(
            has_exact,
            np.char.add(np.char.add(party, " / "), pod),
            np.where(has_star, np.char.add(party, " / *"), "block"),
        ),
    ).astype(object)

    planned_activity = lines["planned_activity"].to_numpy(dtype=float)
    price = lines["price_gbp"].to_numpy(dtype=float)
    planned_pence = np.asarray(round_pence(planned_activity * price,
                                           "the planned value of a plan line"), dtype=np.int64)
    positions = {name: i for i, name in enumerate(agreement.party_names)}
    return LineTerms(
        party_index=lines["party"].map(positions).to_numpy(dtype=np.int64),
        planned_activity=planned_activity,
        price_gbp=price,
        planned_pence=planned_pence,
        above_plan=above,
        below_plan=below,
        tolerance_pence=half_away(tolerance * planned_pence).astype(np.int64),
        own=own,
        rule=rule,
        tolerance=tolerance,
    )


def marginal_payments(terms: LineTerms, actual_pence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variance and marginal payment of every line in every scenario.

    docs/methods/marginal-rates.md: v = actual − planned; e = sign(v) × max(0, |v| − t);
    m = R(above_plan × e) if v > 0, R(below_plan × e) if v < 0; own lines m = v.

    Parameters
    ----------
    terms : LineTerms
        The lines' terms (m lines).
    actual_pence : numpy.ndarray
        R(actual_activity × price), int64 pence, shape (n, m) or (m,).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Variance and marginal payment, int64 pence, the shape of ``actual_pence``.
        Positive payment: the commissioner pays the provider.
    """
    variance = np.asarray(actual_pence, dtype=np.int64) - terms.planned_pence
    excess = np.sign(variance) * np.maximum(0, np.abs(variance) - terms.tolerance_pence)
    rate = np.where(variance > 0, terms.above_plan, terms.below_plan)
    payment = half_away(rate * excess).astype(np.int64)
    payment = np.where(terms.own, variance, payment)
    return variance, payment
