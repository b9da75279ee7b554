"""The Dask engine: the same figures as the pandas engine, on partitions across a cluster.

Each part is read and validated by one task on a worker, with the
single-process engine's own kernel (:func:`capitation.persons.batches.read_part_arrays`:
record batches into arrays, errors naming the part), and the validated
arrays stay in the workers' memory for the run as futures. Every pass maps
a function straight over those futures (``Client.map``: no task graph to
build or optimise) and runs the kernels the single-process engine runs on
all persons: tiers by :func:`capitation.persons.tiers.tiers_of`, cells by
:func:`capitation.persons.weights.count_part_cells`, need by
:func:`capitation.persons.weights.need_of` (its table scattered once) and
the selection steps of :mod:`capitation.persons.selection`. Counting is by
:func:`numpy.bincount` over integer keys (:mod:`capitation.persons.counting`),
never by sorting persons. The first pass (persons, id ranges and the first
risk-rank histogram) follows each part's read at once. Nothing person-level
comes back to the driver except the few persons near a tier boundary:

- Risk rank (docs/methods/weighted-capitation.md#from-people) without a
  global sort: a histogram pass over the top bits of the order key finds
  the bin holding each tier's first rank; further passes over finer bits
  narrow it, and the persons left in the bin (a few thousand, or everyone
  tied on the boundary score) are sorted on the driver by key and then
  person_id. The result is the boundary key of
  :mod:`capitation.persons.tiers`, which each worker compares against. (The
  single-process engine finds the same keys by :func:`numpy.partition`,
  which needs all persons in one array.)
- Cells (practice × sex × age × tier counts) are counted on the workers and
  added up on the driver: exact integers, so the weighted counts, targets
  and tier table are the pandas engine's to the penny.
- The cohort reaching half of need uses the same selection with each
  person's need as the measure (:func:`capitation.persons.selection.by_measure`
  on one array).
- Person budgets shuffle persons by practice and round within each practice
  on the workers, writing Parquet parts.

Connecting to the cluster (or starting a LocalCluster) is timed apart from
the work: :attr:`DaskPersons.cluster_start_seconds`, also logged.
A LocalCluster started by the engine is always closed, also on error.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, cast

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.persons.batches import read_part_arrays
from capitation.persons.budgets import BudgetPlan, budget_frame
from capitation.persons.engine import PersonsRun
from capitation.persons.read import PartReader, integer_ids
from capitation.persons.selection import SHIFTS, bin_counts, in_group, narrow, pick
from capitation.persons.spec import PersonsSpec
from capitation.persons.tiers import TierBoundaries, rank_boundaries
from capitation.persons.weights import combine_cells, count_part_cells, need_of, need_table
from capitation.population import LevelSpec

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

__all__ = ["DaskPersons", "connect", "local_cluster", "write_person_budgets", "COLLECT_LIMIT"]

log = logging.getLogger(__name__)

COLLECT_LIMIT = 2_000_000  # persons near one boundary collected to the driver at most
_MMAP_THRESHOLD = 32 * 2**20  # glibc's largest

_T = TypeVar("_T")
# A person selected by rank: (key u, person_id, persons ranked before it).
_Found = tuple[Any, Any, int]


class _Selection(TypedDict):
    """Progress of one selection in :meth:`DaskPersons._select`."""

    group: tuple[int, int]  # (shift, prefix): the key bits of the bin narrowed to
    before_n: int  # persons ranked before the bin
    before_m: float  # their measure
    done: Literal["collect"] | _Found | None


def connect(scheduler: str | None, workers: int) -> tuple[Client, LocalCluster | None]:
    """Connect to a cluster, or start a LocalCluster of ``workers`` processes.

    Returns
    -------
    tuple
        (client, cluster or None); close both when done (:func:`disconnect`).
    """
    from distributed import Client

    if scheduler:
        return Client(scheduler), None
    cluster = local_cluster(workers)
    try:
        return Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def local_cluster(workers: int, **kwargs: Any) -> LocalCluster:
    """Start a LocalCluster of ``workers`` single-threaded worker processes.

    The workers' C allocator serves arrays up to 32 MiB from its heap
    (``MALLOC_MMAP_THRESHOLD_``) instead of mapping fresh pages for each one:
    a part's columns are a few MB each, and mapping them anew on every pass
    cost a third of a worker's CPU time in page faults (measured on 20
    million persons: system time 2.5-3.2 s down to 0.9-1.6 s, worker peak
    memory about 3% higher). Dask's own ``MALLOC_TRIM_THRESHOLD_`` stays.

    Parameters
    ----------
    workers : int
        Worker processes.
    **kwargs
        Passed on to :class:`distributed.LocalCluster` (``memory_limit``, say).

    Returns
    -------
    distributed.LocalCluster
    """
    import dask
    from distributed import LocalCluster

    environ = "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_"
    with dask.config.set({environ: _MMAP_THRESHOLD}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0", **kwargs)


def disconnect(client: Client | None, cluster: LocalCluster | None) -> None:
    """Close a client and any cluster this engine started."""
    try:
        if client is not None:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _meta(reader: PartReader, part: Path) -> pd.DataFrame:
    """Empty frame with the validated columns' dtypes (person_id type from the first part)."""
    whole = integer_ids(part, reader.spec.person_id)
    columns: dict[str, type] = {"person_id": np.int64 if whole else object,
                                "practice": np.int32, "sex": np.int8, "age": np.int8,
                                "u": np.uint64}
    if reader.spec.risk_tier is not None:
        columns["tier"] = np.int8
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in columns.items()})


