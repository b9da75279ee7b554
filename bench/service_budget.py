"""Benchmark: capitated service budget, 50,000 lines × 5 years (printed, never asserted).

Times validated inputs → ``build_budget(inputs).budget_lines`` and its peak
memory (tracemalloc), against a baseline in the same run: the same
arithmetic of docs/methods/service-budget.md#definitions written straight in numpy, building the
same long
DataFrame. Target: ratio ≤ 3.

    .venv/bin/python bench/service_budget.py
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from capitation.service_budget.budget import BUDGET_LINE_COLUMNS, ServiceBudgetInputs, build_budget

N_LINES = 50_000
YEARS = ("2017/18", "2018/19", "2019/20", "2020/21", "2021/22")
REPEATS = 3


def make_inputs(seed: int = 2017) -> ServiceBudgetInputs:
    rng = np.random.default_rng(seed)
    n = N_LINES
    fixed = rng.integers(0, 60, n) / 100
    semi = rng.integers(0, 40, n) / 100
    lines = pd.DataFrame(
        {
            "provider": rng.choice(["Acute trust", "Community MSK", "GP federation"], n),
            "pod": [f"POD {i}" for i in range(n)],
            "activity": rng.integers(0, 50_000, n).astype(float),
            "price_gbp": rng.integers(100, 800_000, n) / 100,
            "fixed": fixed,
            "semi_fixed": semi,
            "variable": 1.0 - fixed - semi,
            "fixed_release_years": rng.integers(0, 5, n).astype(float),
            "semi_fixed_release_years": rng.integers(0, 3, n).astype(float),
        }
    )
    change = np.cumsum(-rng.integers(0, 10, (n, len(YEARS))) / 100, axis=1)
    return ServiceBudgetInputs(
        name="bench",
        baseline_year="2016/17",
        years=YEARS,
        growth=0.01,
        price_uplift=np.array([0.02, 0.015, 0.015, 0.01, 0.01]),
        stranded_support=np.array([1.0, 0.75, 0.5, 0.25, 0.0]),
        lines=lines,
        activity_change=pd.DataFrame(change, columns=list(YEARS)),
    )


def _r_pence(x: np.ndarray) -> np.ndarray:
    """R(x) in pence: snap × 100 to 6 decimals or 15 significant digits, halves away from zero."""
    pence = x * 100.0
    magnitude = np.abs(pence)
    digits = np.where(magnitude >= 1, np.floor(np.log10(np.maximum(magnitude, 1))) + 1, 0)
    scale = 10.0 ** np.clip(15 - digits, 0, 6)
    snapped = np.round(pence * scale) / scale
    return (np.sign(snapped) * np.floor(np.abs(snapped) + 0.5)).astype(np.int64)


def baseline(inputs: ServiceBudgetInputs) -> pd.DataFrame:
    """The service budget's definitions in plain numpy, then the same long DataFrame.

    No new services. Method: docs/methods/service-budget.md#definitions.
    """
    lines = inputs.lines
    n, n_years = len(lines), len(inputs.years)
    y = np.arange(1, n_years + 1, dtype=float)
    g = (1.0 + inputs.growth) ** y
    pf = np.cumprod(1.0 + inputs.price_uplift)
    a = lines["activity"].to_numpy(float)
    p = lines["price_gbp"].to_numpy(float)
    c = inputs.activity_change.to_numpy(float)
    grown = a[:, None] * g
    planned = grown * (1 + c)
    price = p[:, None] * pf
    base_p = np.broadcast_to(_r_pence(a * p)[:, None], grown.shape)
    grown_p = _r_pence(grown * p[:, None])
    repriced_p = _r_pence(grown * price)
    planned_p = _r_pence(planned * price)
    removed_p = np.maximum(0, repriced_p - planned_p)
    f, sf, v = (lines[k].to_numpy(float)[:, None] for k in ("fixed", "semi_fixed", "variable"))
    rf_, rsf = (
        lines[k].to_numpy(float)[:, None]
        for k in ("fixed_release_years", "semi_fixed_release_years")
    )
    r_f = np.where(rf_ == 0, 1.0, np.minimum(1.0, y / np.where(rf_ == 0, 1.0, rf_)))
    r_sf = np.where(rsf == 0, 1.0, np.minimum(1.0, y / np.where(rsf == 0, 1.0, rsf)))
    frac = np.minimum(1.0, v + sf * r_sf + f * r_f)
    released_p = np.minimum(_r_pence(removed_p / 100.0 * frac), removed_p)
    stranded_p = removed_p - released_p
    support_p = _r_pence(stranded_p / 100.0 * inputs.stranded_support)
    budget_p = planned_p + support_p

    def long(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x.T).reshape(-1)

    def tile(x: np.ndarray) -> np.ndarray:
        return np.tile(np.asarray(x), n_years)

    def rep(x: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(x), n)

    data = {
        "provider": tile(lines["provider"].to_numpy(object)),
        "pod": tile(lines["pod"].to_numpy(object)),
        "year": rep(np.array(inputs.years, dtype=object)),
        "grown_activity": long(grown),
        "planned_activity": long(planned),
        "price_gbp": long(price),
        "planned_value_gbp": long(planned_p / 100),
        "removed_value_gbp": long(removed_p / 100),
        "released_cost_gbp": long(released_p / 100),
        "stranded_cost_gbp": long(stranded_p / 100),
        "support_gbp": long(support_p / 100),
        "budget_gbp": long(budget_p / 100),
        "kind": tile(np.full(n, "line", dtype=object)),
        "year_number": rep(y.astype(np.int64)),
        "baseline_activity": tile(a),
        "baseline_price_gbp": tile(p),
        "growth_factor": rep(g),
        "price_factor": rep(pf),
        "activity_change": long(c),
        "baseline_value_gbp": long(base_p / 100),
        "grown_value_gbp": long(grown_p / 100),
        "repriced_value_gbp": long(repriced_p / 100),
        "fixed": tile(f[:, 0]),
        "semi_fixed": tile(sf[:, 0]),
        "variable": tile(v[:, 0]),
        "fixed_release_years": tile(rf_[:, 0]),
        "semi_fixed_release_years": tile(rsf[:, 0]),
        "release_fraction": long(frac),
        "stranded_support": rep(inputs.stranded_support),
    }
    return pd.DataFrame(data, columns=list(BUDGET_LINE_COLUMNS))


def measure(run) -> tuple[float, float, pd.DataFrame]:
    """Best wall time of REPEATS runs (s), and peak traced memory of one run (MiB)."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    out = run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, out


def main() -> None:
    inputs = make_inputs()
    ours_s, ours_mib, ours = measure(lambda: build_budget(inputs).budget_lines)
    base_s, base_mib, base = measure(lambda: baseline(inputs))
    same = ours.equals(base)  # the same table, or the comparison means nothing
    rows = len(ours)
    print(f"service budget: {N_LINES:,} lines x {len(YEARS)} years = {rows:,} rows of budget_lines")
    print(f"  build_budget(inputs).budget_lines : {ours_s:7.3f} s   peak {ours_mib:8.1f} MiB")
    print(f"  plain numpy baseline (same frame) : {base_s:7.3f} s   peak {base_mib:8.1f} MiB")
    print(f"  same budget_lines as the baseline: {same}")
    print(f"  ratio time {ours_s / base_s:.2f}  memory {ours_mib / base_mib:.2f}  (target <= 3)")


if __name__ == "__main__":
    main()
