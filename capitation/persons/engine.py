"""The person-level engine inside ``Model.run``, shared by pandas and Dask.

Method: docs/methods/weighted-capitation.md#from-people.

:func:`start` reads the practices file, reads and validates the persons with
the engine the model names, ranks them into tiers and counts them into cells.
The model then asks for the weighted counts (:meth:`PersonsRun.weighted_counts`),
runs the practice pipeline unchanged, and hands back the practice table so
that :meth:`PersonsRun.summarise` can build the tier table, the cohort and
the plan for patient-specific budgets (:class:`PersonResults`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.needs import NeedsFormula
from capitation.persons.batches import read_persons
from capitation.persons.budgets import BudgetPlan
from capitation.persons.read import PartReader, check_unique_ids, list_parts, parquet_call
from capitation.persons.results import PersonResults
from capitation.persons.selection import by_measure
from capitation.persons.spec import PersonsSpec
from capitation.persons.tiers import TierBoundaries, boundaries_by_selection, tiers_of
from capitation.persons.weights import (
    PersonWeights,
    cell_need,
    combine_cells,
    count_part_cells,
    need_of,
    need_table,
    practice_counts,
    practice_factors,
    weight_tables,
)
from capitation.population import LevelSpec, Population, level_name
from capitation.population import read_practices as practices_table
from capitation.rounding import largest_remainder, round_pence

if TYPE_CHECKING:
    from capitation.model_file import ModelSpec

__all__ = ["PersonsRun", "start", "read_practices", "choose_engine", "AUTO_DASK_PERSONS"]

log = logging.getLogger(__name__)

# engine = "auto": persons above which a given Dask scheduler is used. All England
# (63.8 million) stays on one process: the single-process engine peaked at 3.8 GB on
# 63.8 million SYNTHETIC persons and 1.4 GB on 20 million (bench/persons.py).
AUTO_DASK_PERSONS = 100_000_000


def read_practices(path: Path, id: str, levels: list[LevelSpec], columns: list[str]
                   ) -> pd.DataFrame:
    """Read the practices file: one row per practice, its level codes and multiplier columns.

    Checked by :func:`capitation.population.read_practices`, so that every
    error names the practices file, its row and column.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice`` (code), one per name in ``columns`` (numbers) and
        one per level (named after the level, codes of several columns joined
        by "/"), in file order.
    """
    return practices_table(path, id=id, levels=levels, columns=columns).reset_index()


class PersonsRun:
    """Persons of one run, read and counted by an engine (pandas here; Dask in a subclass).

    Parameters
    ----------
    spec : PersonsSpec
    practices : pandas.DataFrame
        From :func:`read_practices`.
    practices_path : Path
    levels : list of LevelSpec
        Level specs of the model.
    multipliers : list of list of str
        Per component, multiplier columns of the practices file.
    tier_weights : list of dict or None
        Per component, ``tier_weights`` overrides.
    progress : bool
        Show progress (Dask engine).
    """

    engine = "pandas"

    def __init__(self, spec: PersonsSpec, practices: pd.DataFrame, practices_path: Path,
                 levels: list[LevelSpec], multipliers: list[list[str]],
                 tier_weights: list[dict[str, float] | None], progress: bool = False) -> None:
        self.spec = spec
        self.tiers = spec.tiers
        self.practices = practices
        self.practices_path = practices_path
        self.levels = levels
        self.multipliers = multipliers
        self.tier_weights = tier_weights
        self.progress = progress
        codes = practices["practice"].to_numpy(dtype=str)
        self.codes = np.unique(codes)
        self.parts = list_parts(spec.path)
        self.reader = PartReader(spec=spec, practice_codes=self.codes,
                                 practices_file=Path(practices_path).name,
                                 tier_names=tuple(t.name for t in self.tiers))
        self.bounds: TierBoundaries | None = None
        self.n = 0
        self.columns: dict[str, np.ndarray] = {}  # every validated person (this engine only)
        self._cells: pd.DataFrame | None = None
        self._population: Population | None = None
        self._weights: PersonWeights | None = None

    # -- set by the steps: an error to ask for before the step ran ----------------

    @property
    def population(self) -> Population:
        """The practice population (persons counted per practice), built by :meth:`start`."""
        if self._population is None:
            raise RuntimeError("PersonsRun.population: call start() first")
        return self._population

    @property
    def cells(self) -> pd.DataFrame:
        """Persons counted per cell (:func:`~capitation.persons.weights.combine_cells`)."""
        if self._cells is None:
            raise RuntimeError("PersonsRun.cells: call start() first")
        return self._cells

    @property
    def weights(self) -> PersonWeights:
        """The components' weights, collected by :meth:`weighted_counts`."""
        if self._weights is None:
            raise RuntimeError("PersonsRun.weights: call weighted_counts() first")
        return self._weights

    # -- engine steps (overridden by the Dask engine) ---------------------------

    def read(self) -> None:
        """Read and validate every part, rank, assign tiers and count cells."""
        persons = read_persons(self.parts, self.reader)
        columns = persons.columns
        self.n = len(columns["person_id"])
        self._no_persons_check(self.n)
        if len(self.parts) > 1:  # one part's repeats were reported as it was read
            check_unique_ids(columns["person_id"], persons.part_starts, self.parts,
                             self.spec.person_id)
        del persons
        if "tier" not in columns:
            self.bounds = boundaries_by_selection(columns["u"], columns["person_id"], self.tiers)
            columns["tier"] = tiers_of(columns, self.bounds)  # kept: later steps reuse it
        self.columns = columns
        self._cells = combine_cells([count_part_cells(columns, self.bounds, len(self.tiers))],
                                    len(self.tiers))

    def cohort(self, factors: np.ndarray, half: float) -> int:
        """Size of the smallest top-ranked cohort whose need reaches ``half`` (pence)."""
        table = need_table(self.cells, self.weights, factors, len(self.codes))
        need = need_of(table, self.columns, self.bounds, len(self.tiers))
        _, _, before = by_measure(self.columns["u"], self.columns["person_id"], need, half)
        return int(before + 1)

    def close(self) -> None:
        """Release engine resources (the Dask engine shuts its cluster down)."""

    def plan_frame(self) -> pd.DataFrame | None:
        """Persons kept for person budgets (pandas engine only)."""
        return pd.DataFrame({c: self.columns[c] for c in ("person_id", "practice", "sex", "age",
                                                          "tier")}, copy=False)

    # -- shared steps ------------------------------------------------------------

    def _no_persons_check(self, n: int) -> None:
        if n == 0:
            raise InputError("no person rows (expected at least one person)", file=self.spec.path)

    def start(self) -> Population:
        """Read the persons and build the practice population (persons counted per practice)."""
        self.read()
        counts = np.bincount(self.cells["practice"].to_numpy(np.int64),
                             weights=self.cells["n"].to_numpy(np.float64),
                             minlength=len(self.codes))
        frame = self.practices.copy()
        frame["population"] = pd.Series(counts, index=self.codes).reindex(
            frame["practice"].to_numpy(dtype=str)).to_numpy()
        columns = [m for ms in self.multipliers for m in ms]
        population = Population.from_frame(
            frame, id="practice", population="population",
            levels=[level_name(lv) for lv in self.levels], columns=columns)
        self._population = population
        if not np.array_equal(population.codes.to_numpy(dtype=str), self.codes):
            raise InputError("practice codes must be unique text", file=self.practices_path)
        return population

    def weighted_counts(self, formula: NeedsFormula) -> pd.DataFrame:
        """Weighted count X_pc of every practice, for ``practice_targets``.

        Method: docs/methods/weighted-capitation.md#from-people.
        """
        self._weights = weight_tables(formula, self.tier_weights, self.tiers,
                                      self.population.codes)
        counts = practice_counts(self.cells, self.weights, self.population.codes)
        for c, name in enumerate(formula.names):
            for column in self.multipliers[c]:
                counts[name] = counts[name] * self.population.frame[column].to_numpy(float)
        return counts

    def summarise(self, practice_table: pd.DataFrame) -> PersonResults:
        """Tier table, cohort and budget plan from the run's practice targets."""
        names = self.weights.names
        table = practice_table.reindex(self.population.codes)
        targets = np.column_stack([
            round_pence(table[f"target_{c}_gbp"].to_numpy(float))
            for c in names])
        factors = practice_factors(self.cells, self.weights, targets)
        need = cell_need(self.cells, self.weights, factors)
        k = self.cells["tier"].to_numpy(np.int64)
        n_tiers = len(self.tiers)
        persons = np.bincount(k, weights=self.cells["n"].to_numpy(float), minlength=n_tiers)
        tier_need = np.bincount(k, weights=need, minlength=n_tiers)
        total_need = float(need.sum())
        index = pd.Index([t.name for t in self.tiers], name="tier")
        envelope = int(targets.sum())
        target_pence = largest_remainder(pd.Series(tier_need / 100.0, index=index), envelope,
                                         order=list(index)).to_numpy(np.int64)
        tiers = pd.DataFrame({
            "persons": persons.astype(np.int64),
            "population_share": persons / self.n,
            "need_share": tier_need / total_need,
            "target_gbp": target_pence / 100.0,
        }, index=index)
        with np.errstate(divide="ignore", invalid="ignore"):
            tiers["target_per_head_gbp"] = np.where(persons > 0, target_pence / 100.0 / persons,
                                                    np.nan)
        cohort = self.cohort(factors, 0.5 * total_need)
        plan = BudgetPlan(reader=self.reader, parts=self.parts, bounds=self.bounds,
                          weights=self.weights, factors=factors, targets_pence=targets,
                          codes=self.codes, tier_names=tuple(index), engine=self.engine,
                          frame=self.plan_frame(), dask=self.dask_settings())
        return PersonResults(tiers=tiers, cohort_50_share=cohort / self.n, persons=self.n,
                             plan=plan)

    def dask_settings(self) -> dict[str, Any]:
        """Cluster settings for later Dask work (person budgets)."""
        return {"scheduler": self.spec.dask_scheduler, "workers": self.spec.dask_workers}


