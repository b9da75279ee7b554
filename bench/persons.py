"""Person-level path at England scale: Dask vs pandas engines, printed.

Generates SYNTHETIC persons for the 6,348 practices of models/demo.toml
(63.8 million at fraction 1.0) into a temporary folder, runs ``Model.run()``
on each case in a fresh subprocess (so peak memory is the case's own), prints
seconds, persons per second, peak memory and CPU seconds (driver, which
also runs the scheduler, and each worker; with the load average before the
case, since other work on the machine takes cores from it), and deletes the
data.

Cases: the Dask engine on all persons (2 workers), the pandas engine on 5
million persons (baseline), and 20 million persons on Dask with 1 and with 2
worker processes (scaling), and for comparison with 1 worker process of 2
threads (no pickling between driver and workers, but the persons then sit in
the driver's process). Usage::

    python bench/persons.py [--fraction 1.0] [--baseline 5e6] [--scaling 20e6] [--keep DIR]
    python bench/persons.py --issue 5e6,20e6,all

With ``--compare 5e6,20e6`` it instead times, in the same run and on the same
persons, the single-process engine (``engine = "pandas"``: record batches into
arrays, tiers by selection) against the former one (every part read into a
frame and concatenated, one global ``numpy.lexsort`` for tiers and the
cohort, ``pandas.Series.duplicated`` for the id check; rebuilt below as
``--case old``), and prints the ratio and each one's peak memory.

With ``--issue 5e6,20e6,all`` it times, in the same run and on the same
persons of each size ("all" is fraction 1.0), four cases against a plain
numpy baseline written here (``--case baseline``: every part read with
pyarrow into arrays, each tier's boundary key by ``numpy.partition`` with
only the persons tied on it sorted by person_id, ONE ``numpy.bincount`` over
practice x sex x age x tier cells, weighted counts and practice targets in
whole pence; it validates nothing beyond the practice codes): the
single-process engine (``engine = "pandas"``), the Dask engine on a 2-worker
cluster started before the clock (its scheduler address given), and the Dask
engine starting its own 2-worker cluster (clock includes the start-up, which
the engine also reports on its own). Each case's practice targets are
checked against the baseline's to the penny, and the targets of the issue
are printed with PASS or MISS.

With ``--read 3e6`` it times only the read of persons into validated arrays,
in the same run and on the same persons written five ways (Parquet parts
with dictionary-encoded codes as ``synth-persons`` writes them, Parquet parts
with plain text codes, one CSV, and both again with the ids as 12-character
text pseudonyms): the product's read
(:func:`capitation.persons.batches.read_persons`, Arrow straight into numpy)
against the careful route on its own (:func:`capitation.persons.read.read_part`
on each part, through pandas, as the read was before). Each is the best of
three; the arrays are checked equal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "models" / "demo.toml"
PRACTICES = ROOT / "capitation" / "data" / "gp_practice_weighted_populations_2025_26.csv"
WEIGHTS = ROOT / "models" / "persons_demo" / "weights_core.csv"

MODEL = """[model]
name = "England persons bench (SYNTHETIC persons, illustrative envelope)"
year = "2025/26"
envelope_gbp = 120_000_000_000

[population]
persons = "{persons}"
id = "Practice_Code"
risk_score = "risk_score"
practices = "{practices}"
levels = ["ICB"]
engine = "{engine}"
{scheduler}

[[risk_tier]]
name = "very high"
from = 0.0
to = 0.005
weight = 18.6
[[risk_tier]]
name = "high"
from = 0.005
to = 0.05
weight = 5.5
[[risk_tier]]
name = "moderate"
from = 0.05
to = 0.2
weight = 1.7
[[risk_tier]]
name = "low"
from = 0.2
to = 1.0
weight = 0.5

[[component]]
name = "core"
share = 0.9
cost_weights = "{weights}"
[[component]]
name = "primary_medical_care"
share = 0.1
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu_s(cluster) -> dict:
    from distributed import Client

    with Client(cluster) as client:
        return client.run(_cpu_s)


