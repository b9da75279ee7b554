"""Rounding money to whole pence (docs/methods/rounding.md and the conventions).

``R(x)`` rounds to whole pence with halves away from zero, as Excel's ROUND
does, after snapping ``x * 100`` so that float noise never moves a half penny.
The same snap comes before every ceiling and floor to pence.

The snap (docs/methods/index.md#conventions, amended): docs/methods says "round x × 100 to 6
decimal places". Above about £10m a float64 step in pence is larger than the
6th decimal (1.025 × £125,000,000 is 12,812,499,999.999998p), so a 6-place
snap cannot absorb the noise and a floor lands a penny low. We snap to 6
decimal places or to 15 significant digits, whichever is coarser: 15
significant digits is what Excel itself keeps, so the workbook's ROUNDUP and
ROUNDDOWN agree with Python, and every worked example of docs/methods is
unchanged. The snap is the same for every rule here, in pence or not: the
unit-free :func:`half_up`, :func:`half_away` and :func:`ceil_whole` (counts,
ranks, amounts already in pence) snap their argument as it stands.

Largest remainder (LR) rounds a set of amounts to whole pence so that
they add up exactly to a known total; ties go to the earliest amount in a
canonical order (string order of the codes unless an order is given).

Every amount has one bound, :data:`MAX_MONEY_GBP`: the input edge refuses a
larger amount (naming the file and key, cell or row), and every conversion to
pence here refuses one too, naming what was being converted, so that no
amount can wrap around in int64 pence or lose pennies in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

import numpy as np
import pandas as pd

from capitation.errors import InputError

__all__ = [
    "MAX_MONEY_GBP",
    "MAX_MONEY_PENCE",
    "beyond_money",
    "check_money",
    "SNAP_DECIMALS",
    "snap_pence",
    "half_up",
    "half_away",
    "ceil_whole",
    "round_pence",
    "round_gbp",
    "ceil_pence",
    "floor_pence",
    "excel_round",
    "largest_remainder",
    "largest_remainder_grouped",
    "largest_remainder_rows",
    "largest_remainder_pence",
    "pence_to_gbp",
    "grown_pence",
]

SNAP_DECIMALS = 6
SIGNIFICANT_DIGITS = 15

MAX_MONEY_GBP = 1e13
"""The largest amount of money (pounds, either sign) any input or computed figure may be.

£10 trillion: far above any NHS budget (NHS England's whole budget is about
£0.2 trillion), yet small enough for whole-pence arithmetic to stay exact.
It is 10**15 pence, below 2**53 (about 9.0e15), so every whole-pence amount up
to it is exact in float64 with an eighth of a penny to spare for the snap; and
about 9,000 such amounts still add up within int64 pence (about 9.2e18). Far
above it, int64 pence overflow (£1e17 is 1e19 pence, which comes back from the
cast as a large negative amount) and float64 loses whole pence.
"""
MAX_MONEY_PENCE = 10**15
""":data:`MAX_MONEY_GBP` in pence."""


def beyond_money(amount_gbp: float) -> str:
    """Say why ``amount_gbp`` is too large: the words every money check uses.

    Parameters
    ----------
    amount_gbp : float
        An amount in pounds beyond :data:`MAX_MONEY_GBP` either way.

    Returns
    -------
    str
        ``"5e+17 is above the largest amount the toolkit accepts
        (£10,000,000,000,000)"``, or ``"... is below the smallest amount the
        toolkit accepts (-£10,000,000,000,000)"`` for a negative amount.
    """
    if amount_gbp < 0:
        return (f"{amount_gbp:g} is below the smallest amount the toolkit accepts "
                f"(-£{MAX_MONEY_GBP:,.0f})")
    return f"{amount_gbp:g} is above the largest amount the toolkit accepts (£{MAX_MONEY_GBP:,.0f})"


def check_money(amount_gbp: float | np.ndarray | pd.Series, what: str) -> None:
    """Refuse an amount that is not finite or beyond :data:`MAX_MONEY_GBP` either way.

    The check before every conversion to pence.

    Parameters
    ----------
    amount_gbp : float or array-like
        Amounts in pounds.
    what : str
        What the amounts are (``"planned value of a plan line"``), named in the error.

    Raises
    ------
    InputError
        ``planned value of a plan line: 1e+17 is above the largest amount the
        toolkit accepts (£10,000,000,000,000)``, or ``...: nan is not a finite amount``.
    """
    values = np.asarray(amount_gbp, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= MAX_MONEY_GBP)  # NaN fails the comparison: refused too
    if bad.any():
        first = float(values.reshape(-1)[np.flatnonzero(bad.reshape(-1))[0]])
        reason = beyond_money(first) if np.isfinite(first) else f"{first} is not a finite amount"
        raise InputError(f"{what}: {reason}")


def snap_pence(amount_gbp: float | np.ndarray | pd.Series) -> np.ndarray:
    """Return ``amount_gbp * 100`` snapped to 6 decimals or 15 significant digits (float pence).

    Parameters
    ----------
    amount_gbp : float or array-like
        Amounts in pounds.

    Returns
    -------
    numpy.ndarray
        Amounts in pence, snapped.
    """
    return _snap(np.asarray(amount_gbp, dtype=float) * 100.0)


def _snap(x: float | np.ndarray | pd.Series) -> np.ndarray:
    """``x`` snapped to 6 decimals or 15 significant digits, whichever is coarser."""
    scaled, scale = _snap_scaled(np.asarray(x, dtype=float))
    return scaled / scale


def _snap_scaled(pence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snapped pence as whole numbers of 1/scale pence, and the scale (10**decimals)."""
    magnitude = np.abs(pence)
    integer_digits = np.where(magnitude >= 1.0, np.floor(np.log10(
        np.where(magnitude >= 1.0, magnitude, 1.0))) + 1, 0)
    decimals = np.clip(SIGNIFICANT_DIGITS - integer_digits, 0, SNAP_DECIMALS)
    scale = 10.0**decimals
    return np.round(pence * scale), scale