def start(model_spec: ModelSpec, progress: bool = False) -> PersonsRun:
    """Read the practices file and the persons of a model with its engine.

    Parameters
    ----------
    model_spec : capitation.model_file.ModelSpec
        A model whose ``[population]`` gives ``persons``.
    progress : bool
        Show progress (Dask engine).

    Returns
    -------
    PersonsRun
        Read and counted; call :meth:`PersonsRun.close` when done.
    """
    pop = model_spec.population
    if pop is None or pop.persons is None or pop.practices is None:
        raise ValueError("the model has no person-level population ([population] persons)")
    spec: PersonsSpec = pop.persons
    multipliers = [list(c.multipliers) for c in model_spec.components]
    practices = read_practices(pop.practices, pop.id, pop.levels,
                               sorted({m for ms in multipliers for m in ms}))
    args = (spec, practices, pop.practices, pop.levels, multipliers,
            [c.tier_weights for c in model_spec.components], progress)
    keep = model_spec.opportunity is not None and \
        model_spec.opportunity.person_activity is not None
    engine = choose_engine(spec, keep_persons=keep)
    log.info("persons engine: %s", engine)
    run: PersonsRun
    if engine == "dask":
        from capitation.persons.dask_engine import DaskPersons

        run = DaskPersons(*args)
    else:
        run = PersonsRun(*args)
    try:
        run.start()
    except BaseException:
        run.close()
        raise
    return run