def _old_engine() -> None:
    """Put the former pandas engine's read and cohort back (for ``--case old``)."""
    import numpy as np
    import pandas as pd

    from capitation.errors import InputError
    from capitation.persons.engine import PersonsRun
    from capitation.persons.tiers import boundaries_by_sort
    from capitation.persons.weights import combine_cells, count_cells, person_need

    def read(self) -> None:
        frames = [self.reader(part) for part in self.parts]
        part_of = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        self._no_persons_check(len(frame))
        dup = pd.Series(frame["person_id"].to_numpy()).duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError("person_id repeated", file=self.parts[int(part_of[dup][0])])
        u = frame["u"].to_numpy()
        ids = frame["person_id"].to_numpy()
        self.n = len(frame)
        self.bounds, self.order = boundaries_by_sort(u, ids, self.tiers)
        ranks = np.empty(self.n, dtype=np.int64)
        ranks[self.order] = np.arange(self.n)
        tier = np.searchsorted(self.bounds.ranks[1:-1], ranks, side="right")
        frame = frame.assign(tier=tier.astype(np.int8))
        self.frame = frame
        self.columns = {c: frame[c].to_numpy() for c in frame.columns}
        self._cells = combine_cells([count_cells(
            frame["practice"].to_numpy(), frame["sex"].to_numpy(), frame["age"].to_numpy(),
            frame["tier"].to_numpy(), len(self.tiers))], len(self.tiers))

    def cohort(self, factors: np.ndarray, half: float) -> int:
        f = self.frame
        need = person_need(factors, self.weights, f["practice"].to_numpy(np.int64),
                           f["sex"].to_numpy(np.int64), f["age"].to_numpy(np.int64),
                           f["tier"].to_numpy(np.int64))
        cumulative = np.cumsum(need[self.order])
        return int(min(int(np.searchsorted(cumulative, half, side="left")) + 1, self.n))

    PersonsRun.read = read  # type: ignore[method-assign]
    PersonsRun.cohort = cohort  # type: ignore[method-assign]


def run_baseline(persons: Path) -> dict:
    """The plain numpy baseline (see the module docstring); returns its measurements."""
    import csv

    import numpy as np
    import pyarrow.parquet as pq

    from capitation.rounding import largest_remainder_pence

    load = os.getloadavg()[0]
    cpu = _cpu_s()
    started = time.perf_counter()
    with PRACTICES.open(encoding="utf-8-sig", newline="") as f:
        codes = np.unique(np.array([row["Practice_Code"] for row in csv.DictReader(f)]))
    by_age = np.zeros((2, 96))  # cost weights of "core", by sex (M, F) and age 0..95
    with WEIGHTS.open(newline="") as f:
        for row in csv.DictReader(f):
            top = int(row["age_to"]) if row["age_to"] else 95
            by_age[0 if row["sex"] == "M" else 1, int(row["age_from"]):top + 1] = \
                float(row["weight"])
    tier_from = np.array([0.0, 0.005, 0.05, 0.2])  # the tiers of MODEL
    tier_weight = np.array([18.6, 5.5, 1.7, 0.5])
    parts = sorted(persons.glob("*.parquet"))
    rows = [pq.read_metadata(p).num_rows for p in parts]
    n = sum(rows)
    ids = np.empty(n, np.int64)
    practice = np.empty(n, np.int64)
    sex = np.empty(n, np.int8)
    age = np.empty(n, np.int8)
    u = np.empty(n, np.uint64)
    at = 0
    for part, m in zip(parts, rows, strict=True):
        t = pq.read_table(part, use_threads=False,
                          columns=["person_id", "Practice_Code", "sex", "age", "risk_score"])
        ids[at:at + m] = t["person_id"].to_numpy()
        for name, out, mapping in (("Practice_Code", practice, None),
                                   ("sex", sex, {"M": 0, "F": 1})):
            start = at
            for chunk in t[name].chunks:  # dictionary-encoded: map the dictionary only
                names = chunk.dictionary.to_numpy(zero_copy_only=False).astype(str)
                if mapping is None:
                    where = np.searchsorted(codes, names)
                    if not (codes[np.minimum(where, len(codes) - 1)] == names).all():
                        raise ValueError(f"{part.name}: practice not in the practices file")
                else:
                    where = np.array([mapping[v] for v in names])
                out[start:start + len(chunk)] = where[chunk.indices.to_numpy()]
                start += len(chunk)
        age[at:at + m] = np.minimum(t["age"].to_numpy(), 95)
        score = t["risk_score"].to_numpy() + 0.0  # -0.0 counts as 0.0
        u[at:at + m] = np.uint64(0xFFFF_FFFF_FFFF_FFFF) - score.view(np.uint64)
        at += m
        del t
    # tiers: the key of each tier's first rank by partition; ties at it sorted by person_id
    starts = np.floor(tier_from[1:] * n + 0.5).astype(np.int64)
    placed = np.partition(u, starts)
    tier = np.zeros(n, np.int8)
    for r in starts:
        key = placed[r]
        before = int(np.count_nonzero(u < key))
        first_id = np.sort(ids[u == key])[r - before]
        tier += ((u > key) | ((u == key) & (ids >= first_id))).astype(np.int8)
    del placed
    # ONE bincount over practice x sex x age x tier cells
    cells = np.bincount(((practice * 2 + sex) * 96 + age) * 4 + tier,
                        minlength=len(codes) * 2 * 96 * 4).reshape(len(codes), 2, 96, 4)
    targets = np.zeros(len(codes), np.int64)
    for pot_gbp, w in ((108_000_000_000, by_age), (12_000_000_000, np.ones((2, 96)))):
        inner = (cells * tier_weight).sum(axis=-1)  # (practices, sex, age), tiers in order
        x = np.bincount(np.repeat(np.arange(len(codes)), 2 * 96),
                        weights=(inner * w).ravel(), minlength=len(codes))
        targets += largest_remainder_pence(x / x.sum() * pot_gbp * 100.0, pot_gbp * 100)
    seconds = time.perf_counter() - started
    return {"engine": "baseline", "workers": 0, "threads": False, "seconds": seconds,
            "persons": n, "driver_peak_mb": _peak_mb(), "driver_cpu_s": _cpu_s() - cpu,
            "load_before": load, "codes": codes.tolist(), "pence": targets.tolist()}