# -- functions run on the workers, one part at a time ------------------------------
# A part is a dict of validated arrays (capitation.persons.batches.read_part_arrays),
# read, ranked, counted and measured by the single-process engine's own kernels.

_Part = dict[str, np.ndarray]
# Need in pence as a measure: (need table by cell code, tier boundaries, tiers); None counts.
# On the driver the table is its future, scattered once; a worker receives the table.
_Need = tuple[Any, TierBoundaries | None, int]


def _read(part: Path, reader: PartReader) -> _Part:
    return read_part_arrays(part, reader)


def _part_stats(part: _Part, shift: int | None) -> tuple[int, Any, Any, pd.DataFrame | None]:
    """Persons, lowest and highest person_id; with ``shift``, the first histogram pass too."""
    ids = part["person_id"]
    hist = None if shift is None else _histogram(part, [(64, 0)], shift, None)
    if len(ids) == 0:
        return 0, None, None, hist
    return len(ids), ids.min(), ids.max(), hist


def _measure(part: _Part, need: _Need | None, rows: np.ndarray | slice) -> np.ndarray | None:
    """Measure of the persons at ``rows``: None for a count, else each one's need in pence."""
    if need is None:
        return None
    table, bounds, n_tiers = need
    return need_of(table, part, bounds, n_tiers, rows)


def _histogram(part: _Part, groups: list[tuple[int, int]], shift: int, need: _Need | None
               ) -> pd.DataFrame:
    """Count (and need) per bin of key bits, for persons in each (prefix shift, prefix) group."""
    u = part["u"]
    out = []
    for g, (pshift, prefix) in enumerate(groups):  # a loop over a few boundaries
        rows = in_group(u, pshift, prefix)
        bins, counts, sums = bin_counts(u[rows], _measure(part, need, rows), shift)
        if len(bins) == 0:
            continue
        out.append(pd.DataFrame({"group": g, "bin": bins, "count": counts, "measure": sums}))
    if not out:
        return pd.DataFrame({"group": pd.Series(dtype=np.int64), "bin": pd.Series(dtype=np.uint64),
                             "count": pd.Series(dtype=np.int64),
                             "measure": pd.Series(dtype=float)})
    return pd.concat(out, ignore_index=True)