def choose_engine(spec: PersonsSpec, keep_persons: bool = False) -> str:
    """Return the engine a run uses: the model's, or for ``engine = "auto"`` one by size.

    ``auto`` runs on one process (the pandas engine) unless a Dask scheduler
    address is given (``dask_scheduler``) and the Parquet footers count more
    than :data:`AUTO_DASK_PERSONS` persons. It never starts a local cluster:
    on one machine the single process is faster than worker processes, which
    each hold and pickle their share of the persons. Persons kept in memory
    for cohorts by needs profile (``keep_persons``) need the pandas engine.

    Parameters
    ----------
    spec : PersonsSpec
    keep_persons : bool
        The run needs every person in memory afterwards.

    Returns
    -------
    str
        ``"pandas"`` or ``"dask"``.
    """
    if spec.engine != "auto":
        return spec.engine
    if spec.dask_scheduler is None or keep_persons:
        return "pandas"
    return "dask" if count_persons(list_parts(spec.path)) > AUTO_DASK_PERSONS else "pandas"


def count_persons(parts: list[Path]) -> int:
    """Persons in the parts by their Parquet footers (a CSV counts 0: it is read whole)."""
    import pyarrow.parquet as pq

    return sum(int(parquet_call(p, pq.read_metadata).num_rows) for p in parts
               if p.suffix.lower() == ".parquet")
