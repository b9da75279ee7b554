"""Settlement of an outturn: marginal rates, then the pool (docs/methods/settlement.md).

1. Layer 1 on every line (:mod:`risk_share.marginal_rates`).
2. Pooled variance V = Σ marginal payments, the commissioner's own lines at rate 1.
3. Before the pool each provider holds Σ (v − m) over its lines; the
   commissioner holds V.
4. V is shared (:mod:`risk_share.pool`).
5. Final position: provider = before + pool share; commissioner = its pool
   share. Pool transfers (final − before) add up to zero; finals add up to Σ v.

One sign convention throughout (:data:`SIGN_CONVENTION`): a line's variance
is positive when it overspends; a party's amounts (held before the pool, pool
share, final position) are positive when they are a loss borne by the party
and negative when a gain; a pool transfer is positive when the party pays
into the pool (it takes on part of the pooled variance) and negative when it
is paid from the pool. With an overspend the commissioner, which holds all of
V before the pool, is paid from the pool, and the providers sharing V pay in.

:func:`settle_pence` does steps 1-5 for many scenarios at once in integer pence;
:func:`settle` is one outturn with its tables.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import located
from capitation.rounding import check_money, round_pence
from risk_share.agreement import Agreement
from risk_share.marginal_rates import LineTerms, line_terms, marginal_payments
from risk_share.plan_lines_file import read_lines
from risk_share.pool import PoolTerms, pool_terms, share_pence

__all__ = ["Settlement", "SettledPence", "settle", "settle_pence", "check_budget_scale",
           "POSITION_SIGN", "TRANSFER_SIGN", "SIGN_CONVENTION", "BUDGET_SCALE",
           "PARTY_COLUMNS"]

PARTY_COLUMNS = ("variance_before_pool_gbp", "pool_share_gbp", "final_position_gbp",
                 "pool_transfer_gbp")
"""The columns of :attr:`Settlement.parties`, in order."""

BUDGET_SCALE = (0.01, 100.0)
"""A pool budget outside these multiples of the plan lines' value draws a warning.

A budget typed in £m (40 for £40m) against £31m of plan lines is about a
millionth of them; one typed in pence, a hundred times too large.
"""

POSITION_SIGN = "positive = a loss borne by the party, negative = a gain"
"""The sign of a party's amounts: held before the pool, pool share, final position."""
TRANSFER_SIGN = ("a positive pool transfer is a payment into the pool, a negative one a "
                 "payment from it")
"""The sign of ``pool_transfer_gbp`` (final position − variance before pool)."""
SIGN_CONVENTION = f"Sign: {POSITION_SIGN}; {TRANSFER_SIGN}."
"""The sign convention in one sentence, as every settlement output states it."""


@dataclass(frozen=True, eq=False)
class SettledPence:
    """Settlements of n scenarios in int64 pence (p parties, m lines).

    Attributes
    ----------
    variance : numpy.ndarray
        Line variances v, shape (n, m).
    payment : numpy.ndarray
        Marginal payments m, shape (n, m).
    pooled_variance : numpy.ndarray
        V per scenario, shape (n,).
    kept : numpy.ndarray
        What each party holds outside the pool, shape (n, p): a provider's
        Σ (v − m); 0 for the commissioner (its own lines are all pooled).
    pool_share : numpy.ndarray
        Each party's share of V, shape (n, p).
    """

    variance: np.ndarray
    payment: np.ndarray
    pooled_variance: np.ndarray
    kept: np.ndarray
    pool_share: np.ndarray

    @property
    def final_position(self) -> np.ndarray:
        """Final position (positive = loss), shape (n, p): kept + pool share."""
        return self.kept + self.pool_share


def settle_pence(
    terms: LineTerms, pool: PoolTerms, n_parties: int, actual_pence: np.ndarray
) -> SettledPence:
    """Settle many outturns at once, vectorised, in integer pence.

    Parameters
    ----------
    terms : LineTerms
        The plan lines' terms (m lines).
    pool : PoolTerms
        The pool.
    n_parties : int
        Number of parties (p).
    actual_pence : numpy.ndarray
        R(actual_activity × price) per scenario and line, int64, shape (n, m).

    Returns
    -------
    SettledPence
    """
    actual = np.atleast_2d(np.asarray(actual_pence, dtype=np.int64))
    variance, payment = marginal_payments(terms, actual)
    kept = _sum_by_party(variance - payment, terms.party_index, n_parties)
    pooled = payment.sum(axis=1)
    # Sums over lines: each line is within the bound, the sum need not be.
    check_money(pooled / 100.0, "the pooled variance (the sum of marginal payments)")
    check_money(kept / 100.0, "what a party holds outside the pool")
    return SettledPence(
        variance=variance,
        payment=payment,
        pooled_variance=pooled,
        kept=kept,
        pool_share=share_pence(pool, pooled),
    )


def check_budget_scale(agreement: Agreement, planned_pence: np.ndarray) -> None:
    """Warn when the pool budget looks like the wrong unit against the plan lines' value.

    A warning (not an error: a pool may be set well apart from the plan on
    purpose) naming the key and both figures, when ``budget_gbp`` is below
    1% or above 100 times (:data:`BUDGET_SCALE`) the plan lines' value.

    Parameters
    ----------
    agreement : Agreement
        The agreement (its ``budget_gbp`` and source file).
    planned_pence : numpy.ndarray
        R(planned_activity × price) per plan line, int64 pence.
    """
    plan_gbp = int(np.sum(planned_pence, dtype=np.int64)) / 100.0
    if plan_gbp <= 0:
        return
    budget = agreement.budget_gbp
    ratio = budget / plan_gbp
    low, high = BUDGET_SCALE
    if low <= ratio <= high:
        return
    if ratio < low:
        bound = f"below {low:.0%} of the plan lines' value £{plan_gbp:,.2f} ({low:.0%} is " \
                f"£{low * plan_gbp:,.2f})"
    else:
        bound = f"above {high:g} times the plan lines' value £{plan_gbp:,.2f} ({high:g} times " \
                f"is £{high * plan_gbp:,.2f})"
    message = located(
        f"the pool budget £{budget:,.2f} is {bound}: are both in pounds (not £m or £k)? Band "
        "bounds and caps are fractions of the budget", file=agreement.source,
        key="pool.budget_gbp")
    warnings.warn(message, stacklevel=3)