def _catch_runs() -> list:
    """Keep each PersonsRun the model starts (to read the Dask cluster's start-up time)."""
    from capitation.persons import engine

    runs: list = []
    start = engine.start

    def keep(*args: Any, **kwargs: Any) -> Any:
        run = start(*args, **kwargs)
        runs.append(run)
        return run

    engine.start = keep
    return runs


def run_case(persons: Path, engine: str, workers: int, folder: Path,
             threads: bool = False) -> dict:
    """Run one case in this process and return its measurements.

    ``threads``: one worker process of ``workers`` threads instead of
    ``workers`` single-threaded worker processes.
    """
    from capitation import Model

    label = engine
    if engine == "old":
        _old_engine()
        engine = "pandas"
    own = engine == "dask-own"  # the engine starts its own cluster, in the clock
    if own:
        engine = "dask"
    runs = _catch_runs()
    cluster = None
    scheduler = f"dask_workers = {workers}" if own else ""
    if engine == "dask" and not own:
        if threads:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=1, threads_per_worker=workers, processes=False,
                                   dashboard_address=":0", memory_limit="11GiB")
        else:  # as the engine starts one
            from capitation.persons.dask_engine import local_cluster

            cluster = local_cluster(workers, memory_limit="11GiB")
        scheduler = f'dask_scheduler = "{cluster.scheduler_address}"'
    model_file = folder / f"bench_{engine}_{workers}.toml"
    model_file.write_text(MODEL.format(persons=persons, practices=PRACTICES, engine=engine,
                                       scheduler=scheduler, weights=WEIGHTS))
    load = os.getloadavg()[0]  # other work on the machine takes cores from this case
    workers_before = _workers_cpu_s(cluster) if cluster is not None else {}
    driver_before = _cpu_s()
    started = time.perf_counter()
    results = Model.from_toml(model_file).run()
    seconds = time.perf_counter() - started
    driver_cpu = _cpu_s() - driver_before
    out = {"engine": label, "workers": workers, "threads": threads, "seconds": seconds,
           "persons": int(results.tiers["persons"].sum()), "driver_peak_mb": _peak_mb(),
           "driver_cpu_s": driver_cpu, "load_before": load,
           "need_share_top": float(results.tiers["need_share"].iloc[0]),
           "envelope_check": float(results.table("ICB")["target_gbp"].sum()),
           "cohort_50_share": float(results.opportunity().cohort_50_share),
           "targets": results.table("practice")["target_gbp"].round(2).tolist()}
    practice = results.table("practice")["target_gbp"].sort_index()
    out["codes"] = practice.index.astype(str).tolist()
    out["pence"] = (practice.to_numpy() * 100).round().astype("int64").tolist()
    startup = getattr(runs[0], "cluster_start_seconds", None) if runs else None
    if startup is not None:
        out["cluster_start_s"] = startup
    if own:  # its workers are gone: the largest peak and all CPU of the reaped children
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out["worker_peak_mb"] = [children.ru_maxrss / 1024]
        out["worker_cpu_s"] = [children.ru_utime + children.ru_stime]
    if cluster is not None:
        from distributed import Client

        with Client(cluster) as client:
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            cpu = client.run(_cpu_s)
        out["worker_peak_mb"] = sorted(peaks.values())
        out["worker_cpu_s"] = [cpu[w] - workers_before[w] for w in sorted(cpu)]
        cluster.close()
    return out


