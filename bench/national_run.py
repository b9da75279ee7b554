"""Benchmark: the whole embedded national run, and the register path at national size.

Printed, never asserted. Target (issue 3): embedded run / baseline <= 3, under 1 GB.
Baseline, measured in the same run: pandas reading the same CSV plus xlsxwriter
writing a plain table the size of results.table("practice").
"""

from __future__ import annotations

import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import xlsxwriter

from capitation import Model

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "models" / "demo.toml"
CSV = ROOT / "capitation" / "data" / "gp_practice_weighted_populations_2025_26.csv"


def measured(fn):
    """Seconds of an untraced call, then peak traced memory (MiB) of a second call."""
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def embedded_run(out: Path) -> None:
    Model.from_toml(DEMO).run().to_excel(out)


def baseline(out: Path, shape: tuple[int, int]) -> None:
    frame = pd.read_csv(CSV, encoding="utf-8-sig")
    book = xlsxwriter.Workbook(str(out))
    sheet = book.add_worksheet("practice")
    values = frame.select_dtypes("number").fillna(0).to_numpy()
    rows, cols = shape
    for r in range(rows):
        for c in range(cols):
            sheet.write_number(r, c, float(values[r % len(values), c % values.shape[1]]))
    book.close()


def register_run(folder: Path) -> None:
    from capitation.synthetic_register import synthetic_register, write_register_csv

    register = synthetic_register(6_500, seed=1)
    write_register_csv(register, folder / "register.csv")
    weights = ["sex,age_from,age_to,weight"]
    for sex in "MF":
        weights += [f"{sex},0,64,1.0", f"{sex},65,,3.0"]
    (folder / "weights.csv").write_text("\n".join(weights) + "\n")
    (folder / "model.toml").write_text("""
[model]
name = "synthetic register"
year = "2025/26"
envelope_gbp = 120_000_000_000
[population]
register = "register.csv"
[[component]]
name = "core"
share = 1.0
cost_weights = "weights.csv"
""")
    Model.from_toml(folder / "model.toml").run()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = Model.from_toml(DEMO).run()  # warm-up: imports, first-run costs
        shape = (len(results.table("practice")) + 1, len(results.table("practice").columns) + 1)
        _, run_s, run_mb = measured(lambda: embedded_run(tmp / "run.xlsx"))
        _, base_s, base_mb = measured(lambda: baseline(tmp / "base.xlsx", shape))
        print(f"embedded national run (6,348 practices, read+targets+tables+workbook): "
              f"{run_s:.2f} s, peak {run_mb:.0f} MiB (tracemalloc)")
        print(f"baseline (pandas read_csv + xlsxwriter {shape[0]}x{shape[1]} plain): "
              f"{base_s:.2f} s, peak {base_mb:.0f} MiB")
        print(f"ratio embedded/baseline: {run_s / base_s:.2f} (target <= 3)")
        try:
            _, reg_s, reg_mb = measured(lambda: register_run(tmp))
            print(f"register path, synthetic 6,500 practices x 2 sexes x 96 ages "
                  f"(write CSV + read + validate + targets): {reg_s:.2f} s, peak {reg_mb:.0f} MiB")
        except ImportError as exc:
            print(f"register path not available: {exc}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
        print(f"peak resident memory of this whole bench process: {rss:.0f} MiB (target < 1 GB)")


if __name__ == "__main__":
    main()
