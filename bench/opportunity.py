"""Benchmark: needs versus use for 6,348 practices × 4 services (printed, never asserted).

Times the whole analysis on a SYNTHETIC activity table (two providers per
service, about 51,000 rows): validating the table, expected activity from the
weighted population, standardised ratios with exact Poisson intervals, a
funnel plot per service (log scale, truncation, overdispersion), Mahalanobis
peers (similar 10) over three need indicators, benchmarks, the opportunity in
activity and pounds, the summary and the LMDI decomposition. Against it, in
the same run: the ratios alone in pandas (group, share the weighted
population, divide). Target: under 5 s.

    .venv/bin/python bench/opportunity.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from capitation import Component, NeedsFormula, Population, allocate
from capitation.opportunity import (
    expected_by_weighted_population,
    read_activity,
    value_opportunity,
)

N_PRACTICES = 6_348  # GP practices in England's 2025/26 weighted population file
SERVICES = {  # service: (activity per weighted person a year, £ per activity), illustrative
    "emergency_admissions": (0.09, 2_200.0),
    "elective_inpatient": (0.03, 4_000.0),
    "outpatient_first": (0.30, 180.0),
    "a_and_e": (0.40, 170.0),
}
PROVIDERS = ("Trust A", "Trust B")
REPEATS = 3


def make_inputs(seed: int = 2025) -> tuple[Population, pd.Series, pd.DataFrame, pd.DataFrame]:
    """Population, weighted population, synthetic activity rows and need indicators."""
    rng = np.random.default_rng(seed)
    population = Population.synthetic(N_PRACTICES, seed=seed)
    formula = NeedsFormula((Component("core", share=1.0, blend={"Final WP": 1.0}),))
    practices = allocate(population, formula, envelope_gbp=1_000_000_000).table("practice")
    weighted = practices["weighted_population"]
    n = N_PRACTICES
    rows = []
    for service, (rate, price) in SERVICES.items():
        for provider in PROVIDERS:
            use = rng.poisson(weighted.to_numpy() * rate / len(PROVIDERS)
                              * rng.gamma(12, 1 / 12, n))
            patients = np.where(use > 0, np.maximum(1, rng.binomial(use, 0.75)), 0)
            rows.append(pd.DataFrame({
                "practice": weighted.index, "service": service, "provider": provider,
                "activity": use, "patients": patients,
                "cost_gbp": use * price * rng.gamma(30, 1 / 30, n)}))
    activity = pd.concat(rows, ignore_index=True)
    indicators = pd.DataFrame({
        "need_index": practices["need_index"],
        "share_over_65": rng.beta(4, 20, n),
        "deprivation": rng.gamma(4, 5, n),
    })
    return population, weighted, activity, indicators


def run_toolkit(population: Population, weighted: pd.Series, rows: pd.DataFrame,
                indicators: pd.DataFrame) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    activity = read_activity(rows, practices=population)
    times["validate"] = time.perf_counter() - start
    observed = activity.table("activity", population.codes)
    expected = expected_by_weighted_population(observed, weighted)
    times["expected"] = time.perf_counter() - start - sum(times.values())
    result = value_opportunity(activity, expected, indicators, similar=10, best=5)
    times["ratios, funnels, peers, opportunity"] = (time.perf_counter() - start
                                                    - sum(times.values()))
    result.summary()
    result.decomposition()
    times["summary and decomposition"] = time.perf_counter() - start - sum(times.values())
    times["total"] = time.perf_counter() - start
    return times


def run_pandas(weighted: pd.Series, rows: pd.DataFrame) -> float:
    start = time.perf_counter()
    observed = rows.groupby(["practice", "service"])["activity"].sum().unstack("service")
    share = weighted.reindex(observed.index) / weighted.sum()
    expected = share.to_numpy()[:, None] * observed.sum().to_numpy()[None, :]
    ratio = observed / expected
    assert ratio.shape == (N_PRACTICES, len(SERVICES))
    return time.perf_counter() - start


def main() -> None:
    population, weighted, rows, indicators = make_inputs()
    print(f"{N_PRACTICES:,} practices × {len(SERVICES)} services, {len(rows):,} activity rows "
          "(SYNTHETIC)")
    best: dict[str, float] = {}
    for _ in range(REPEATS):
        times = run_toolkit(population, weighted, rows, indicators)
        best = times if not best or times["total"] < best["total"] else best
    baseline = min(run_pandas(weighted, rows) for _ in range(REPEATS))
    for step, seconds in best.items():
        print(f"  {step:<40} {seconds:8.3f} s")
    print(f"  {'ratios alone in pandas':<40} {baseline:8.3f} s")
    print(f"ratio (toolkit / pandas ratios alone): {best['total'] / baseline:,.1f}; "
          f"target under 5 s: {'met' if best['total'] < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
