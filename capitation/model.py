"""Model: everything a run needs, and the run itself.

``Model.from_toml(path).run()`` reads and validates every input once, then
computes targets (docs/methods/weighted-capitation.md), pace of change (section 5) and the
capitated service budget (section 6), and returns :class:`Results`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from capitation.allocation import Allocation, allocate
from capitation.errors import InputError, located
from capitation.model_file import ModelSpec, read_model_file
from capitation.pace_of_change import PaceOfChange, PaceOutcome
from capitation.results import Results
from capitation.run_steps import needs_formula, place_error, population_source, year_pace
from capitation.sources import PopulationSource

if TYPE_CHECKING:
    from capitation.overrides import Override
    from capitation.persons.engine import PersonsRun

__all__ = ["Model", "PER_HEAD_GBP"]

log = logging.getLogger(__name__)

PER_HEAD_GBP = (10.0, 100_000.0)
"""Allocation per head outside this range (pounds) draws a warning, not an error.

NHS allocations run at some hundreds to a few thousand pounds a head; an
envelope typed in £m or £k (5,110 for £5.11bn) gives pennies a head.
"""


@dataclass(frozen=True, eq=False)
class Model:
    """A validated model definition.

    Attributes
    ----------
    spec : ModelSpec
        The parsed model file.
    """

    spec: ModelSpec

    @classmethod
    def from_toml(cls, path: str | Path) -> Model:
        """Read a model file.

        Parameters
        ----------
        path : str or Path
            The TOML model file; paths inside it are relative to it.

        Returns
        -------
        Model

        Raises
        ------
        InputError
            Naming the file and key of the first problem.
        """
        return cls(read_model_file(path))

    @classmethod
    def from_excel(cls, path: str | Path) -> Model:
        """Read a model workbook written by ``capitation export`` (see README)."""
        from capitation.excel.model_workbook import read_model_workbook

        return cls(read_model_workbook(path))

    def input_files(self) -> dict[str, Path]:
        """Every file or folder a run reads, labelled as on the assumptions sheet.

        The model file (or workbook), the population table of each year (or
        the register, or the person-level rows), the practices table, the pace
        of change baselines, each component's cost weights and need index, and
        the service budget's lines and new services files. Command lines check
        an output against these before running: inputs are never modified.

        Returns
        -------
        dict of str to Path
            Label (``"model"``, ``"population"``, ``"baseline"``, ...) → path,
            in the order a run reads them. A population file shared by
            several years is listed under its first year.
        """
        spec = self.spec
        files: dict[str, Path] = {"model": spec.path}

        def add(label: str, path: Path | None) -> None:
            if path is not None:
                files[label] = path

        population = spec.population
        if population is not None:
            add("persons", None if population.persons is None else population.persons.path)
            add("register", population.register)
            add("practices", population.practices)
            seen: set[Path] = set()
            for year, path in population.files.items():
                if path not in seen:
                    seen.add(path)
                    add(f"population {year}" if len(spec.years) > 1 else "population", path)
        if spec.pace is not None:
            add("baseline", spec.pace.baseline)
        for component in spec.components:
            add(f"component {component.name} cost weights", component.cost_weights)
            add(f"component {component.name} need index", component.need_index)
        if spec.service_budget is not None:
            for key in ("lines", "new_services"):
                value = spec.service_budget.get(key)
                if isinstance(value, str) and value.strip():
                    # as capitation.service_budget.budget_file reads it: relative to the model
                    add(f"service budget {key.replace('_', ' ')}",
                        (spec.path.parent / value).resolve())
        if spec.opportunity is not None:
            add("activity", spec.opportunity.activity)
            add("reference rates", spec.opportunity.rates)
        return files

    def with_values(self, values: Mapping[str, Any] | Iterable[Override]) -> Model:
        """Return a new model with some keys of the model file changed; this one is unchanged.

        Parameters
        ----------
        values : mapping of str to object
            Dotted key → new value, such as ``{"pace_of_change.min_growth": 0.01,
            "component.core.share": 0.88}``; components are named by name, arrays
            without names by position from 1 (the scheme is in
            :mod:`capitation.overrides`). Or :class:`capitation.overrides.Override`
            objects, as ``--set`` on the command line gives them.

        Returns
        -------
        Model
            Validated as the model file is; its results' assumptions sheet
            lists each override with what the file had.

        Raises
        ------
        InputError
            The override as written, then what the model file would say.
        """
        from capitation.overrides import override_model

        return Model(override_model(self.spec, values))

    def sweep(self, key: str, values: Iterable[Any]) -> pd.DataFrame:
        """Run the model over values of one key; the headline figures of each.

        Parameters
        ----------
        key : str
            A key of the model file (``pace_of_change.min_growth``), addressed as
            :mod:`capitation.overrides` says.
        values : iterable
            The values, in order.

        Returns
        -------
        pandas.DataFrame
            Indexed by the value (named after ``key``; with several years by
            value and ``year``): ``largest_shortfall``, ``total_shortfall_gbp``,
            ``at_floor``, ``at_cap``, exactly as ``with_values({key: value}).run()``
            gives them. Inputs are read once (:mod:`capitation.sweep`).

        Raises
        ------
        InputError
            A value the model file would refuse, before anything runs.
        """
        from capitation.sweep import sweep

        return sweep(self, key, values)

    def run(self, progress: bool = False) -> Results:
        """Run the model.

        Parameters
        ----------
        progress : bool
            Show a progress bar over years (multi-year runs).

        Returns
        -------
        Results

        Raises
        ------
        InputError
            Naming the model file (or the workbook and sheet of an embedded table).

        Warns
        -----
        UserWarning
            For a value read in an unusual form (a number stored as text), naming
            the file, row and column; for a model workbook's embedded table, the
            workbook and sheet.
        """
        if self.spec.path.suffix.lower() not in {".xlsx", ".xlsm"}:
            return self._run_placed(progress)
        # A warning about an embedded table (a number stored as text) names its
        # sheet, not its private CSV copy, in the same words as an error.
        try:
            with warnings.catch_warnings(record=True) as caught:
                return self._run_placed(progress)
        finally:  # after the block: a warning given again is not caught again
            for w in caught:
                warnings.warn_explicit(self._placed_warning(str(w.message)), w.category,
                                       w.filename, w.lineno)

    def _run_placed(self, progress: bool) -> Results:
        try:
            return self._run(progress)
        except InputError as exc:
            placed = place_error(self.spec, exc)
            if placed is exc:
                raise
            raise placed from None

    def _placed_warning(self, message: str) -> str:
        """Name the workbook and sheet in a warning that names an embedded table's CSV copy."""
        path = self.spec.path
        name, _, rest = message.partition(", ")
        stem = f"{path.stem}."
        if rest and name.startswith(stem) and name.endswith(".csv") and len(name) > len(stem) + 4:
            return f"{path.name}, sheet {name[len(stem):-len('.csv')]}, {rest}"
        return message

    def _run(self, progress: bool) -> Results:
        started = time.time()
        spec = self.spec
        tables: dict[str, dict[str, pd.DataFrame]] = {}
        pace: dict[str, PaceOfChange] = {}
        outcomes: dict[str, PaceOutcome] = {}
        levels: list[str] = []
        persons = None
        needs_and_use = None
        if spec.population is not None:
            years = spec.years
            if progress and len(years) > 1:
                from tqdm.auto import tqdm

                years = tqdm(years, desc="years")
            previous: Allocation | None = None
            cache: dict[Path, PopulationSource] = {}
            try:
                for i, year in enumerate(years):
                    source = population_source(spec, year, cache, progress)
                    levels = ["practice", *source.population.levels]
                    envelope_pence = spec.envelope_pence[i]
                    allocation = allocate(
                        source, needs_formula(spec, i, source.population),
                        envelope_gbp=None if envelope_pence is None else envelope_pence / 100,
                        pace=year_pace(spec, i, source.population, previous),
                        convention=spec.convention)
                    previous = allocation
                    tables[year] = dict(allocation.tables)
                    _check_per_head(spec, year, tables[year][levels[-1]], levels[-1])
                    if allocation.pace_of_change is not None:
                        pace[year] = allocation.pace_of_change
                    if allocation.pace_outcome is not None:
                        outcomes[year] = allocation.pace_outcome
                # docs/methods/weighted-capitation.md#from-people: tiers, budgets
                if spec.population.persons is not None:
                    run = cast("PersonsRun", cache[spec.population.persons.path])
                    persons = run.summarise(tables[spec.years[0]]["practice"])
                if spec.opportunity is not None:  # needs versus use, on the first year
                    from capitation.opportunity.needs_and_use import run_section

                    needs_and_use = run_section(spec, population_source(spec, spec.years[0], cache),
                                                tables[spec.years[0]])
            finally:
                for source in cache.values():
                    source.close()  # the person-level engine may hold a Dask cluster
        budget = None
        if spec.service_budget is not None:
            from capitation.service_budget.budget import build_budget
            from capitation.service_budget.budget_file import read_service_budget

            budget = build_budget(read_service_budget(spec.service_budget, spec.path.parent,
                                                      spec.path))
        return Results(spec=spec, levels=levels, tables=tables, pace=pace, budget=budget,
                       inputs=self.input_files(), run_seconds=time.time() - started,
                       persons=persons, needs_and_use=needs_and_use, pace_outcomes=outcomes)

