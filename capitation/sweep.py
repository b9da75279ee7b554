"""Sweeps: one key of a model file run over many values, the headline figures of each.

:func:`sweep` (``Model.sweep``) validates every value first (each is an
override, :mod:`capitation.overrides`), then runs the steps of
:meth:`capitation.Model.run` that the headline figures need, reusing what
does not change from one value to the next:

- the practice tables (and a GP register) are read once per file;
- weighted counts are counted once per needs formula (blends, multipliers,
  cost weights, need index), targets once per formula, shares or pots and
  envelope;
- pace of change is set for each value at its level
  (:func:`capitation.allocation.pace_at_level`, the step :func:`~capitation.allocate`
  takes), and the headline figures read from its outcome
  (:func:`capitation.comparison.pace_headlines`).

The level tables are not built: at each value the figures are exactly those of
``model.with_values({key: value}).run()``. A model with person-level rows
(``[population] persons``) is run in full at each value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capitation.allocation import Allocation, Pace, pace_at_level
from capitation.comparison import HEADLINES, headlines, pace_headlines
from capitation.overrides import Override, format_value
from capitation.run_steps import needs_formula, place_error, population_source, year_pace
from capitation.targets import component_pots, practice_targets

if TYPE_CHECKING:
    from capitation.model import Model
    from capitation.sources import PopulationSource

__all__ = ["sweep"]


def _source_key(model: Model) -> tuple[Any, ...]:
    """Return what the practice tables a run reads depend on (table and columns)."""
    spec = model.spec
    population = spec.population
    assert population is not None  # the fast path runs models with a population
    columns = tuple((tuple(c.blend), tuple(c.multipliers)) for c in spec.components)
    baseline_column = spec.pace.baseline_column if spec.pace is not None else None
    return (repr(population.files), population.sheet, population.id, population.population,
            repr(population.levels), repr(population.register), repr(population.practices),
            columns, baseline_column)


def _formula_key(model: Model) -> tuple[Any, ...]:
    """Return what the weighted counts depend on: how each component counts need."""
    return tuple((c.name, tuple(c.blend.items()), tuple(c.multipliers), repr(c.cost_weights),
                  repr(c.need_index)) for c in model.spec.components)


@dataclass
class _Runner:
    """Caches shared by the runs of one sweep."""

    sources: dict[tuple[Any, ...], dict[Path, PopulationSource]] = field(default_factory=dict)
    counts: dict[tuple[Any, ...], pd.DataFrame] = field(default_factory=dict)
    targets: dict[tuple[Any, ...], pd.Series] = field(default_factory=dict)
    baselines: dict[tuple[Any, ...], pd.Series] = field(default_factory=dict)

    def close(self) -> None:
        for cache in self.sources.values():
            for source in cache.values():
                source.close()

    def headlines(self, model: Model) -> list[dict[str, Any]]:
        """Return each year's headline figures of ``model``, as its full run gives them."""
        spec = model.spec
        if spec.population is None or spec.population.persons is not None or not spec.components:
            results = model.run()
            return [headlines(results, year) for year in results.years]
        try:
            return self._fast(model)
        except Exception as error:  # an error names the model file, as run() would
            from capitation.errors import InputError

            if isinstance(error, InputError):
                raise place_error(model.spec, error) from None
            raise

    def _pace(self, model: Model, index: int, source: PopulationSource,
              previous: Allocation | None) -> Pace | None:
        """Return the year's pace of change as ``Model.run`` sets it (a baseline read once)."""
        pace = model.spec.pace
        if pace is None or previous is not None:
            return year_pace(model.spec, index, source.population, previous)
        key = (id(source), pace.level, repr(pace.baseline), pace.baseline_column)
        if key not in self.baselines:
            made = year_pace(model.spec, index, source.population, previous)
            assert made is not None  # the model has pace of change
            self.baselines[key] = made.baseline_gbp
        return Pace(level=pace.level, baseline_gbp=self.baselines[key],
                    min_growth=pace.min_growth[index], max_growth=pace.max_growth[index],
                    method=pace.method)

    def _fast(self, model: Model) -> list[dict[str, Any]]:
        spec = model.spec
        cache = self.sources.setdefault(_source_key(model), {})
        previous: Allocation | None = None
        out = []
        for i, year in enumerate(spec.years):
            source = population_source(spec, year, cache)
            formula = needs_formula(spec, i, source.population)
            key = (id(source), _formula_key(model))
            if key not in self.counts:
                self.counts[key] = source.weighted_counts(formula)
            envelope_pence = spec.envelope_pence[i]
            assert envelope_pence is not None  # model_file fills it from the pots
            pots = tuple((c.share, c.pot_pence) for c in formula.components)
            target_key = (*key, pots, envelope_pence)
            if target_key not in self.targets:
                targets = practice_targets(self.counts[key],
                                           component_pots(formula, envelope_pence))
                self.targets[target_key] = targets.sum(axis=1).astype(np.int64)
            pace = self._pace(model, i, source, previous)
            if pace is None:
                out.append({"largest_shortfall": 0.0, "total_shortfall_gbp": 0.0,
                            "at_floor": 0, "at_cap": 0})
                continue
            _, _, outcome = pace_at_level(source.population, self.targets[target_key], pace)
            previous = Allocation(levels=(), tables={}, envelope_pence=envelope_pence,
                                  pace=pace, pace_outcome=outcome)
            out.append(pace_headlines(outcome))
        return out


def sweep(model: Model, key: str, values: Iterable[Any]) -> pd.DataFrame:
    """Run a model over values of one key and give each value's headline figures.

    Parameters
    ----------
    model : Model
        The base model (unchanged).
    key : str
        A key of the model file, addressed as :mod:`capitation.overrides` says
        (``pace_of_change.min_growth``, ``component.core.share``).
    values : iterable
        The values to give it, in order.

    Returns
    -------
    pandas.DataFrame
        One row per value, indexed by the value (the index named after
        ``key``; with several years, by value and ``year``):
        ``largest_shortfall`` (s*, fraction), ``total_shortfall_gbp`` (U*,
        pounds), ``at_floor`` and ``at_cap`` (organisations at the pace level),
        exactly as a run with that override gives them.

    Raises
    ------
    InputError
        A value the model file would refuse (the override as written, then the
        file's words), before anything runs.
    """
    values = list(values)
    models = [model.with_values([Override(key, value, f"{key} = {format_value(value)}")])
              for value in values]
    runner = _Runner()
    try:
        rows = [runner.headlines(m) for m in models]
    finally:
        runner.close()
    years = model.spec.years
    if len(years) == 1:
        index = pd.Index(values, name=key)
        records = [r[0] for r in rows]
    else:
        index = pd.MultiIndex.from_tuples([(v, y) for v in values for y in years],
                                          names=[key, "year"])
        records = [year_row for r in rows for year_row in r]
    frame = pd.DataFrame.from_records(records, columns=list(HEADLINES))
    frame.index = index
    return frame.astype({"at_floor": np.int64, "at_cap": np.int64})
