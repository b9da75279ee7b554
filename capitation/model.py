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

import numpy as np
import pandas as pd

from capitation.allocation import Allocation, Pace, allocate
from capitation.errors import InputError, located
from capitation.model_file import ModelSpec, PaceSpec, read_model_file
from capitation.needs import Component, NeedsFormula
from capitation.pace_of_change import PaceOfChange, PaceOutcome
from capitation.population import Population
from capitation.results import Results
from capitation.sources import PopulationSource, PracticeTable

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
            placed = self._placed(exc)
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

    def _placed(self, exc: InputError) -> InputError:
        """Name where a run-time input error is.

        The model file when the error names no file (pace of change checks name
        only the TOML key); the workbook and sheet when it names an embedded
        table's temporary CSV copy.
        """
        path = self.spec.path
        if exc.file is None:
            return InputError(exc.reason, file=path, sheet=exc.sheet, cell=exc.cell,
                              row=exc.row, column=exc.column, key=exc.key)
        if path.suffix.lower() in {".xlsx", ".xlsm"}:
            from capitation.excel.model_workbook import embedded_sheet

            sheet = embedded_sheet(path, exc.file)
            if sheet is not None:
                return InputError(exc.reason, file=path, sheet=sheet, row=exc.row,
                                  column=exc.column, key=exc.key)
        return exc

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
                    source = self._source(year, cache, progress)
                    levels = ["practice", *source.population.levels]
                    envelope_pence = spec.envelope_pence[i]
                    allocation = allocate(
                        source, self._formula(i, source.population),
                        envelope_gbp=None if envelope_pence is None else envelope_pence / 100,
                        pace=self._pace(i, source.population, previous),
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

                    needs_and_use = run_section(spec, self._source(spec.years[0], cache),
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

    # -- steps -----------------------------------------------------------------

    def _source(self, year: str, cache: dict[Path, PopulationSource],
                progress: bool = False) -> PopulationSource:
        spec = self.spec.population
        assert spec is not None
        # person-level rows (docs/methods/weighted-capitation.md#from-people)
        if spec.persons is not None:
            key = spec.persons.path
            if key not in cache:
                from capitation.persons.engine import start

                # PersonsRun is a PopulationSource once started (its population is set).
                cache[key] = cast(PopulationSource, start(self.spec, progress))
            return cache[key]
        if spec.register is not None:
            key = spec.register
            if key not in cache:
                from capitation.register.population import register_population

                cache[key] = register_population(spec.register, spec.practices, id=spec.id,
                                                 levels=spec.levels)
            return cache[key]
        path = spec.files[year]
        if path not in cache:
            model_file = self.spec.path.name
            columns: dict[str, str] = {}
            for i, c in enumerate(self.spec.components, start=1):
                for col in c.blend:
                    columns.setdefault(col, f"{model_file}, key component[{i}].weighted_population")
                for col in c.multipliers:
                    columns.setdefault(col, f"{model_file}, key component[{i}].multipliers")
            if self.spec.pace is not None and self.spec.pace.baseline_column:
                columns.setdefault(self.spec.pace.baseline_column,
                                   f"{model_file}, key pace_of_change.baseline_column")
            cache[path] = PracticeTable(Population.from_file(
                path, id=spec.id, population=spec.population, levels=spec.levels,
                columns=columns, sheet=spec.sheet, names=spec.names))
        return cache[path]

    def _formula(self, index: int, population: Population) -> NeedsFormula:
        components = []
        for c in self.spec.components:
            cost_weights = need_index = None
            if c.cost_weights is not None:
                from capitation.register.cost_weights import read_cost_weights

                cost_weights = read_cost_weights(c.cost_weights)
            if c.need_index is not None:
                from capitation.register.cost_weights import read_need_index

                need_index = read_need_index(c.need_index, population.codes)
            components.append(Component(
                name=c.name,
                share=None if c.shares is None else c.shares[index],
                pot_pence=None if c.pots_pence is None else c.pots_pence[index],
                blend=dict(c.blend), multipliers=tuple(c.multipliers),
                cost_weights=cost_weights, need_index=need_index))
        return NeedsFormula(tuple(components))

    def _pace(self, index: int, population: Population,
              previous: Allocation | None) -> Pace | None:
        """Return the year's pace of change (after year 1, baseline = last year's allocation)."""
        spec = self.spec
        if spec.pace is None:
            return None
        level = spec.pace.level
        codes = pd.Index(np.sort(population.level_codes(level).unique()), name=level)
        if previous is None or previous.pace_outcome is None:
            baseline_gbp = self._baseline(spec.pace, population, codes)
        else:
            baseline_gbp = previous.pace_outcome.allocation_pence / 100.0
            missing = codes.difference(baseline_gbp.index)
            if len(missing):
                raise InputError(
                    f"{level} {', '.join(missing[:5])} in {spec.years[index]} had no "
                    f"allocation in {spec.years[index - 1]} to use as baseline",
                    file=spec.path, key="pace_of_change")
            baseline_gbp = baseline_gbp.reindex(codes)
        return Pace(level=level, baseline_gbp=baseline_gbp,
                    min_growth=spec.pace.min_growth[index],
                    max_growth=spec.pace.max_growth[index], method=spec.pace.method)

    def _baseline(self, pace: PaceSpec, population: Population, codes: pd.Index) -> pd.Series:
        level = pace.level
        if pace.baseline_column is not None:
            by = population.level_codes(level)
            return population.frame[pace.baseline_column].groupby(by).sum().reindex(codes)
        assert pace.baseline is not None  # model_file: baseline or baseline_column
        from capitation.pace_of_change.baseline_file import read_baseline

        return read_baseline(pace.baseline, level, codes)


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

