"""The steps of a model run, one year at a time: source, needs formula, pace of change.

:meth:`capitation.Model.run` takes them in turn for each year and hands them to
:func:`capitation.allocate`; :func:`capitation.sweep.sweep` takes the same
steps, reusing what does not change from one value to the next.
:func:`place_error` names where a run-time input error is.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from capitation.allocation import Allocation, Pace
from capitation.errors import InputError
from capitation.model_file import ModelSpec, PaceSpec
from capitation.needs import Component, NeedsFormula
from capitation.population import Population
from capitation.sources import PopulationSource, PracticeTable

__all__ = ["population_source", "needs_formula", "year_pace", "place_error"]


def place_error(spec: ModelSpec, exc: InputError) -> InputError:
    """Name where a run-time input error is.

    The model file when the error names no file (pace of change checks name
    only the TOML key); the workbook and sheet when it names an embedded
    table's temporary CSV copy.
    """
    path = spec.path
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


def population_source(model_spec: ModelSpec, year: str, cache: dict[Path, PopulationSource],
                      progress: bool = False) -> PopulationSource:
    """Return the year's population source, reading each file once per ``cache``.

    Parameters
    ----------
    model_spec : ModelSpec
        The model (it has a ``[population]`` section).
    year : str
        The financial year, such as ``"2025/26"``.
    cache : dict
        Sources already read in this run, by file; the caller closes them.
    progress : bool
        Show the person-level engine's progress bars.

    Returns
    -------
    PopulationSource
        Practice table, GP register or person-level rows, as the model says.
    """
    spec = model_spec.population
    assert spec is not None
    # person-level rows (docs/methods/weighted-capitation.md#from-people)
    if spec.persons is not None:
        key = spec.persons.path
        if key not in cache:
            from capitation.persons.engine import start

            # PersonsRun is a PopulationSource once started (its population is set).
            cache[key] = cast(PopulationSource, start(model_spec, progress))
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
        model_file = model_spec.path.name
        columns: dict[str, str] = {}
        for i, c in enumerate(model_spec.components, start=1):
            for col in c.blend:
                columns.setdefault(col, f"{model_file}, key component[{i}].weighted_population")
            for col in c.multipliers:
                columns.setdefault(col, f"{model_file}, key component[{i}].multipliers")
        if model_spec.pace is not None and model_spec.pace.baseline_column:
            columns.setdefault(model_spec.pace.baseline_column,
                               f"{model_file}, key pace_of_change.baseline_column")
        cache[path] = PracticeTable(Population.from_file(
            path, id=spec.id, population=spec.population, levels=spec.levels,
            columns=columns, sheet=spec.sheet, names=spec.names))
    return cache[path]


def needs_formula(model_spec: ModelSpec, index: int, population: Population) -> NeedsFormula:
    """Return the needs formula of the model's ``index``-th year (shares or pots of that year).

    Cost weights and a need index are read here, the need index checked
    against ``population``'s practices.
    """
    components = []
    for c in model_spec.components:
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


def year_pace(spec: ModelSpec, index: int, population: Population,
              previous: Allocation | None) -> Pace | None:
    """Return the ``index``-th year's pace of change, or None when the model has none.

    The first year's baseline is the model's (a file or a practice column);
    after it, the previous year's allocation (docs/methods/pace-of-change.md).
    """
    if spec.pace is None:
        return None
    level = spec.pace.level
    codes = pd.Index(np.sort(population.level_codes(level).unique()), name=level)
    if previous is None or previous.pace_outcome is None:
        baseline_gbp = _baseline(spec.pace, population, codes)
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


def _baseline(pace: PaceSpec, population: Population, codes: pd.Index) -> pd.Series:
    """Return the first year's baseline at the pace level: a practice column summed, or a file."""
    level = pace.level
    if pace.baseline_column is not None:
        by = population.level_codes(level)
        return population.frame[pace.baseline_column].groupby(by).sum().reindex(codes)
    assert pace.baseline is not None  # model_file: baseline or baseline_column
    from capitation.pace_of_change.baseline_file import read_baseline

    return read_baseline(pace.baseline, level, codes)