def _floors_and_remainders(pence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floors of snapped pence and their remainders, computed on the snapped grid.

    Remainders come from whole numbers of 1/scale pence, so two amounts with the
    same pence fraction (40,000,000.4p and 0.4p) have exactly equal remainders
    and ties fall to the canonical order, not to float noise.
    """
    scaled, scale = _snap_scaled(np.asarray(pence, dtype=float))
    floors = np.floor(scaled / scale)
    remainders = (scaled - floors * scale) / scale
    return floors, remainders


def _half_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def half_up(x: float | np.ndarray | pd.Series) -> np.ndarray:
    """Round to whole numbers with halves up (towards +inf), after the snap.

    For counts by a rule: weighted populations reported as whole persons,
    the first rank of a risk tier, floor(from × N + 0.5)
    (docs/methods/weighted-capitation.md#from-people).

    Parameters
    ----------
    x : float or array-like
        Values in any unit; snapped as they stand (not scaled to pence).

    Returns
    -------
    numpy.ndarray
        float64 whole numbers, the shape of ``x`` (0-d for a number).

    Examples
    --------
    >>> half_up(np.array([2.5, -2.5, 0.1 * 3 * 5]))
    array([ 3., -2.,  2.])
    """
    return np.floor(_snap(x) + 0.5)


def half_away(x: float | np.ndarray | pd.Series) -> np.ndarray:
    """Round to whole numbers with halves away from zero, after the snap.

    R() on amounts already in pence (marginal payments and tolerances,
    docs/methods/marginal-rates.md): Excel's ROUND to 0 decimal places.

    Parameters
    ----------
    x : float or array-like
        Values in any unit; snapped as they stand (not scaled to pence).

    Returns
    -------
    numpy.ndarray
        float64 whole numbers, the shape of ``x`` (0-d for a number).

    Examples
    --------
    >>> half_away(np.array([2.5, -2.5, 0.3 * 250]))
    array([ 3., -3., 75.])
    """
    return _half_away(_snap(x))


def ceil_whole(x: float | np.ndarray | pd.Series) -> np.ndarray:
    """Ceiling to whole numbers after the snap, so float noise above an integer stays on it.

    For ranks by a rule: the ⌈αn⌉-th smallest loss of VaR (docs/methods/monte-carlo.md),
    where 0.95 × 20 is 19.000000000000004 in float64.

    Parameters
    ----------
    x : float or array-like
        Values in any unit; snapped as they stand.

    Returns
    -------
    numpy.ndarray
        float64 whole numbers, the shape of ``x`` (0-d for a number).
    """
    return np.ceil(_snap(x))


@overload
def round_pence(amount_gbp: float, what: str = ...) -> int: ...
@overload
def round_pence(amount_gbp: np.ndarray | pd.Series, what: str = ...) -> np.ndarray | int: ...
def round_pence(amount_gbp: float | np.ndarray | pd.Series,
                what: str = "an amount") -> np.ndarray | int:
    """R(x) in whole pence (int64): halves away from zero after the snap.

    Parameters
    ----------
    amount_gbp : float or array-like
        Amounts in pounds, each within :data:`MAX_MONEY_GBP` either way.
    what : str
        What the amounts are, named in the error for one that is too large.

    Returns
    -------
    int or numpy.ndarray of int64
        Whole pence.

    Raises
    ------
    InputError
        An amount that is not finite or beyond :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Examples
    --------
    >>> round_pence(712_873.935)
    71287394
    """
    check_money(amount_gbp, what)
    out = _half_away(snap_pence(amount_gbp)).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def round_gbp(amount_gbp: float | np.ndarray | pd.Series) -> float | np.ndarray | pd.Series:
    """R(x) in pounds: whole pence with halves away from zero, as a float.

    A Series keeps its index.

    Parameters
    ----------
    amount_gbp : float or array-like
        Amounts in pounds.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        Amounts in pounds, rounded to whole pence.
    """
    pence = _half_away(snap_pence(amount_gbp))
    if isinstance(amount_gbp, pd.Series):
        return pd.Series(pence / 100.0, index=amount_gbp.index, name=amount_gbp.name)
    return float(pence / 100.0) if pence.ndim == 0 else pence / 100.0


@overload
def ceil_pence(amount_gbp: float, what: str = ...) -> int: ...
@overload
def ceil_pence(amount_gbp: np.ndarray | pd.Series, what: str = ...) -> np.ndarray | int: ...
def ceil_pence(amount_gbp: float | np.ndarray | pd.Series,
               what: str = "an amount") -> np.ndarray | int:
    """Ceiling to whole pence after the snap (int64 pence).

    Refuses an amount beyond :data:`MAX_MONEY_GBP`, naming ``what`` (see
    :func:`check_money`).
    """
    check_money(amount_gbp, what)
    out = np.ceil(snap_pence(amount_gbp)).astype(np.int64)
    return int(out) if out.ndim == 0 else out


@overload
def floor_pence(amount_gbp: float, what: str = ...) -> int: ...
@overload
def floor_pence(amount_gbp: np.ndarray | pd.Series, what: str = ...) -> np.ndarray | int: ...
def floor_pence(amount_gbp: float | np.ndarray | pd.Series,
                what: str = "an amount") -> np.ndarray | int:
    """Floor to whole pence after the snap (int64 pence).

    Refuses an amount beyond :data:`MAX_MONEY_GBP`, naming ``what`` (see
    :func:`check_money`).
    """
    check_money(amount_gbp, what)
    out = np.floor(snap_pence(amount_gbp)).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def grown_pence(baseline_gbp: np.ndarray, growth: float, direction: str,
                what: str = "a grown amount") -> np.ndarray:
    """Return ceil or floor to whole pence of (1 + growth) × baseline, exactly.

    Floors and caps of pace of change (docs/methods/pace-of-change.md). A baseline in
    whole pence times a growth written as a decimal (0.025) is a rational
    number, so the ceiling and floor are computed in integer arithmetic:
    (1 + g) = p / q from the growth's decimal form, and
    F = ceil(B × p / q). No float noise can move a floor or cap by a penny,
    at any size. Baselines that are not whole pence fall back to the snapped
    float path.

    Parameters
    ----------
    baseline_gbp : numpy.ndarray
        Baselines in pounds.
    growth : float
        Growth as a fraction (0.02 means 2%).
    direction : {"ceil", "floor"}
        Round up (floors) or down (caps).
    what : str
        What the grown amounts are, named in the error for one beyond
        :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Returns
    -------
    numpy.ndarray
        int64 pence.
    """
    from fractions import Fraction

    baseline_gbp = np.asarray(baseline_gbp, dtype=float)
    check_money(baseline_gbp, what)
    check_money((1.0 + float(growth)) * baseline_gbp, what)
    # The growth's decimal form, as the model file wrote it: limit_denominator
    # turns 0.009999999999999998 (0.01 after float arithmetic) back into 1/100
    # and keeps any growth of up to 9 decimal places exactly.
    factor = Fraction(repr(float(growth))).limit_denominator(10**9) + 1
    p, q = factor.numerator, factor.denominator
    whole = round_pence(baseline_gbp, what)
    whole = np.atleast_1d(np.asarray(whole, dtype=np.int64))
    exact = np.abs(np.atleast_1d(snap_pence(baseline_gbp)) - whole) < 1e-3
    if int(np.abs(whole).max(initial=0)) * p < 2**62:
        numerator = whole * np.int64(p)
        result = -((-numerator) // q) if direction == "ceil" else numerator // q
    else:  # beyond int64: Python integers, still elementwise in numpy
        numerator = whole.astype(object) * p
        result = (-((-numerator) // q) if direction == "ceil" else numerator // q).astype(
            np.int64)
    fallback = ceil_pence if direction == "ceil" else floor_pence
    approx = np.atleast_1d(fallback(float(factor) * baseline_gbp, what))
    return np.where(exact, result, approx).astype(np.int64)


def excel_round(x: float | np.ndarray, digits: int) -> float | np.ndarray:
    """Round like Excel's ROUND: halves away from zero, after the snap of ``x × 10**digits``.

    Used for indices printed to a few decimals (docs/methods/need-index.md).

    Parameters
    ----------
    x : float or array-like
        Values.
    digits : int
        Decimal places.

    Returns
    -------
    float or numpy.ndarray
        Rounded values.
    """
    out = half_away(np.asarray(x, dtype=float) * 10.0**digits) / 10.0**digits
    return float(out) if out.ndim == 0 else out


def pence_to_gbp(pence: np.ndarray | pd.Series | int) -> np.ndarray | pd.Series | float:
    """Whole pence (int) to pounds (float), keeping a Series' index."""
    if isinstance(pence, pd.Series):
        return pence.astype(np.int64) / 100.0
    arr = np.asarray(pence, dtype=np.int64) / 100.0
    return float(arr) if arr.ndim == 0 else arr


def largest_remainder_pence(amounts_pence: np.ndarray, total_pence: int,
                            what: str = "an amount shared out to whole pence") -> np.ndarray:
    """Largest remainder on a 1-D array of float pence already in tie-break order.

    docs/methods/rounding.md on one set of amounts: floors after the snap, then the
    missing pence one each to the largest remainders; ties go to the earlier
    position. :func:`largest_remainder` puts a Series in canonical order and
    calls this; :func:`largest_remainder_rows` does the same for many rows.

    Parameters
    ----------
    amounts_pence : numpy.ndarray
        Shape (m,), unrounded pence, in tie-break order (earlier wins).
    total_pence : int
        Whole pence the amounts must add up to.
    what : str
        What the amounts are, named in the error for one beyond
        :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Returns
    -------
    numpy.ndarray
        int64 pence of shape (m,), adding up to ``total_pence``.

    Raises
    ------
    ValueError
        When the amounts are more than one penny each away from the total.
    """
    pence = np.asarray(amounts_pence, dtype=float)
    check_money(pence / 100.0, what)
    floors, remainders = _floors_and_remainders(pence)
    missing = int(total_pence) - int(floors.sum())
    if missing < 0 or missing > len(pence):
        raise ValueError(
            f"largest remainder: the amounts add up to {pence.sum() / 100:,.2f} pounds, "
            f"too far from the total {total_pence / 100:,.2f} to round to it"
        )
    out = floors.astype(np.int64)
    if missing:
        order = np.argsort(-remainders, kind="stable")
        out[order[:missing]] += 1
    return out


def largest_remainder(
    amounts_gbp: pd.Series,
    total_pence: int,
    order: Sequence | None = None,
    what: str = "an amount shared out to whole pence",
) -> pd.Series:
    """Round amounts to whole pence adding up exactly to ``total_pence``.

    docs/methods/rounding.md: floors first, then the missing pence one each to the
    largest fractional remainders; ties go to the lowest code (string order)
    unless ``order`` gives the tie order.

    Parameters
    ----------
    amounts_gbp : pandas.Series
        Unrounded amounts in pounds, indexed by code.
    total_pence : int
        The total the rounded amounts must add up to, in pence.
    order : sequence, optional
        Codes in tie-break order (earlier wins). Default: ascending string order.
    what : str
        What the amounts are, named in the error for one beyond
        :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Returns
    -------
    pandas.Series
        Whole pence (int64), in the input's index order.

    Raises
    ------
    ValueError
        When the amounts are more than one penny each away from the total.
    """
    if order is None:
        keys = amounts_gbp.index.astype(str)
        canonical = amounts_gbp.iloc[np.argsort(np.asarray(keys), kind="stable")]
    else:
        canonical = amounts_gbp.reindex(list(order))
    pence = largest_remainder_pence(canonical.to_numpy(dtype=float) * 100.0, total_pence, what)
    rounded = pd.Series(pence, index=canonical.index, name=amounts_gbp.name)
    return rounded.reindex(amounts_gbp.index)


def largest_remainder_grouped(
    amounts_gbp: pd.Series,
    groups: pd.Series,
    totals_pence: pd.Series,
    what: str = "an amount shared out to whole pence",
) -> pd.Series:
    """Largest remainder within each group, vectorised (no loop over groups).

    Parameters
    ----------
    amounts_gbp : pandas.Series
        Unrounded amounts in pounds, indexed by (unique) code.
    groups : pandas.Series
        The group of each code, same index as ``amounts_gbp``.
    totals_pence : pandas.Series
        Whole-pence total per group, indexed by group.
    what : str
        What the amounts are, named in the error for one beyond
        :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Returns
    -------
    pandas.Series
        Whole pence (int64), same index as ``amounts_gbp``; each group adds up
        to its total. Ties go to the lowest code within the group.
    """
    check_money(amounts_gbp.to_numpy(dtype=float), what)
    codes = np.asarray(amounts_gbp.index.astype(str))
    grp = groups.reindex(amounts_gbp.index).to_numpy()
    floors, remainders = _floors_and_remainders(amounts_gbp.to_numpy(dtype=float) * 100.0)
    frame = pd.DataFrame({"g": grp, "code": codes, "rem": remainders, "floor": floors})
    floor_sums = frame.groupby("g", sort=False)["floor"].sum()
    missing = totals_pence.reindex(floor_sums.index).astype(np.int64) - floor_sums.astype(np.int64)
    counts = frame.groupby("g", sort=False).size()
    if ((missing < 0) | (missing > counts)).any():
        bad = missing.index[(missing < 0) | (missing > counts)][:5].tolist()
        raise ValueError(f"largest remainder: groups {bad} cannot round to their totals")
    order = np.lexsort((codes, -remainders, pd.factorize(grp)[0]))
    sorted_frame = frame.iloc[order]
    rank = sorted_frame.groupby("g", sort=False).cumcount().to_numpy()
    need = missing.reindex(sorted_frame["g"]).to_numpy()
    bump = np.zeros(len(frame), dtype=np.int64)
    bump[order] = (rank < need).astype(np.int64)
    return pd.Series(floors.astype(np.int64) + bump, index=amounts_gbp.index, name=amounts_gbp.name)


def largest_remainder_rows(amounts_pence: np.ndarray, totals_pence: np.ndarray,
                           what: str = "an amount shared out to whole pence") -> np.ndarray:
    """Largest remainder on each row of a 2-D array of float pence, vectorised.

    Row by row the same as :func:`largest_remainder_pence` (the same snap, so
    remainders that are equal in exact arithmetic compare equal at any size up
    to the snap's reach): shares of many scenarios at once. Ties go to the
    earlier column, so columns must be in tie-break order (the canonical
    party order).

    Parameters
    ----------
    amounts_pence : numpy.ndarray
        Shape (rows, columns), unrounded pence.
    totals_pence : numpy.ndarray
        Shape (rows,), whole pence each row must add up to.
    what : str
        What the amounts are, named in the error for one beyond
        :data:`MAX_MONEY_GBP` (see :func:`check_money`).

    Returns
    -------
    numpy.ndarray
        int64 pence of the same shape; each row adds up to its total.
    """
    check_money(np.asarray(amounts_pence, dtype=float) / 100.0, what)
    floors, remainders = _floors_and_remainders(np.asarray(amounts_pence, dtype=float))
    missing = np.asarray(totals_pence, dtype=np.int64) - floors.sum(axis=1).astype(np.int64)
    if ((missing < 0) | (missing > floors.shape[1])).any():
        raise ValueError("largest remainder: a row cannot round to its total")
    order = np.argsort(-remainders, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(floors.shape[0])[:, None]
    ranks[rows, order] = np.arange(floors.shape[1])[None, :]
    return floors.astype(np.int64) + (ranks < missing[:, None]).astype(np.int64)
