"""Access, intensity and price: the LMDI-I split of a spend gap to its benchmark.

Spend on a service is

    V = patients × (activity / patients) × (cost / activity)
      = (benchmark activity) × access × intensity × price

measured against the benchmark's: for unit u the benchmark spends
V_b = b × E × c_b, where b is the benchmark ratio, E the unit's expected
activity and c_b the benchmark group's pooled cost per activity. Pooled over
the same group, i_b = Σ activity / Σ patients is the benchmark intensity, so
the benchmark sees b × E / i_b patients. The three factor ratios are

    access    = patients / (b × E / i_b)
    intensity = (activity / patients) / i_b
    price     = (cost / activity) / c_b

and their product is V / V_b. The logarithmic mean Divisia index, method I
(Ang 2005, Energy Policy 33:867; Ang & Liu 2007, Energy Policy 35:238), gives
factor k the effect

    ΔV_k = L(V, V_b) × ln(ratio_k),    L(a, b) = (a − b) / (ln a − ln b),  L(a, a) = a,

and the effects add up to V − V_b exactly. A zero is handled by the limit of
Ang & Liu (2007): a unit with no patients (so no activity or cost) has all of
its gap in access, and one with activity but no cost all of it in price.

Money is in whole pence: spend and the gap are rounded with R(x), benchmark
spend is their difference, and the three effects are rounded by largest
remainder so that they add up to the gap exactly (docs/methods/rounding.md).
"""

from __future__ import annotations

import numpy as np

from capitation.rounding import largest_remainder_rows, round_pence

__all__ = ["DECOMPOSITION_COLUMNS", "log_mean", "lmdi", "spend_decomposition"]

#: Columns of :func:`spend_decomposition`, pounds.
DECOMPOSITION_COLUMNS = ("spend_gbp", "benchmark_spend_gbp", "gap_gbp", "access_effect_gbp",
                         "intensity_effect_gbp", "price_effect_gbp")


def log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the logarithmic mean L(a, b) = (a − b)/(ln a − ln b), L(a, a) = a, for a, b > 0."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / np.log1p((a - b) / b)  # log1p keeps ln(a/b) accurate near a = b
    return np.where(a == b, a, out)


def lmdi(value: np.ndarray, benchmark: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """Return the LMDI-I effect of each factor: L(V, V_b) × ln(ratio_k).

    Parameters
    ----------
    value, benchmark : numpy.ndarray
        V and V_b, shape (n,), above 0.
    ratios : numpy.ndarray
        Shape (n, K): each factor's value over its benchmark, above 0, whose
        product along a row is V / V_b.

    Returns
    -------
    numpy.ndarray
        Shape (n, K), in the unit of V; each row adds up to V − V_b (to float precision).
    """
    return log_mean(value, benchmark)[:, None] * np.log(ratios)


def spend_decomposition(spend_gbp: np.ndarray, benchmark_spend_gbp: np.ndarray,
                        ratios: np.ndarray) -> dict[str, np.ndarray]:
    """Split each spend gap into access, intensity and price effects, in whole pence.

    Parameters
    ----------
    spend_gbp : numpy.ndarray
        Spend V per row, pounds, 0 or more.
    benchmark_spend_gbp : numpy.ndarray
        Benchmark spend V_b per row, pounds; NaN or 0 where there is no
        benchmark (those rows get NaN effects).
    ratios : numpy.ndarray
        Shape (n, 3): access, intensity and price over the benchmark's. A
        zero (or NaN from 0/0) access marks a row without patients; a zero
        price, a row with activity but no cost.

    Returns
    -------
    dict of str to numpy.ndarray
        The columns of :data:`DECOMPOSITION_COLUMNS`, pounds in whole pence;
        the three effects add up to ``gap_gbp`` exactly on every row with a
        benchmark.
    """
    spend = np.asarray(spend_gbp, dtype=float)
    bench = np.asarray(benchmark_spend_gbp, dtype=float)
    ratios = np.asarray(ratios, dtype=float)
    n = len(spend)
    has_benchmark = np.isfinite(bench) & (bench > 0)
    spend_p = np.asarray(round_pence(spend)).astype(np.int64)
    effects = np.full((n, 3), np.nan)
    no_patients = has_benchmark & ~(ratios[:, 0] > 0)
    no_cost = has_benchmark & ~no_patients & ~(ratios[:, 2] > 0)
    regular = has_benchmark & ~no_patients & ~no_cost
    effects[regular] = lmdi(spend[regular], bench[regular], ratios[regular])
    gap = np.where(has_benchmark, spend - np.where(has_benchmark, bench, 0.0), 0.0)
    for rows, factor in ((no_patients, 0), (no_cost, 2)):  # Ang & Liu's limit for a zero
        effects[rows] = 0.0
        effects[rows, factor] = gap[rows]
    gap_p = np.asarray(round_pence(gap)).astype(np.int64)
    rounded = np.full((n, 3), np.nan)
    if has_benchmark.any():
        rounded[has_benchmark] = largest_remainder_rows(effects[has_benchmark] * 100.0,
                                                        gap_p[has_benchmark]) / 100.0
    return {
        "spend_gbp": spend_p / 100.0,
        "benchmark_spend_gbp": np.where(has_benchmark, (spend_p - gap_p) / 100.0, np.nan),
        "gap_gbp": np.where(has_benchmark, gap_p / 100.0, np.nan),
        "access_effect_gbp": rounded[:, 0],
        "intensity_effect_gbp": rounded[:, 1],
        "price_effect_gbp": rounded[:, 2],
    }