def _sum_by_party(values: np.ndarray, party_index: np.ndarray, n_parties: int) -> np.ndarray:
    """Sum the columns (lines) of int64 ``values`` (n, m) by party: shape (n, p), 0 for no lines.

    Lines sorted by party, then one ``add.reduceat`` per run of a party's lines:
    integer sums, exact in any order, without the work of a lines × parties product.
    """
    order = np.argsort(party_index, kind="stable")
    counts = np.bincount(party_index, minlength=n_parties)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = counts > 0
    out = np.zeros((values.shape[0], n_parties), dtype=np.int64)
    if present.any():
        out[:, present] = np.add.reduceat(values[:, order], starts[present], axis=1)
    return out


@dataclass(frozen=True, eq=False)
class Settlement:
    """One settled outturn.

    Attributes
    ----------
    agreement : Agreement
        The agreement settled under.
    lines : pandas.DataFrame
        Per plan line (index ``line``): party, pod, planned_activity,
        actual_activity, price_gbp, fixed, planned_gbp, actual_gbp,
        variance_gbp, rate_rule (which rate applied), tolerance_gbp,
        marginal_rate (the rate applied: above_plan when v > 0, below_plan when
        v < 0, 0 when v = 0 or a block; 1 on the commissioner's own lines) and
        marginal_payment_gbp. Pounds in whole pence.
    parties : pandas.DataFrame
        Per party (index ``party``, agreement order): variance_before_pool_gbp,
        pool_share_gbp, final_position_gbp, pool_transfer_gbp. Transfers add
        up to zero; final positions add up to the lines' total variance.
        Positive = a loss borne by the party, negative = a gain; a positive
        pool transfer is a payment into the pool, a negative one a payment
        from it (:data:`SIGN_CONVENTION`).
    pooled_variance_gbp : float
        V, the sum of marginal payments (positive = an overspend, a loss to
        share).
    run_at : str
        When it was settled (UTC, ISO 8601 to the second), as its workbook states.
    """

    agreement: Agreement = field(repr=False)
    lines: pd.DataFrame
    parties: pd.DataFrame
    pooled_variance_gbp: float
    run_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(
        timespec="seconds"))

    def summary(self) -> pd.DataFrame:
        """Return the per-party table (:attr:`parties`): before the pool, pool share, final.

        Returns
        -------
        pandas.DataFrame
            A copy of :attr:`parties`, pounds in whole pence.
        """
        return self.parties.copy()

    def _repr_html_(self) -> str:
        """Jupyter's view: the pooled variance and the per-party table, money as £1,234.56."""
        from capitation.display import html_table, pounds

        caption = (
            f"{self.agreement.name}: pooled variance {pounds(self.pooled_variance_gbp)}. "
            f"{SIGN_CONVENTION}"
        )
        return html_table(self.summary(), caption)


def settle(agreement: Agreement, lines: pd.DataFrame | str | Path) -> Settlement:
    """Settle one outturn (docs/methods/settlement.md).

    Parameters
    ----------
    agreement : Agreement
        The agreement.
    lines : pandas.DataFrame or str or Path
        Plan lines with party, pod, planned_activity, actual_activity,
        price_gbp (optional fixed), or a CSV file of them.

    Returns
    -------
    Settlement

    Raises
    ------
    InputError
        Bad lines (naming file, row and column) or a marginal rate matching no line.
    """
    clean = read_lines(lines, agreement.party_names, need_actual=True)
    terms = line_terms(agreement, clean)
    check_budget_scale(agreement, terms.planned_pence)
    actual = np.asarray(round_pence(clean["actual_activity"].to_numpy() * terms.price_gbp,
                                    "the actual value of a plan line"))
    settled = settle_pence(
        terms, pool_terms(agreement), len(agreement.parties), actual.reshape(1, -1)
    )
    variance = settled.variance[0]
    payment = settled.payment[0]
    rate = np.where(
        terms.own,
        1.0,
        np.where(variance > 0, terms.above_plan, np.where(variance < 0, terms.below_plan, 0.0)),
    )
    table = clean.copy()
    table["planned_gbp"] = terms.planned_pence / 100.0
    table["actual_gbp"] = actual / 100.0
    table["variance_gbp"] = variance / 100.0
    table["rate_rule"] = terms.rule
    table["tolerance_gbp"] = terms.tolerance_pence / 100.0
    table["marginal_rate"] = rate
    table["marginal_payment_gbp"] = payment / 100.0

    pooled = int(settled.pooled_variance[0])
    kept = settled.kept[0]
    share = settled.pool_share[0]
    commissioner = agreement.party_names.index(agreement.commissioner)
    before = kept.copy()
    before[commissioner] = pooled
    final = kept + share
    parties = pd.DataFrame(
        dict(zip(PARTY_COLUMNS, (before / 100.0, share / 100.0, final / 100.0,
                                 (final - before) / 100.0), strict=True)),
        index=pd.Index(agreement.party_names, name="party"),
    )
    return Settlement(
        agreement=agreement, lines=table, parties=parties, pooled_variance_gbp=pooled / 100.0
    )
