"""Benchmark risk_share: vectorised pool sharing against the scalar path, and calibration.

Prints (targets from the risk_share issue):
- sharing 100,000 scenarios x 20 parties x 4 bands a side, vectorised, against a loop over
  scenarios calling the scalar path (1,000 timed and scaled to 100,000): ratio >= 100;
- peak memory of the vectorised share (tracemalloc): < 1 GB;
- calibration on 10,000 scenarios x 5 parties, every party with an appetite: < 10 s.

Run: .venv/bin/python bench/risk_share.py
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from risk_share import Agreement

# This script is named like the package: run as `python bench/risk_share.py`, its folder comes
# first on sys.path and would shadow the package. Drop it before importing risk_share.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

N_SCENARIOS = 100_000
N_SCALAR = 1_000
N_PARTIES = 20
N_BANDS = 4


def big_agreement(rng: np.random.Generator) -> Agreement:
    from risk_share import Agreement

    names = [f"Party {i:02d}" for i in range(N_PARTIES)]

    def bands() -> list[dict]:
        out = []
        for k, upto in enumerate([0.01, 0.03, 0.06, None]):
            weights = rng.integers(1, 10, N_PARTIES).astype(float)
            weights[: k + 1] += 20  # the first parties carry more of the early bands
            shares = dict(zip(names, (weights / weights.sum()).tolist(), strict=True))
            out.append({"shares": shares} if upto is None else {"upto": upto, "shares": shares})
        return out

    parties = [{"name": n} for n in names]
    for i in range(1, N_PARTIES, 3):  # caps and collars on every third party
        parties[i]["max_loss"] = 0.002
        parties[i]["max_gain"] = 0.003
    return Agreement.from_dict(
        {
            "agreement": {"name": "bench", "year": "2018/19", "commissioner": names[0]},
            "party": parties,
            "pool": {
                "budget_gbp": 500_000_000,
                "mode": "corridor",
                "loss_band": bands(),
                "gain_band": bands(),
            },
        }
    )


def bench_share() -> None:
    from risk_share.pool import pool_terms, share_pence, share_pence_scalar

    rng = np.random.default_rng(2026)
    agreement = big_agreement(rng)
    terms = pool_terms(agreement)
    variance = (rng.normal(0.0, 0.04, N_SCENARIOS) * 500_000_000 * 100).astype(np.int64)

    runs = []
    for _ in range(4):  # the first call pays one-off costs (page faults, lazy set-up)
        started = time.perf_counter()
        vectorised = share_pence(terms, variance)
        runs.append(time.perf_counter() - started)
    first_seconds, vector_seconds = runs[0], min(runs[1:])

    started = time.perf_counter()
    scalar = [share_pence_scalar(terms, int(v)) for v in variance[:N_SCALAR]]
    scalar_seconds = (time.perf_counter() - started) * N_SCENARIOS / N_SCALAR
    assert vectorised[:N_SCALAR].tolist() == scalar, "scalar and vectorised paths disagree"

    started = time.perf_counter()
    for v in variance[:N_SCALAR] / 100.0:
        agreement.share(float(v))
    public_seconds = (time.perf_counter() - started) * N_SCENARIOS / N_SCALAR

    tracemalloc.start()
    share_pence(terms, variance)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    ratio = scalar_seconds / vector_seconds
    print(f"share {N_SCENARIOS:,} scenarios x {N_PARTIES} parties x {N_BANDS} bands a side")
    print(
        f"  vectorised share_pence: best of 3 {vector_seconds:.3f} s "
        f"(first call {first_seconds:.3f} s)"
    )
    print(
        f"  loop over share_pence_scalar (1,000 scaled): {scalar_seconds:.2f} s, "
        f"ratio {ratio:,.0f}x (target >= 100) {'OK' if ratio >= 100 else 'MISSED'}; "
        f"against the first call {scalar_seconds / first_seconds:,.0f}x"
    )
    print(
        f"  loop over Agreement.share(float) (1,000 scaled): {public_seconds:.2f} s, "
        f"ratio {public_seconds / vector_seconds:,.0f}x"
    )
    print(
        f"  peak memory (tracemalloc): {peak / 2**20:,.0f} MiB (target < 1 GB) "
        f"{'OK' if peak < 2**30 else 'MISSED'}"
    )


def bench_calibration() -> None:
    from risk_share import Agreement, Simulation, calibrate
    from risk_share.calibration import build_model, calibration_data, solve_model

    rng = np.random.default_rng(7)
    n, names = 10_000, ["ICB", "Acute", "Community", "Mental health", "GP federation"]
    influence = [0.3, 0.3, 0.2, 0.1, 0.1]
    shares = dict(zip(names, influence, strict=True))
    agreement = Agreement.from_dict(
        {
            "agreement": {"name": "bench", "year": "2018/19", "commissioner": "ICB"},
            "party": [{"name": p, "influence": i} for p, i in shares.items()],
            "pool": {
                "budget_gbp": 200_000_000,
                "mode": "corridor",
                "loss_band": [{"upto": 0.005, "shares": {"ICB": 1.0}}, {"shares": shares}],
                "gain_band": [{"shares": shares}],
            },
        }
    )
    variance = rng.normal(1_000_000, 3_000_000, n)
    kept = np.column_stack([np.zeros(n), rng.normal(0, 200_000, (n, 4))])
    simulation = Simulation.from_variances(agreement, variance, kept)
    before = simulation.summary()["cvar95_gbp"]
    appetite = {p: float(0.8 * before[p]) if p != "ICB" else float(1.5 * before[p]) for p in names}

    started = time.perf_counter()
    data = calibration_data(agreement, simulation, appetite)
    model = build_model(data)
    built = time.perf_counter()
    solve_model(model)
    solved = time.perf_counter()

    started_all = time.perf_counter()
    calibrated = calibrate(agreement, simulation, appetite)
    seconds = time.perf_counter() - started_all
    print(f"calibrate {n:,} scenarios x {len(names)} parties, every party with an appetite")
    print(f"  LP build {built - started:.2f} s, solve {solved - built:.2f} s")
    print(
        f"  calibrate end to end: {seconds:.2f} s (target < 10 s) "
        f"{'OK' if seconds < 10 else 'MISSED'}"
    )
    print(
        "  shares: " + ", ".join(f"{p} {w:.4f}" for p, w in calibrated.calibration["share"].items())
    )


if __name__ == "__main__":
    bench_share()
    bench_calibration()