def _collect(part: _Part, groups: list[tuple[int, int]], need: _Need | None) -> pd.DataFrame:
    """Persons in each (shift, bin) group: key, person_id and measure."""
    u = part["u"]
    out = []
    for g, (shift, prefix) in enumerate(groups):
        rows = in_group(u, shift, prefix)
        measure = _measure(part, need, rows)
        out.append(pd.DataFrame({"group": g, "u": u[rows], "person_id": part["person_id"][rows],
                                 "measure": 1.0 if measure is None else measure}))
    return pd.concat(out, ignore_index=True)


def _frame(part: _Part) -> pd.DataFrame:
    return pd.DataFrame(part, copy=False)


def _find_ids(part: _Part, ids: list[Any], name: str) -> pd.DataFrame:
    hit = np.isin(part["person_id"], np.asarray(ids, dtype=part["person_id"].dtype))
    return pd.DataFrame({"person_id": part["person_id"][hit], "part": name})


class DaskPersons(PersonsRun):
    """Persons on a Dask cluster; see the module docstring."""

    engine = "dask"

    def __init__(self, spec: PersonsSpec, practices: pd.DataFrame, practices_path: Path,
                 levels: list[LevelSpec], multipliers: list[list[str]],
                 tier_weights: list[dict[str, float] | None], progress: bool = False) -> None:
        super().__init__(spec, practices, practices_path, levels, multipliers, tier_weights,
                         progress)
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None
        # futures of the validated parts (dicts of arrays), one per part
        self.frames: list[Future[_Part]] | None = None
        self.meta: pd.DataFrame | None = None
        # seconds to connect to the cluster (or start a LocalCluster), apart from the work
        self.cluster_start_seconds: float | None = None

    def _connected(self) -> tuple[Client, list[Future[_Part]]]:
        """Return the client and the parts' futures, which :meth:`read` sets up."""
        if self.client is None or self.frames is None:
            raise RuntimeError("DaskPersons: call start() first")
        return self.client, self.frames

    def _compute(self, function: Callable[..., _T], *args: Any) -> list[_T]:
        """Run ``function(part, *args)`` on the workers holding each part; results in part order.

        Tasks go straight to the part's futures (no task graph to build or
        optimise), so a pass costs little more than its work. A large
        argument (the need table) is scattered once by the caller and passed
        as its future.
        """
        client, frames = self._connected()
        n = len(frames)
        futures = client.map(function, frames, *[[a] * n for a in args], pure=False)
        return client.gather(futures)

    def read(self) -> None:
        """Read and validate the parts on the workers, rank into tiers and count cells."""
        started = time.perf_counter()
        client, self.cluster = connect(self.spec.dask_scheduler, self.spec.dask_workers)
        self.client = client
        self.cluster_start_seconds = time.perf_counter() - started
        log.info("dask: %s; %s in %.1f s", client,
                 "connected" if self.cluster is None else "local cluster started",
                 self.cluster_start_seconds)
        self.meta = _meta(self.reader, self.parts[0])
        self.frames = client.map(_read, self.parts, [self.reader] * len(self.parts),
                                 pure=False)
        if self.progress:
            from distributed import progress

            progress(self.frames)
        ranked = self.spec.risk_tier is None
        # Each part's stats follow its read at once (no wait for the others). Raises
        # the first part's InputError, naming it. With scores, also the first
        # histogram pass of the risk rank.
        stats = self._compute(_part_stats, SHIFTS[0] if ranked else None)
        sizes = np.array([s[0] for s in stats], dtype=np.int64)
        self.n = int(sizes.sum())
        self._no_persons_check(self.n)
        self._check_unique([s[:3] for s in stats])
        n_tiers = len(self.tiers)
        if ranked:
            # with a shift, every part's stats carry their histogram
            self.bounds = self._boundaries([s[3] for s in stats if s[3] is not None])
        parts = self._compute(count_part_cells, self.bounds, n_tiers)
        self._cells = combine_cells(parts, n_tiers)

    def _check_unique(self, stats: list[tuple[int, Any, Any]]) -> None:
        """person_id unique across parts: by id ranges, else a distributed count."""
        ranges = sorted((lo, hi) for n, lo, hi in stats if n)
        if all(b[0] > a[1] for a, b in zip(ranges, ranges[1:], strict=False)):
            return
        import dask.dataframe as dd

        client, frames = self._connected()
        data = dd.from_delayed(client.map(_frame, frames, pure=False), meta=self.meta,
                               verify_meta=False)
        counts = data["person_id"].value_counts(split_out=data.npartitions)
        dups = counts[counts > 1].head(5, npartitions=-1).index.tolist()
        if not dups:
            return
        found = self._compute_parts(_find_ids, dups)
        files = sorted(set(found["part"]))
        raise InputError(f"person_id {', '.join(map(str, dups))} appear more than once, in "
                         f"parts {', '.join(files[:5])} (expected each person once)",
                         file=files[0], column=self.spec.person_id)

    def _compute_parts(self, function: Callable[..., pd.DataFrame], *args: Any) -> pd.DataFrame:
        client, frames = self._connected()
        n = len(frames)
        futures = client.map(function, frames, *[[a] * n for a in args],
                             [p.name for p in self.parts], pure=False)
        return pd.concat(client.gather(futures), ignore_index=True)

    def _select(self, targets: list[float], need: _Need | None,
                first: list[pd.DataFrame] | None = None) -> list[_Found]:
        """First person (in rank order) whose inclusive cumulative measure reaches each target.

        Parameters
        ----------
        targets : list of float
            Cumulative measure to reach (in rank order), one per selection.
        need : tuple or None
            (need table by cell code, or its future; tier boundaries; tiers) for
            need in pence (:func:`capitation.persons.weights.need_of`), None to
            count persons.
        first : list of pandas.DataFrame, optional
            The first histogram pass (every person, bins of the top key bits)
            when it was already made, one frame per partition.

        Returns
        -------
        list of tuple
            Per target: (key u, person_id, persons before it).
        """
        state: list[_Selection] = [{"group": (64, 0), "before_n": 0, "before_m": 0.0,
                                    "done": None} for _ in targets]
        for shift in SHIFTS:
            active = [i for i, s in enumerate(state) if s["done"] is None]
            if not active:
                break
            groups = sorted({state[i]["group"] for i in active})
            if first is not None and shift == SHIFTS[0]:
                parts = first
            else:
                parts = self._compute(_histogram, groups, shift, need)
            hist = pd.concat(parts, ignore_index=True)
            hist = hist.groupby(["group", "bin"], sort=True)[["count", "measure"]].sum()
            collect: list[tuple[int, int]] = []
            for i in active:
                s = state[i]
                rows = hist.loc[groups.index(s["group"])]
                at, s["before_n"], s["before_m"] = narrow(
                    rows["count"].to_numpy(), rows["measure"].to_numpy(), s["before_n"],
                    s["before_m"], targets[i])
                s["group"] = (shift, int(rows.index[at]))
                if int(rows["count"].iloc[at]) <= COLLECT_LIMIT or shift == 0:
                    if s["group"] not in collect:
                        collect.append(s["group"])
                    s["done"] = "collect"
            if collect:
                found = pd.concat(self._compute(_collect, collect, need), ignore_index=True)
                for i in active:
                    s = state[i]
                    if s["done"] != "collect":
                        continue
                    rows = found[found["group"] == collect.index(s["group"])]
                    s["done"] = pick(rows["u"].to_numpy(), rows["person_id"].to_numpy(),
                                     rows["measure"].to_numpy(), s["before_n"], s["before_m"],
                                     targets[i])
        found_all: list[_Found] = []
        for s in state:
            done = s["done"]
            if not isinstance(done, tuple):  # the last shift (0) collects every selection
                raise RuntimeError("rank selection did not finish")
            found_all.append(done)
        return found_all

    def _boundaries(self, first: list[pd.DataFrame] | None = None) -> TierBoundaries:
        """Boundary keys of the tiers (``first``: the first histogram pass, if made)."""
        ranks = rank_boundaries(self.tiers, self.n)
        starts = ranks[1:-1]
        present = starts < self.n
        wanted = sorted({int(b) for b in starts[present]})
        found = dict(zip(wanted, self._select([b + 1.0 for b in wanted], None, first),
                         strict=True))
        if self.meta is None:
            raise RuntimeError("DaskPersons: call start() first")
        # _meta makes person_id int64 or object: a NumPy dtype, not an extension dtype
        id_dtype = cast(np.dtype, self.meta["person_id"].dtype)
        keys_u = np.zeros(len(starts), dtype=np.uint64)
        keys_id = np.zeros(len(starts), dtype=id_dtype) if id_dtype is not np.dtype(object) else \
            np.array([""] * len(starts), dtype=object)
        for j, b in enumerate(starts):  # a loop over a few tiers
            if present[j]:
                u, pid, rank = found[int(b)]
                if rank != b:
                    raise RuntimeError(f"rank selection found rank {rank}, expected {b}")
                keys_u[j], keys_id[j] = u, pid
        return TierBoundaries(ranks=ranks, keys_u=keys_u, keys_id=keys_id, present=present)

    def cohort(self, factors: np.ndarray, half: float) -> int:
        """Size of the smallest top-ranked cohort whose need reaches ``half`` (pence)."""
        client, _ = self._connected()
        table = need_table(self.cells, self.weights, factors, len(self.codes))
        shared = client.scatter(table, broadcast=True)  # to every worker once
        _, _, before = self._select([half], (shared, self.bounds, len(self.tiers)))[0]
        return int(before + 1)

    def plan_frame(self) -> None:
        """Nothing kept on the driver: person budgets read the parts again."""
        return None

    def close(self) -> None:
        """Shut down any cluster this engine started."""
        self.frames = None  # releases the parts held on the workers
        disconnect(self.client, self.cluster)
        self.client = self.cluster = None


