"""Model: everything a run needs, and the run itself.

``Model.from_toml(path).run()`` reads and validates every input once, then
computes targets (domain.md section 2), pace of change (section 5) and the
capitated service budget (section 6), and returns :class:`Results`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from capitation.allocation import Allocation, Pace, allocate
from capitation.errors import InputError, located
from capitation.model_file import ModelSpec, PaceSpec, PopulationSpec, read_model_file
from capitation.needs import Component, NeedsFormula
from capitation.pace_of_change import PaceOfChange
from capitation.population import Population, level_name, read_table
from capitation.results import Results
from capitation.rounding import MAX_MONEY_GBP, beyond_money
from capitation.sources import PopulationSource, PracticeTable, RegisterPopulation

if TYPE_CHECKING:
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
        return files

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
        """
        try:
            return self._run(progress)
        except InputError as exc:
            placed = self._placed(exc)
            if placed is exc:
                raise
            raise placed from None

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
        levels: list[str] = []
        persons = None
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
                if spec.population.persons is not None:  # domain.md 2.2: tiers, budgets
                    run = cast("PersonsRun", cache[spec.population.persons.path])
                    persons = run.summarise(tables[spec.years[0]]["practice"])
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
                       persons=persons)

    # -- steps -----------------------------------------------------------------

    def _source(self, year: str, cache: dict[Path, PopulationSource],
                progress: bool = False) -> PopulationSource:
        spec = self.spec.population
        assert spec is not None
        if spec.persons is not None:  # person-level rows (domain.md 2.2)
            key = spec.persons.path
            if key not in cache:
                from capitation.persons.engine import start

                # PersonsRun is a PopulationSource once started (its population is set).
                cache[key] = cast(PopulationSource, start(self.spec, progress))
            return cache[key]
        if spec.register is not None:
            key = spec.register
            if key not in cache:
                cache[key] = _register_population(spec)
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
                columns=columns, sheet=spec.sheet))
        return cache[path]

    def _formula(self, index: int, population: Population) -> NeedsFormula:
        components = []
        for c in self.spec.components:
            cost_weights = need_index = None
            if c.cost_weights is not None:
                from capitation.cost_weights import read_cost_weights

                cost_weights = read_cost_weights(c.cost_weights)
            if c.need_index is not None:
                from capitation.cost_weights import read_need_index

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
        baseline = pace.baseline
        assert baseline is not None  # model_file: baseline or baseline_column
        raw = read_table(baseline)
        from capitation.population import normalise_header

        headers = {normalise_header(h): h for h in raw.columns}
        for needed in (level, "baseline_gbp"):
            if needed not in headers:
                raise InputError(f'no column "{needed}" (expected columns {level}, '
                                 f'baseline_gbp)', file=pace.baseline)
        code = raw[headers[level]].astype(str).str.strip()
        from capitation.inputs.csv_tables import numbers_in_cells

        value = pd.Series(numbers_in_cells(raw[headers["baseline_gbp"]], file=pace.baseline,
                                           column="baseline_gbp"), index=raw.index)
        bad = value.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f'"{raw[headers["baseline_gbp"]].iloc[i]}" is not a number of '
                             "pounds", file=pace.baseline, row=i + 2, column="baseline_gbp")
        large = np.flatnonzero(np.abs(value.to_numpy(dtype=float)) > MAX_MONEY_GBP)
        if large.size:
            i = int(large[0])
            raise InputError(beyond_money(float(value.iloc[i])), file=pace.baseline, row=i + 2,
                             column="baseline_gbp")
        dup = code.duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise InputError(f'{level} "{code.iloc[i]}" appears twice', file=pace.baseline,
                             row=i + 2, column=level)
        series = pd.Series(value.to_numpy(dtype=float), index=code.to_numpy())
        missing = codes.difference(series.index)
        if len(missing):
            raise InputError(f"no baseline for {level} {', '.join(missing[:5])}"
                             f"{' and more' if len(missing) > 5 else ''}",
                             file=pace.baseline, column=level)
        return series.reindex(codes)


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


def _register_population(spec: PopulationSpec) -> RegisterPopulation:
    """Build the register path's population per practice from the GP register (domain.md 2.1)."""
    from capitation.register import read_register

    assert spec.register is not None  # called on the register path only
    register = read_register(spec.register)
    patients = register.groupby("practice")["patients"].sum().astype(float)
    frame = pd.DataFrame({"population": patients})
    frame.index.name = "practice"
    level_names: list[str] = []
    if spec.practices is not None:
        raw = read_table(spec.practices)
        from capitation.population import normalise_header

        headers = {normalise_header(h): h for h in raw.columns}
        if normalise_header(spec.id) not in headers:
            raise InputError(f'no column "{spec.id}"', file=spec.practices,
                             key="population.id")
        codes = raw[headers[normalise_header(spec.id)]].astype(str).str.strip()
        for lv in spec.levels:
            parts = [lv] if isinstance(lv, str) else lv
            for part in parts:
                if normalise_header(part) not in headers:
                    raise InputError(f'no column "{part}"', file=spec.practices,
                                     key="population.levels")
            joined = raw[headers[normalise_header(parts[0])]].astype(str).str.strip()
            for part in parts[1:]:
                joined = joined + "/" + raw[headers[normalise_header(part)]].astype(str).str.strip()
            mapping = pd.Series(joined.to_numpy(), index=codes.to_numpy())
            missing = frame.index.difference(mapping.index)
            if len(missing):
                raise InputError(f"practices {', '.join(missing[:5])} of the register are "
                                 "missing", file=spec.practices, column=spec.id)
            frame[level_name(lv)] = mapping[~mapping.index.duplicated()].reindex(frame.index)
            level_names.append(level_name(lv))
    population = Population.from_frame(frame.reset_index(), id="practice",
                                       population="population", levels=level_names)
    return RegisterPopulation(population, register)
