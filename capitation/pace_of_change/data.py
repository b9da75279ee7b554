"""Pace-of-change inputs → validated plain arrays (docs/methods/pace-of-change.md); no pyomo.

Everything a user can get wrong is refused here, before any solving, with an
:class:`~capitation.errors.InputError` that says what is wrong in pounds:
floors that cost more than the envelope, caps that cannot spend it, a missing
baseline, a target or baseline at or below zero, ``max_growth`` below
``min_growth``.

The arrays are held in a canonical order (organisation codes in string order,
docs/methods/rounding.md) so that nothing downstream depends on the input's row
order; :meth:`PaceData.to_input_order` puts results back on the input index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.rounding import MAX_MONEY_GBP, beyond_money, grown_pence

__all__ = ["LP_UNIT_PENCE", "METHODS", "LpInputs", "PaceData", "gbp_text", "lp_inputs", "prepare"]

LP_UNIT_PENCE = 100_000_000
"""Money inside the LP is in £ millions: 1 unit = 10^8 pence.

Method: docs/methods/pace-of-change.md#the-two-stage-lp.
"""

METHODS = ("lp", "rule")
MAX_GROWTH = 1.0
"""The largest min_growth or max_growth (a fraction: 1 doubles the baseline).

The model workbook's data validation gives growth -1 to 1, and a growth from 1
to 100 is refused as a percentage typed as a whole number; far larger growth
would take floors and caps past the largest amount the toolkit accepts.
"""

_SHOWN_CODES = 5


@dataclass(frozen=True, eq=False)
class PaceData:
    """Validated pace-of-change inputs as plain arrays, in canonical code order.

    Attributes
    ----------
    index : pandas.Index
        The caller's index (organisation codes, named after the level), in the
        caller's order.
    order : numpy.ndarray
        Positions in ``index`` of the canonical (string-sorted) codes:
        ``index[order]`` is the canonical order of every array below.
    codes : numpy.ndarray
        Organisation codes as strings, canonical order.
    target_pence : numpy.ndarray
        T_i, whole pence (int64).
    baseline_gbp : numpy.ndarray
        B_i, pounds (float64).
    floor_pence : numpy.ndarray
        F_i = ceil_pence((1 + min_growth) B_i), whole pence (int64).
    cap_pence : numpy.ndarray
        C_i = floor_pence((1 + max_growth) B_i), whole pence held as float64
        (exact below 2^53 pence), ``inf`` when there is no cap.
    envelope_pence : int
        E, whole pence.
    min_growth : float
        Fraction (0.02 is 2%).
    max_growth : float or None
        Fraction, or None for no cap.
    """

    index: pd.Index
    order: np.ndarray
    codes: np.ndarray
    target_pence: np.ndarray
    baseline_gbp: np.ndarray
    floor_pence: np.ndarray
    cap_pence: np.ndarray
    envelope_pence: int
    min_growth: float
    max_growth: float | None

    @property
    def size(self) -> int:
        """Number of organisations."""
        return len(self.codes)

    def to_input_order(self, values: np.ndarray, name: str) -> pd.Series:
        """Put a canonical-order array back on the caller's index.

        Parameters
        ----------
        values : numpy.ndarray
            One value per organisation, canonical order.
        name : str
            Name of the returned Series.

        Returns
        -------
        pandas.Series
            The values indexed by the caller's index, in the caller's order.
        """
        out = np.empty_like(values)
        out[self.order] = values
        return pd.Series(out, index=self.index.copy(), name=name)


@dataclass(frozen=True, eq=False)
class LpInputs:
    """The LP's data in £ millions, canonical code order.

    Method: docs/methods/pace-of-change.md#the-two-stage-lp.

    Attributes
    ----------
    target : numpy.ndarray
        T_i in £ millions.
    floor : numpy.ndarray
        F_i in £ millions.
    cap : numpy.ndarray
        C_i in £ millions, ``inf`` for no cap.
    envelope : float
        E in £ millions.
    """

    target: np.ndarray
    floor: np.ndarray
    cap: np.ndarray
    envelope: float


def lp_inputs(data: PaceData) -> LpInputs:
    """Scale the money to £ millions so that HiGHS sees numbers near 1.

    Parameters
    ----------
    data : PaceData
        Validated inputs.

    Returns
    -------
    LpInputs
        Targets, floors, caps and the envelope in £ millions.
    """
    return LpInputs(
        target=data.target_pence / LP_UNIT_PENCE,
        floor=data.floor_pence / LP_UNIT_PENCE,
        cap=data.cap_pence / LP_UNIT_PENCE,
        envelope=data.envelope_pence / LP_UNIT_PENCE,
    )


def gbp_text(pence: int) -> str:
    """Whole pence as pounds text, exact: ``123456789`` → ``"£1,234,567.89"``.

    Parameters
    ----------
    pence : int
        Whole pence (any sign).

    Returns
    -------
    str
        Pounds with thousands separators and two decimals.
    """
    pence = int(pence)
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"


def _codes_text(codes: pd.Index | np.ndarray) -> str:
    shown = ", ".join(str(code) for code in list(codes)[:_SHOWN_CODES])
    more = len(codes) - _SHOWN_CODES
    return f"{shown} and {more} more" if more > 0 else shown


def _check_growth(min_growth: float, max_growth: float | None) -> None:
    if isinstance(min_growth, bool) or not isinstance(min_growth, int | float | np.number):
        raise InputError(
            f"min_growth must be a number (a fraction: 0.02 is 2%), got {min_growth!r}",
            key="pace_of_change.min_growth",
        )
    if not math.isfinite(min_growth) or min_growth <= -1 or min_growth > MAX_GROWTH:
        raise InputError(
            f"min_growth must be a fraction above -1 and at most {MAX_GROWTH:g} (0.02 is 2%), "
            f"got {min_growth!r}",
            key="pace_of_change.min_growth",
        )
    if max_growth is None:
        return
    if isinstance(max_growth, bool) or not isinstance(max_growth, int | float | np.number):
        raise InputError(
            f"max_growth must be a number (a fraction: 0.08 is 8%) or absent, got {max_growth!r}",
            key="pace_of_change.max_growth",
        )
    if not math.isfinite(max_growth) or max_growth > MAX_GROWTH:
        raise InputError(
            f"max_growth must be a finite fraction, at most {MAX_GROWTH:g}, or absent, "
            f"got {max_growth!r}",
            key="pace_of_change.max_growth",
        )
    if max_growth < min_growth:
        raise InputError(
            f"max_growth ({max_growth:.4%}) is below min_growth ({min_growth:.4%})",
            key="pace_of_change.max_growth",
        )


def _check_index(target_pence: pd.Series, baseline_gbp: pd.Series) -> None:
    if not isinstance(target_pence, pd.Series) or not isinstance(baseline_gbp, pd.Series):
        raise TypeError("target_pence and baseline_gbp must be pandas Series indexed by code")
    if len(target_pence) == 0:
        raise InputError("no organisations: the targets are empty")
    if target_pence.index.has_duplicates:
        dup = target_pence.index[target_pence.index.duplicated()].unique()
        raise InputError(f"targets: organisation codes appear more than once: {_codes_text(dup)}")
    if baseline_gbp.index.has_duplicates:
        dup = baseline_gbp.index[baseline_gbp.index.duplicated()].unique()
        raise InputError(
            f"baselines: organisation codes appear more than once: {_codes_text(dup)}",
            key="pace_of_change.baseline",
        )
    missing = target_pence.index.difference(baseline_gbp.index, sort=False)
    if len(missing):
        raise InputError(
            f"no baseline for {len(missing)} of {len(target_pence)} organisations: "
            f"{_codes_text(missing)}",
            key="pace_of_change.baseline",
        )
    extra = baseline_gbp.index.difference(target_pence.index, sort=False)
    if len(extra):
        raise InputError(
            f"baselines given for {len(extra)} organisations with no target: {_codes_text(extra)}",
            key="pace_of_change.baseline",
        )


def _target_array(target_pence: pd.Series) -> np.ndarray:
    if not pd.api.types.is_integer_dtype(target_pence.dtype) or target_pence.isna().any():
        raise InputError(
            f"targets must be whole pence (int64) with no missing values, "
            f"got dtype {target_pence.dtype}"
        )
    target = target_pence.to_numpy(dtype=np.int64)
    bad = target_pence.index[target <= 0]
    if len(bad):
        raise InputError(
            f"target must be above zero; {len(bad)} organisations have a target of £0.00 or "
            f"less: {_codes_text(bad)}"
        )
    return target


def _baseline_array(baseline_gbp: pd.Series) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(baseline_gbp.dtype) or pd.api.types.is_bool_dtype(
        baseline_gbp.dtype
    ):
        raise InputError(
            f"baseline_gbp must be numbers (pounds), got dtype {baseline_gbp.dtype}",
            key="pace_of_change.baseline",
        )
    baseline = baseline_gbp.to_numpy(dtype=float, na_value=np.nan)
    missing = baseline_gbp.index[~np.isfinite(baseline)]
    if len(missing):
        raise InputError(
            f"no baseline for {len(missing)} organisations (missing or not a finite number): "
            f"{_codes_text(missing)}",
            key="pace_of_change.baseline",
        )
    bad = baseline_gbp.index[baseline <= 0]
    if len(bad):
        raise InputError(
            f"baseline must be above zero; {len(bad)} organisations have a baseline of £0.00 "
            f"or less: {_codes_text(bad)}",
            key="pace_of_change.baseline",
        )
    bad = baseline_gbp.index[baseline > MAX_MONEY_GBP]
    if len(bad):  # a baseline column summed to the level may pass the bound cell by cell
        raise InputError(
            f"baseline {beyond_money(float(baseline.max()))}; {len(bad)} organisations "
            f"have a baseline above it: {_codes_text(bad)}",
            key="pace_of_change.baseline",
        )
    return baseline


def _check_envelope(envelope_pence: int) -> int:
    if isinstance(envelope_pence, bool) or not isinstance(envelope_pence, int | np.integer):
        raise InputError(f"the envelope must be whole pence (an int), got {envelope_pence!r}")
    if envelope_pence <= 0:
        raise InputError(f"the envelope must be above zero, got {gbp_text(envelope_pence)}")
    return int(envelope_pence)


def _check_feasible(data: PaceData) -> None:
    crossed = data.floor_pence > data.cap_pence
    if crossed.any():
        raise InputError(
            f"floor above cap after rounding both inward to whole pence for "
            f"{int(crossed.sum())} organisations ({_codes_text(data.codes[crossed])}); "
            f"max_growth must leave at least a penny above min_growth",
            key="pace_of_change.max_growth",
        )
    floors = int(data.floor_pence.sum())
    if floors > data.envelope_pence:
        raise InputError(
            f"floors cost {gbp_text(floors - data.envelope_pence)} more than the envelope of "
            f"{gbp_text(data.envelope_pence)} (min_growth {data.min_growth:.4%} on each "
            f"baseline); lower min_growth or raise the envelope",
            key="pace_of_change.min_growth",
        )
    if data.max_growth is not None:
        caps = int(data.cap_pence.astype(np.int64).sum())
        if caps < data.envelope_pence:
            raise InputError(
                f"caps can spend at most {gbp_text(caps)}, "
                f"{gbp_text(data.envelope_pence - caps)} less than the envelope of "
                f"{gbp_text(data.envelope_pence)} (max_growth {data.max_growth:.4%} on each "
                f"baseline); raise max_growth or lower the envelope",
                key="pace_of_change.max_growth",
            )


def prepare(
    target_pence: pd.Series,
    baseline_gbp: pd.Series,
    envelope_pence: int,
    min_growth: float,
    max_growth: float | None,
) -> PaceData:
    """Validate pace-of-change inputs and compute floors and caps (docs/methods/pace-of-change.md).

    Floors and caps are whole pence rounded inward, computed exactly in integer
    arithmetic for whole-pence baselines (``capitation.rounding.grown_pence``):
    ``F_i = ceil_pence((1 + min_growth) B_i)``, ``C_i = floor_pence((1 + max_growth) B_i)``.

    Parameters
    ----------
    target_pence : pandas.Series
        T_i, whole pence (int64), indexed by organisation code.
    baseline_gbp : pandas.Series
        B_i, pounds, indexed by the same codes (any order).
    envelope_pence : int
        E, whole pence.
    min_growth : float
        Fraction: every organisation gets at least ``(1 + min_growth) B_i``.
    max_growth : float or None
        Fraction: nobody gets more than ``(1 + max_growth) B_i``; None for no cap.

    Returns
    -------
    PaceData
        Plain arrays in canonical code order.

    Raises
    ------
    InputError
        For any input that is malformed or makes the problem infeasible; the
        message gives the shortfall in pounds where there is one.
    """
    _check_growth(min_growth, max_growth)
    envelope = _check_envelope(envelope_pence)
    _check_index(target_pence, baseline_gbp)
    target = _target_array(target_pence)
    baseline = _baseline_array(baseline_gbp.reindex(target_pence.index))

    codes = np.asarray(target_pence.index.astype(str), dtype=object)
    order = np.argsort(codes.astype(str), kind="stable")
    baseline = baseline[order]
    floors = grown_pence(baseline, float(min_growth), "ceil",
                         "pace_of_change: a floor, (1 + min_growth) × baseline")
    if max_growth is None:
        caps = np.full(len(baseline), np.inf)
    else:
        caps = grown_pence(baseline, float(max_growth), "floor",
                           "pace_of_change: a cap, (1 + max_growth) × baseline").astype(float)
    data = PaceData(
        index=target_pence.index.copy(),
        order=order,
        codes=codes[order],
        target_pence=target[order],
        baseline_gbp=baseline,
        floor_pence=floors,
        cap_pence=caps,
        envelope_pence=envelope,
        min_growth=float(min_growth),
        max_growth=None if max_growth is None else float(max_growth),
    )
    _check_feasible(data)
    return data
