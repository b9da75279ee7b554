"""Benchmark ``risk_share.simulate``: time and peak memory, stepped against all at once.

Printed, never asserted. A synthetic agreement of PARTIES parties (a commissioner
and providers, each provider with marginal rates on all its lines) and LINES plan
lines (5% fixed), correlation 0.2 between the varying lines, seed 2026. Each run
is a fresh subprocess, so its peak resident memory (``ru_maxrss``) is its own;
the figure printed is the growth of the peak during ``simulate`` and
``summary()``, past what the interpreter, the imports and the inputs took.

- baseline: the same engine made to settle every scenario in one step (its step
  limits raised), which holds all scenarios × lines at once as the engine did
  before it worked in steps; on SMALL scenarios, then scaled by LARGE / SMALL
  (its memory and time grow in proportion);
- stepped on SMALL scenarios: same case, same seed; the results must be identical;
- stepped on LARGE scenarios.

Targets: the stepped peak stays near the results' size ((2 × parties + 1) × 8
bytes a scenario, doubled for a moment by ``summary()``) plus a few hundred MiB,
and its time per scenario is no worse than the baseline's.

Run: .venv/bin/python bench/simulate.py [LINES PARTIES LARGE SMALL]
(default 2000 50 200000 10000: about fifteen minutes on two cores; the baseline
holds some 3 GiB)
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from risk_share import Agreement

# Run as `python bench/simulate.py`, this folder comes first on sys.path and its
# risk_share.py would shadow the package: drop it before importing risk_share.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

SEED = 2026
CORRELATION = 0.2
CV = 0.05


def case(n_lines: int, n_parties: int) -> tuple[Agreement, pd.DataFrame]:
    """A commissioner and providers with rates on all their lines; lines spread at random."""
    from risk_share import Agreement

    rng = np.random.default_rng(SEED)
    names = ["ICB"] + [f"Provider {i:03d}" for i in range(1, n_parties)]
    weights = rng.integers(1, 10, n_parties).astype(float)
    shares = dict(zip(names, (weights / weights.sum()).tolist(), strict=True))
    agreement = Agreement.from_dict(
        {
            "agreement": {"name": "bench", "year": "2018/19", "commissioner": "ICB"},
            "party": [{"name": p} for p in names],
            "pool": {
                "budget_gbp": 2_000_000_000,
                "mode": "corridor",
                "loss_band": [{"upto": 0.01, "shares": {"ICB": 1.0}}, {"shares": shares}],
                "gain_band": [{"shares": shares}],
            },
            "marginal_rate": [
                {"party": p, "pod": "*", "above_plan": 0.2, "below_plan": 0.2, "tolerance": 0.02}
                for p in names[1:]
            ],
        }
    )
    party = np.concatenate([names, rng.choice(names, n_lines - n_parties)])  # each has a line
    lines = pd.DataFrame(
        {
            "party": party,
            "pod": [f"POD {i:05d}" for i in range(n_lines)],
            "planned_activity": rng.integers(100, 50_000, n_lines).astype(float),
            "price_gbp": rng.uniform(50, 5_000, n_lines).round(2),
            "fixed": rng.random(n_lines) < 0.05,
        }
    )
    return agreement, lines


def child(mode: str, n_lines: int, n_parties: int, n: int) -> None:
    """One measured run; prints a JSON line."""
    import risk_share.simulation as simulation

    agreement, lines = case(n_lines, n_parties)
    if mode == "baseline":  # one step of every scenario
        simulation.CHUNK = n
        simulation.CHUNK_BYTES = 2**62
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = agreement.simulate(lines, n=n, cv=CV, correlation=CORRELATION, seed=SEED)
    summary = result.summary()
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    digest = hashlib.sha256(result.positions.to_numpy().tobytes()).hexdigest()[:16]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": (peak_kib - before_kib) / 1024,
                "step": n if mode == "baseline" else simulation.step_size(len(lines)),
                "positions": digest,
                "summary": hashlib.sha256(summary.to_numpy().tobytes()).hexdigest()[:16],
            }
        )
    )


def measure(mode: str, n_lines: int, n_parties: int, n: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(n_lines), str(n_parties), str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(n_lines: int, n_parties: int, large: int, small: int) -> None:
    results_mib = (2 * n_parties + 1) * 8 / 2**20
    scale = large / small
    print(
        f"simulate {n_lines:,} lines x {n_parties} parties, correlation {CORRELATION}, "
        f"results {results_mib * 1024:,.1f} KiB a scenario"
    )
    base = measure("baseline", n_lines, n_parties, small)
    print(
        f"  baseline, one step of all {small:,} scenarios: {base['seconds']:.1f} s, "
        f"peak +{base['peak_mib']:,.0f} MiB"
    )
    stepped_small = measure("stepped", n_lines, n_parties, small)
    same = (stepped_small["positions"], stepped_small["summary"]) == (
        base["positions"],
        base["summary"],
    )
    print(
        f"  stepped ({stepped_small['step']:,} a step), {small:,} scenarios: "
        f"{stepped_small['seconds']:.1f} s, peak +{stepped_small['peak_mib']:,.0f} MiB; "
        f"positions and summary identical to the baseline: {'yes' if same else 'NO'}"
    )
    stepped = measure("stepped", n_lines, n_parties, large)
    base_seconds, base_mib = base["seconds"] * scale, base["peak_mib"] * scale
    print(
        f"  stepped, {large:,} scenarios: {stepped['seconds']:.1f} s, "
        f"peak +{stepped['peak_mib']:,.0f} MiB (its results {results_mib * large:,.0f} MiB)"
    )
    print(
        f"  baseline scaled to {large:,} (x{scale:g}): {base_seconds:.1f} s, "
        f"peak +{base_mib:,.0f} MiB"
    )
    print(
        f"  ratio baseline / stepped: memory {base_mib / stepped['peak_mib']:.1f}x, "
        f"time {base_seconds / stepped['seconds']:.2f}x "
        f"{'OK' if base_seconds >= stepped['seconds'] else 'SLOWER'}"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], *(int(a) for a in sys.argv[3:6]))
    else:
        sizes = [int(a) for a in sys.argv[1:5]] or [2_000, 50, 200_000, 10_000]
        main(*sizes)