def _budgets_part(frame: pd.DataFrame, plan: BudgetPlan, tiers: list[str] | None
                  ) -> pd.DataFrame:
    out = budget_frame(plan.with_tiers(frame), plan)
    if tiers is not None:
        out = out[out["tier"].isin(tiers)]
    return out


def write_person_budgets(plan: BudgetPlan, tiers: list[str] | None,
                         practices: np.ndarray | None,
                         to: Path) -> Path:
    """Person budgets on Dask: shuffle by practice, round within each, write Parquet parts.

    Parameters
    ----------
    plan : BudgetPlan
    tiers : list of str or None
        Keep only these tiers.
    practices : numpy.ndarray or None
        Keep only these practices (positions in the sorted codes).
    to : Path
        A new (or empty) folder.

    Returns
    -------
    Path
        ``to``.
    """
    import dask.dataframe as dd

    to = Path(to)
    if to.exists() and any(to.iterdir()):
        raise ValueError(f"{to} exists and is not empty")
    client, cluster = connect(plan.dask.get("scheduler"), plan.dask.get("workers", 2))
    tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", dir=to.parent if to.parent.exists()
                                else None))
    try:
        meta = _meta(plan.reader, plan.parts[0])
        data = dd.from_map(plan.reader, plan.parts, meta=meta, enforce_metadata=False)
        if practices is not None:
            data = data[data["practice"].isin(list(practices))]
        data = data.shuffle(on="practice", npartitions=max(len(plan.parts), 1))
        sample = _budgets_part(plan.with_tiers(meta.assign(tier=pd.Series(dtype=np.int8))),
                               plan, tiers)
        out = data.map_partitions(_budgets_part, plan, tiers, meta=sample)
        out.to_parquet(str(tmp), write_index=False)
        if to.exists():
            to.rmdir()
        shutil.move(str(tmp), str(to))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        disconnect(client, cluster)
    plan.written.append(to)
    return to