def _subprocess(persons: Path, engine: str, workers: int, folder: Path,
                threads: bool = False) -> dict:
    command = [sys.executable, __file__, "--case", engine, "--workers", str(workers),
               "--persons", str(persons), "--folder", str(folder)] + \
        (["--threads"] if threads else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"case {engine}/{workers} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _generate(fraction: float, folder: Path, seed: int) -> tuple[Path, int, float]:
    from capitation.model_file import read_model_file
    from capitation.persons.synthetic import practice_sizes, write_synthetic_persons

    codes, sizes, column = practice_sizes(read_model_file(DEMO))
    started = time.perf_counter()
    made = write_synthetic_persons(codes, sizes, folder, fraction=fraction, seed=seed,
                                   practice_column=column)
    return folder, made.persons, time.perf_counter() - started


def _line(label: str, r: dict) -> str:
    rate = r["persons"] / r["seconds"]
    text = (f"{label:<34} {r['persons']:>12,} persons {r['seconds']:>8.1f} s "
            f"{rate:>12,.0f} persons/s  driver peak {r['driver_peak_mb']:,.0f} MB")
    if "worker_peak_mb" in r:
        text += "  worker peaks " + ", ".join(f"{m:,.0f} MB" for m in r["worker_peak_mb"])
    text += f"\n{'':<34} CPU s: driver {r['driver_cpu_s']:.1f}"
    if "worker_cpu_s" in r:
        text += ", workers " + ", ".join(f"{c:.1f}" for c in r["worker_cpu_s"])
    text += f" (load average before {r['load_before']:.1f} on {os.cpu_count()} cores)"
    if "cluster_start_s" in r:
        text += f"; cluster start-up {r['cluster_start_s']:.1f} s of it"
    return text


def issue(sizes: list[str], folder: Path) -> None:
    """Baseline, single-process, Dask (cluster given) and Dask (own cluster), same persons."""
    from capitation.model_file import read_model_file
    from capitation.persons.synthetic import practice_sizes

    total = float(practice_sizes(read_model_file(DEMO))[1].sum())
    verdicts = []
    for i, size in enumerate(sizes):
        fraction = 1.0 if size == "all" else float(size) / total
        persons, n, s = _generate(fraction, folder / f"issue{i}", 20 + i)
        print(f"generated {n:,} SYNTHETIC persons in {s:.1f} s", flush=True)
        base = _subprocess(persons, "baseline", 0, folder)
        print(_line("numpy baseline", base), flush=True)
        cases = {}
        for key, engine, label in (("single", "pandas", "single-process engine"),
                                   ("dask", "dask", "dask, 2 workers, cluster given"),
                                   ("own", "dask-own", "dask, 2 workers, own cluster")):
            r = cases[key] = _subprocess(persons, engine, 2, folder)
            same = r["codes"] == base["codes"] and r["pence"] == base["pence"]
            print(_line(label, r), flush=True)
            cpu = (r["driver_cpu_s"] + sum(r.get("worker_cpu_s", []))) / base["driver_cpu_s"]
            print(f"{'':<34} {r['seconds'] / base['seconds']:.2f}x baseline "
                  f"(CPU seconds {cpu:.2f}x); practice targets = baseline's to the penny: "
                  f"{same}", flush=True)
            if not same:
                verdicts.append(f"MISS {n:,}: {label} practice targets differ from the baseline")
        shutil.rmtree(persons)
        single = cases["single"]["seconds"] / base["seconds"]
        peak = cases["single"]["driver_peak_mb"]
        if size == "all":
            own = cases["own"]["seconds"] / base["seconds"]
            verdicts += [
                f"{'PASS' if single <= 2 else 'MISS'} England: single-process {single:.2f}x "
                "baseline (target <= 2x)",
                f"{'PASS' if peak < 4096 else 'MISS'} England: single-process peak "
                f"{peak:,.0f} MB (target < 4,096 MB)",
                f"{'PASS' if own <= 2 else 'MISS'} England: dask own cluster {own:.2f}x "
                "baseline (target <= 2x)"]
        elif abs(float(size) - 20e6) < 1:
            verdicts += [
                f"{'PASS' if single <= 1.5 else 'MISS'} 20M: single-process {single:.2f}x "
                "baseline (target <= 1.5x)",
                f"{'PASS' if peak < 4096 else 'MISS'} 20M: single-process peak {peak:,.0f} MB "
                "(target < 4,096 MB)"]
    print("targets (timings on a shared machine: see the load averages):")
    for v in verdicts:
        print("  " + v, flush=True)


def _best_of(runs: int, read) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = read()
        best = min(best, time.perf_counter() - started)
    return best, result


def reads(sizes: list[float], folder: Path) -> None:
    """The read alone: Arrow into numpy against the careful route, five ways of writing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from capitation.model_file import read_model_file
    from capitation.persons.batches import read_persons
    from capitation.persons.read import PartReader, list_parts, read_part
    from capitation.persons.spec import PersonsSpec
    from capitation.persons.synthetic import practice_sizes

    codes, sizes_, column = practice_sizes(read_model_file(DEMO))
    total = float(sizes_.sum())
    for i, size in enumerate(sizes):
        persons, n, s = _generate(size / total, folder / f"read{i}", 30 + i)
        print(f"generated {n:,} SYNTHETIC persons in {s:.1f} s", flush=True)
        plain, csv = folder / f"read{i}_plain", folder / f"read{i}.csv"
        texts, text_csv = folder / f"read{i}_text", folder / f"read{i}_text.csv"
        plain.mkdir()
        texts.mkdir()
        tables, text_tables = [], []
        for part in sorted(persons.glob("*.parquet")):
            t = pq.read_table(part)
            t = pa.table({c: t[c].cast(pa.string()) if pa.types.is_dictionary(t[c].type)
                          else t[c] for c in t.column_names})
            pq.write_table(t, plain / part.name)
            tables.append(t)
            pseudonyms = pa.array([f"{v:012X}" for v in t["person_id"].to_numpy()])
            text_tables.append(t.set_column(0, "person_id", pseudonyms))
            pq.write_table(text_tables[-1], texts / part.name)
        pcsv.write_csv(pa.concat_tables(tables), csv)
        pcsv.write_csv(pa.concat_tables(text_tables), text_csv)
        del tables, text_tables
        for label, path in (("Parquet, dictionary codes", persons),
                            ("Parquet, plain text codes", plain), ("one CSV", csv),
                            ("Parquet, text ids", texts), ("one CSV, text ids", text_csv)):
            spec = PersonsSpec(path=path, person_id="person_id", practice=column, sex="sex",
                               age="age", risk_score="risk_score", risk_tier=None)
            reader = PartReader(spec=spec, practice_codes=np.unique(codes.astype(str)),
                                practices_file=PRACTICES.name, tier_names=())
            parts = list_parts(path)
            quick, read = _best_of(3, lambda parts=parts, reader=reader:
                                   read_persons(parts, reader).columns)
            slow, frames = _best_of(3, lambda parts=parts, reader=reader:
                                    [read_part(p, reader) for p in parts])
            same = all(np.array_equal(read[c], np.concatenate([f[c].to_numpy() for f in frames]))
                       for c in read)
            print(f"{label:<28} {n:>12,} persons: read {quick:6.2f} s, careful route alone "
                  f"{slow:6.2f} s ({slow / quick:.1f}x); same arrays: {same} "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
            del read, frames
        for folder_ in (persons, plain, texts):
            shutil.rmtree(folder_)
        csv.unlink()
        text_csv.unlink()


def compare(sizes: list[float], folder: Path) -> None:
    """New single-process engine against the former one, same persons, same run."""
    from capitation.model_file import read_model_file
    from capitation.persons.synthetic import practice_sizes

    total = float(practice_sizes(read_model_file(DEMO))[1].sum())
    for i, size in enumerate(sizes):
        persons, n, s = _generate(size / total, folder / f"cmp{i}", 10 + i)
        print(f"generated {n:,} SYNTHETIC persons in {s:.1f} s", flush=True)
        new = _subprocess(persons, "pandas", 1, folder)
        print(_line("single-process engine (new)", new), flush=True)
        old = _subprocess(persons, "old", 1, folder)
        print(_line("former pandas engine (old)", old), flush=True)
        same = new["targets"] == old["targets"] and new["cohort_50_share"] == old["cohort_50_share"]
        print(f"{n:,} persons: old / new time {old['seconds'] / new['seconds']:.2f}x; "
              f"peak {new['driver_peak_mb']:,.0f} MB new vs {old['driver_peak_mb']:,.0f} MB "
              f"old; practice targets and cohort identical: {same}", flush=True)
        shutil.rmtree(persons)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["pandas", "dask", "old", "dask-own", "baseline"])
    parser.add_argument("--issue", help='sizes, comma-separated ("all" = fraction 1.0): '
                                        "baseline vs the engines")
    parser.add_argument("--compare", help="sizes, comma-separated: new vs old engine only")
    parser.add_argument("--read", help="sizes, comma-separated: the read alone, Arrow vs the "
                                       "careful route, Parquet and CSV")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--persons", type=Path)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--baseline", type=float, default=5e6)
    parser.add_argument("--scaling", type=float, default=20e6)
    args = parser.parse_args()
    if args.case == "baseline":
        print(json.dumps(run_baseline(args.persons)))
        return
    if args.case:
        print(json.dumps(run_case(args.persons, args.case, args.workers, args.folder,
                                  args.threads)))
        return

    folder = Path(tempfile.mkdtemp(prefix="persons_bench_", dir="/tmp"))
    modes = ((args.issue, lambda sizes: issue(sizes, folder)),
             (args.read, lambda sizes: reads([float(x) for x in sizes], folder)),
             (args.compare, lambda sizes: compare([float(x) for x in sizes], folder)))
    for sizes, run in modes:
        if sizes:
            try:
                run(sizes.split(","))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return
    try:
        from capitation.model_file import read_model_file
        from capitation.persons.synthetic import practice_sizes

        total = float(practice_sizes(read_model_file(DEMO))[1].sum())
        print(f"SYNTHETIC persons for {DEMO.name}'s practices: {total:,.0f} at fraction 1.0")
        base, n_base, s_base = _generate(args.baseline / total, folder / "base", 2)
        print(f"generated {n_base:,} persons in {s_base:.1f} s")
        pandas = _subprocess(base, "pandas", 1, folder)
        print(_line("pandas engine (baseline)", pandas), flush=True)
        shutil.rmtree(base)

        mid, n_mid, s_mid = _generate(args.scaling / total, folder / "mid", 3)
        print(f"generated {n_mid:,} persons in {s_mid:.1f} s")
        one = _subprocess(mid, "dask", 1, folder)
        print(_line("dask engine, 1 worker", one), flush=True)
        two = _subprocess(mid, "dask", 2, folder)
        print(_line("dask engine, 2 workers", two), flush=True)
        speed_up = one["seconds"] / two["seconds"]
        print(f"speed-up 1 -> 2 workers on {n_mid:,} persons: {speed_up:.2f}x")
        threaded = _subprocess(mid, "dask", 2, folder, threads=True)
        print(_line("dask engine, 1 process x 2 threads", threaded), flush=True)
        shutil.rmtree(mid)

        full, n_full, s_full = _generate(args.fraction, folder / "all", 1)
        print(f"generated {n_full:,} persons in {s_full:.1f} s")
        england = _subprocess(full, "dask", 2, folder)
        print(_line("dask engine, 2 workers (England)", england), flush=True)
        shutil.rmtree(full)

        p_rate = pandas["persons"] / pandas["seconds"]
        d_rate = england["persons"] / england["seconds"]
        print(f"pandas {p_rate:,.0f} persons/s; dask {d_rate:,.0f} persons/s on 2 workers = "
              f"{d_rate / 2:,.0f} per worker; ratio per worker / pandas = "
              f"{d_rate / 2 / p_rate:.2f} (target >= 0.7)")
        print(f"driver peak {england['driver_peak_mb']:,.0f} MB (target < 2,048 MB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
