"""Benchmark what-if: a sweep against fresh runs, and what drives each party's risk.

Prints (targets from the what-if issue):
- a 50-value sweep of pace_of_change.min_growth on the demo (Model.sweep: inputs read
  and validated once) against 50 independent Model.from_toml(...).with_values(...).run()
  calls in the same run: ratio (target >= 5), and a check that the two agree exactly;
- Sobol indices (first-order and total) for the MSK agreement with 10,000 base samples:
  seconds (target < 30 s).

Run: .venv/bin/python bench/scenarios.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

# Run as `python bench/scenarios.py`, this folder comes first on sys.path, where
# bench/risk_share.py would shadow the package: drop it before importing.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

from capitation import Model  # noqa: E402
from capitation.comparison import headlines  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "models" / "demo.toml"
AGREEMENT = ROOT / "models" / "msk_agreement.toml"
OUTTURN = ROOT / "models" / "msk_outturn.csv"
KEY = "pace_of_change.min_growth"
VALUES = [float(v) for v in np.linspace(0.0, 0.03, 50)]
SOBOL_SAMPLES = 10_000


def bench_sweep() -> None:
    started = time.perf_counter()
    frame = Model.from_toml(DEMO).sweep(KEY, VALUES)
    sweep_seconds = time.perf_counter() - started

    started = time.perf_counter()
    fresh = [headlines(Model.from_toml(DEMO).with_values({KEY: v}).run()) for v in VALUES]
    fresh_seconds = time.perf_counter() - started

    same = all(frame.loc[v].to_dict() == f for v, f in zip(VALUES, fresh, strict=True))
    print(f"sweep of {KEY}, {len(VALUES)} values on the demo: {sweep_seconds:.2f} s "
          f"({sweep_seconds / len(VALUES) * 1000:.0f} ms a value)")
    print(f"{len(VALUES)} fresh runs: {fresh_seconds:.2f} s "
          f"({fresh_seconds / len(VALUES) * 1000:.0f} ms a run)")
    print(f"ratio fresh / sweep: {fresh_seconds / sweep_seconds:.1f}x (target >= 5x); "
          f"identical headline figures: {same}")


def bench_sobol() -> None:
    import risk_share

    agreement = risk_share.Agreement.from_toml(AGREEMENT)
    for correlation in (0.0, 0.2):
        simulation = agreement.simulate(OUTTURN, n=1_000, cv=0.05, correlation=correlation,
                                        seed=2026)
        started = time.perf_counter()
        result = simulation.sensitivity(n=SOBOL_SAMPLES, seed=1)
        seconds = time.perf_counter() - started
        lines = result.sobol.index.get_level_values("line").nunique()
        runs = SOBOL_SAMPLES * (lines + 2) if correlation == 0 else SOBOL_SAMPLES * 6 * lines
        print(f"sensitivity of the MSK agreement, correlation {correlation:g} ({lines} varying "
              f"lines, {SOBOL_SAMPLES:,} base samples, {runs:,} settlements): {seconds:.2f} s "
              "(target < 30 s)")


def main() -> None:
    bench_sweep()
    bench_sobol()


if __name__ == "__main__":
    main()
