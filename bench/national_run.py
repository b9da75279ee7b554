"""Benchmark: the whole embedded national run, and the register path at national size.

Printed, never asserted. Target: embedded run / baseline <= 3, under 1 GB.
Baseline, measured in the same run: pandas reading the same CSV plus xlsxwriter
writing a plain table the size of results.table("practice"). Each case runs in
its own process so that its peak resident memory is its own; the embedded run
is timed warm (a first run in that process does the imports).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "models" / "demo.toml"
CSV = ROOT / "capitation" / "data" / "gp_practice_weighted_populations_2025_26.csv"


def embedded(folder: Path) -> float:
    from capitation import Model

    Model.from_toml(DEMO).run().to_excel(folder / "warm.xlsx")  # warm-up: imports
    start = time.perf_counter()
    Model.from_toml(DEMO).run().to_excel(folder / "run.xlsx")
    return time.perf_counter() - start


def baseline(folder: Path) -> float:
    import pandas as pd
    import xlsxwriter

    from capitation import Model

    table = Model.from_toml(DEMO).run().table("practice")  # only for the shape
    rows, cols = len(table) + 1, len(table.columns) + 1
    start = time.perf_counter()
    frame = pd.read_csv(CSV, encoding="utf-8-sig")
    values = frame.select_dtypes("number").fillna(0).to_numpy()
    book = xlsxwriter.Workbook(str(folder / "base.xlsx"))
    sheet = book.add_worksheet("practice")
    for r in range(rows):
        for c in range(cols):
            sheet.write_number(r, c, float(values[r % len(values), c % values.shape[1]]))
    book.close()
    return time.perf_counter() - start


def register(folder: Path) -> float:
    from capitation import Model
    from capitation.register.synthetic import synthetic_register, write_register_csv

    write_register_csv(synthetic_register(6_500, seed=1), folder / "register.csv")
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
    start = time.perf_counter()
    Model.from_toml(folder / "model.toml").run().to_excel(folder / "register.xlsx")
    return time.perf_counter() - start


CASES = {"embedded": embedded, "baseline": baseline, "register": register}


def child(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        seconds = CASES[name](Path(tmp))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(json.dumps({"seconds": seconds, "rss_mib": rss}))


def measure(name: str) -> dict:
    done = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    run = measure("embedded")
    base = measure("baseline")
    reg = measure("register")
    print(f"embedded national run (6,348 practices; read, targets, pace of change, tables, "
          f"workbook with formulas), warm: {run['seconds']:.2f} s, "
          f"peak RSS {run['rss_mib']:.0f} MiB (process, incl. imports)")
    print(f"baseline (pandas read_csv + xlsxwriter plain table of the practice sheet's size): "
          f"{base['seconds']:.2f} s")
    print(f"ratio embedded/baseline: {run['seconds'] / base['seconds']:.2f} (target <= 3)")
    print(f"register path, synthetic 6,500 practices x 2 sexes x 96 ages (read, validate, "
          f"targets, workbook): {reg['seconds']:.2f} s, peak RSS {reg['rss_mib']:.0f} MiB "
          f"(target < 1 GB)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1])
    else:
        main()