def _check_per_head(spec: ModelSpec, year: str, table: pd.DataFrame, level: str) -> None:
    """Warn, with the figures, when allocation per head looks like the wrong unit.

    On average over the model, or for an organisation of the top level,
    under £10 or over £100,000 a head (:data:`PER_HEAD_GBP`).
    """
    from capitation.words import counted

    population = float(table["population"].sum())
    if not population > 0:
        return
    total = float(table["allocation_gbp"].sum())
    average = total / population
    low, high = PER_HEAD_GBP
    per_head = table["allocation_per_head_gbp"].dropna()
    outside = per_head[(per_head < low) | (per_head > high)]
    bounds = f"under £{low:,.0f}" if average < low else f"over £{high:,.0f}"
    if not low <= average <= high:
        message = (f"allocation per head in {year} is {_per_head(average)} on average "
                   f"(£{total:,.2f} for {population:,.0f} people), {bounds} a head: is the "
                   "envelope in pounds (not £m or £k)?")
    elif len(outside):
        shown = ", ".join(f"{code} {_per_head(value)}" for code, value in outside.head(5).items())
        message = (f"allocation per head in {year} is outside £{low:,.0f} to £{high:,.0f} for "
                   f"{counted(len(outside), level)} ({shown}), against {_per_head(average)} "
                   "on average: check their populations")
    else:
        return
    warnings.warn(located(message, file=spec.path, key="model.envelope_gbp"), stacklevel=4)


def _per_head(value: float) -> str:
    """Pounds a head: £2,104.17, or to two significant figures under a penny (£0.00081)."""
    if math.isfinite(value) and 0 < abs(value) < 0.01:
        return f"£{value:.2g}"
    return f"£{value:,.2f}"

