"""Released and stranded cost, and the support that tapers it.

Method: docs/methods/service-budget.md#definitions.

When planned activity leaves a provider, the value removed is not all saved at
once: variable cost goes at once, semi-fixed and fixed cost go over their
release periods. What has not been released yet is stranded, and the
commissioner funds a fraction of it each year (``stranded_support``), a
fraction that usually tapers to zero.

    release_fraction = v + sf × r(y, R_sf) + f × r(y, R_f)
    r(y, R)          = 1 if R = 0 else min(1, y / R)
    released_cost    = R(removed_value × release_fraction)
    stranded_cost    = removed_value − released_cost
    support          = R(stranded_cost × stranded_support_y)

All money here is whole pence (int64); arrays are lines × years.
"""

from __future__ import annotations

import numpy as np

from capitation.rounding import round_pence

__all__ = ["release_fraction", "released_pence", "support_pence"]


def _released_share(year_number: np.ndarray, release_years: np.ndarray) -> np.ndarray:
    """r(y, R): 1 when R = 0, else min(1, y / R); shape lines × years."""
    periods = np.asarray(release_years, dtype=float)[:, None]
    years = np.asarray(year_number, dtype=float)[None, :]
    at_once = periods == 0
    safe = np.where(at_once, 1.0, periods)
    return np.where(at_once, 1.0, np.minimum(1.0, years / safe))


def release_fraction(
    year_number: np.ndarray,
    fixed: np.ndarray,
    semi_fixed: np.ndarray,
    variable: np.ndarray,
    fixed_release_years: np.ndarray,
    semi_fixed_release_years: np.ndarray,
) -> np.ndarray:
    """Fraction of removed value that a provider has released by each budget year.

    ``v + sf × r(y, R_sf) + f × r(y, R_f)``, capped at 1 (cost shares may sum
    to 1 within 1e-9, and no provider releases more than it loses).

    Parameters
    ----------
    year_number : numpy.ndarray
        Budget year numbers 1..Y (year 1 is the first year after the baseline), shape (Y,).
    fixed, semi_fixed, variable : numpy.ndarray
        Cost shares per line (fractions summing to 1), shape (n,).
    fixed_release_years, semi_fixed_release_years : numpy.ndarray
        Years to release fixed and semi-fixed cost, counted from the first
        budget year; 0 means at once. Shape (n,).

    Returns
    -------
    numpy.ndarray
        Release fractions in [0, 1], shape (n, Y).
    """
    variable = np.asarray(variable, dtype=float)[:, None]
    semi_fixed = np.asarray(semi_fixed, dtype=float)[:, None]
    fixed = np.asarray(fixed, dtype=float)[:, None]
    fraction = (
        variable
        + semi_fixed * _released_share(year_number, semi_fixed_release_years)
        + fixed * _released_share(year_number, fixed_release_years)
    )
    return np.minimum(1.0, fraction)


def released_pence(removed_pence: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Released cost R(removed_value × release_fraction), in whole pence.

    Parameters
    ----------
    removed_pence : numpy.ndarray
        Removed value in whole pence (int64, ≥ 0), shape (n, Y).
    fraction : numpy.ndarray
        Release fractions in [0, 1], shape (n, Y).

    Returns
    -------
    numpy.ndarray
        Released cost in whole pence (int64), never above ``removed_pence``.
    """
    released = np.asarray(round_pence(np.asarray(removed_pence) / 100.0 * fraction,
                                      "service budget: a line's released cost"))
    return np.minimum(released.astype(np.int64), removed_pence)


def support_pence(stranded_pence: np.ndarray, stranded_support: np.ndarray) -> np.ndarray:
    """Stranded-cost support R(stranded_cost × stranded_support_y), in whole pence.

    Parameters
    ----------
    stranded_pence : numpy.ndarray
        Stranded cost in whole pence (int64), shape (n, Y).
    stranded_support : numpy.ndarray
        Fraction of stranded cost funded in each year, in [0, 1], shape (Y,).

    Returns
    -------
    numpy.ndarray
        Support in whole pence (int64), shape (n, Y).
    """
    share = np.asarray(stranded_support, dtype=float)[None, :]
    return np.asarray(round_pence(np.asarray(stranded_pence) / 100.0 * share,
                                  "service budget: a line's stranded-cost support")
                      ).astype(np.int64)
