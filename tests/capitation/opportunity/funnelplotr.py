"""FunnelPlotR's computations, translated line by line from R (a test-only reference).

Source: FunnelPlotR 0.6.0 (NHS-R Community, MIT licence),
github.com/nhs-r-community/FunnelPlotR at commit 9020d49: R/funnel_plot.R,
R/od_adjustment.R (transformed_zscore, winsorisation, truncation, phi_func,
tau_func), R/build_limits_lookup.R, R/calculate_limits.R and
R/outliers_func.R. R is not available where the tests run, so the R code is
translated here as literally as Python allows and kept apart from the
package's own implementation, which is written from Spiegelhalter (2005).
Each function names the R function it translates; R's ``quantile`` (type 7)
is numpy's default ``linear``, R's ``rank(ties.method = "average")`` is
scipy's ``rankdata``, and R's ``seq(a, b, length.out = n)`` is computed as R
does, ``a + (0:(n-1)) * by`` with ``by = (b - a)/(n - 1)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2, rankdata

Z95 = 1.959964  # FunnelPlotR hard-codes these quantiles
Z998 = 3.090232


def transformed_zscore(numerator, denominator, data_type="SR", sr_method="SHMI"):
    """R/od_adjustment.R, transformed_zscore: returns (Y, s, target_transformed, Uzscore)."""
    if data_type == "SR" and sr_method == "SHMI":
        target_transformed = 0.0
        y = np.log(numerator / denominator)
        s = 1 / np.sqrt(denominator)
    elif data_type == "SR" and sr_method == "CQC":
        target_transformed = 1.0
        y = np.sqrt(numerator / denominator)
        s = 1 / (2 * np.sqrt(denominator))
    elif data_type == "PR":
        target_transformed = math.asin(math.sqrt(numerator.sum() / denominator.sum()))
        y = np.arcsin(np.sqrt(numerator / denominator))
        s = 1 / (2 * np.sqrt(denominator))
    else:
        raise ValueError(data_type)
    if data_type == "SR" and sr_method == "SHMI":
        uzscore = np.sqrt(denominator) * np.log(numerator / denominator)
    else:
        uzscore = (y - target_transformed) / s
    return y, s, target_transformed, uzscore


def winsorisation(uzscore, trim_by=0.1):
    """R/od_adjustment.R, winsorisation: the winsorised z-scores (none dropped)."""
    lz = np.quantile(uzscore, trim_by)
    uz = np.quantile(uzscore, 1 - trim_by)
    return np.where(uzscore < lz, lz, np.where(uzscore > uz, uz, uzscore))


def truncation(uzscore, trim_by=0.1):
    """R/od_adjustment.R, truncation: z-scores with truncated ones as NaN (R's NA)."""
    k = 1 / trim_by
    maxk = k - 1
    mink = min([k / k]) - 1  # R: min(k / k) - 1, which is 0
    rk = rankdata(uzscore, method="average")
    sp = np.floor(rk * k / (len(rk) + 1))
    truncated = np.where((sp > mink) & (sp < maxk), 0, 1)
    return np.where(truncated == 1, np.nan, uzscore)


def phi_func(n, zscores):
    """R/od_adjustment.R, phi_func."""
    return (1 / n) * np.sum(zscores**2)


def tau_func(n, phi, s):
    """R/od_adjustment.R, tau_func."""
    if len(s) == 0:
        return 0.0
    if (n * phi) < (n - 1):
        return 0.0
    return max(0.0, ((n * phi) - (n - 1))
               / (np.sum(1 / s**2) - (np.sum((1 / s**2) ** 2) / np.sum(1 / s**2))))


def calculate_limits(number_seq, data_type, sr_method, tau2, target, draw_adjusted):
    """R/calculate_limits.R, calculate_limits (multiplier 1): ll95, ul95, ll998, ul998."""
    n = np.asarray(number_seq, dtype=float)
    tau2 = tau2 if draw_adjusted else 0.0
    if data_type == "SR":
        if not draw_adjusted:
            # qchisq(p, df, lower.tail = FALSE) is the upper-tail quantile: chi2.isf.
            return (target * (chi2.isf(0.975, 2 * n) / 2) / n,
                    target * (chi2.isf(0.025, 2 * (n + 1)) / 2) / n,
                    target * (chi2.isf(0.999, 2 * n) / 2) / n,
                    target * (chi2.isf(0.001, 2 * (n + 1)) / 2) / n)
        if sr_method == "SHMI":
            return (np.exp(-Z95 * np.sqrt((1 / n) + tau2)),
                    np.exp(Z95 * np.sqrt((1 / n) + tau2)),
                    np.exp(-Z998 * np.sqrt((1 / n) + tau2)),
                    np.exp(Z998 * np.sqrt((1 / n) + tau2)))
        s = 1 / (2 * np.sqrt(n))
        return (1 - (Z95 * np.sqrt(s**2 + tau2)), 1 + (Z95 * np.sqrt(s**2 + tau2)),
                1 - (Z998 * np.sqrt(s**2 + tau2)), 1 + (Z998 * np.sqrt(s**2 + tau2)))
    s = 1 / (2 * np.sqrt(n))
    theta = math.asin(math.sqrt(target))
    limits = [np.sin(theta - Z95 * np.sqrt(s**2 + tau2)) ** 2,
              np.sin(theta + Z95 * np.sqrt(s**2 + tau2)) ** 2,
              np.sin(theta - Z998 * np.sqrt(s**2 + tau2)) ** 2,
              np.sin(theta + Z998 * np.sqrt(s**2 + tau2)) ** 2]
    for i, (bound, low) in enumerate(zip(limits, (True, False, True, False), strict=True)):
        bound = np.where(bound < 0, 0, bound) if low else np.where(bound > 1, 1, bound)
        # "Arcsine trans at low denominators may not be monotonic, truncate if occurs"
        head, tail = bound[:-1], bound[1:]
        if low:
            bound = np.concatenate([np.where(head > tail, 0, head), bound[-1:]])
        else:
            bound = np.concatenate([np.where(head < tail, 1, head), bound[-1:]])
        limits[i] = bound
    return tuple(limits)


def build_limits_lookup(max_x, draw_adjusted, tau2, data_type, sr_method, target, denominators):
    """R/build_limits_lookup.R: limits on a grid of 1,000 points plus the data's denominators."""
    start = 1.1 if data_type == "SR" else 3.0
    by = (max_x - start) / (1000 - 1)
    number_seq = start + np.arange(1000) * by
    number_seq = np.unique(np.concatenate([number_seq, denominators]))  # sort(unique(c(...)))
    od = calculate_limits(number_seq, data_type, sr_method, tau2, target, draw_adjusted=True)
    poisson = calculate_limits(number_seq, data_type, sr_method, tau2, target,
                               draw_adjusted=False)
    return number_seq, od, poisson


def funnel_plot(numerator, denominator, data_type="SR", sr_method="SHMI", trim_by=0.1,
                draw_adjusted=True, shmi_rounding=True):
    """R/funnel_plot.R, funnel_plot, without the drawing: phi, tau2, limits and outliers.

    Returns a dict: ``phi``, ``tau2``, ``draw_adjusted`` (after the φ ≤ 1
    fallback), ``limits`` (ll95, ul95, ll998, ul998 at each unit, the ones the
    outliers are judged by) and ``outlier95``, ``outlier99`` (0/1 per unit,
    outliers_func with limit 95 and 99).
    """
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    rr = numerator / denominator  # aggregate_func, before any rounding
    if data_type == "SR" and sr_method == "SHMI" and shmi_rounding:
        denominator = np.round(denominator, 2)
    target = 1.0 if data_type == "SR" else numerator.sum() / denominator.sum()
    _, s, _, uzscore = transformed_zscore(numerator, denominator, data_type, sr_method)
    if data_type == "SR" and sr_method == "SHMI":
        wuzscore = truncation(uzscore, trim_by)
    else:
        wuzscore = winsorisation(uzscore, trim_by)
    kept = ~np.isnan(wuzscore)
    n = float(kept.sum())
    phi = phi_func(n, wuzscore[kept])
    tau2 = tau_func(n, phi, s[kept])
    if not draw_adjusted:
        phi, tau2 = 0.0, 0.0
    if draw_adjusted and phi <= 1:
        draw_adjusted = False
    max_x = float(math.ceil(denominator.max()))
    grid, od, poisson = build_limits_lookup(max_x, draw_adjusted, tau2, data_type, sr_method,
                                            target, denominator)
    at = np.searchsorted(grid, denominator)  # merge(..., by.x = "denominator")
    chosen = od if draw_adjusted else poisson
    limits = tuple(bound[at] for bound in chosen)
    ll95, ul95, ll998, ul998 = limits
    return {
        "phi": phi,
        "tau2": tau2,
        "draw_adjusted": draw_adjusted,
        "limits": limits,
        "outlier95": np.where((rr <= ul95) & (rr >= ll95), 0, 1),
        "outlier99": np.where((rr <= ul998) & (rr >= ll998), 0, 1),
    }
