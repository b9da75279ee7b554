"""Model: everything a run needs, and the run itself.

``Model.from_toml(path).run()`` reads and validates every input once, then
computes targets (domain.md section 2), pace of change (section 5) and the
capitated service budget (section 6), and returns :class:`Results`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.model_file import ModelSpec, read_model_file
from capitation.needs import Component, NeedsFormula
from capitation.population import Population, level_name, read_table
from capitation.results import Results
from capitation.rounding import largest_remainder_grouped
from capitation.tables import level_tables
from capitation.targets import component_pots, practice_targets
from capitation.weighting import weighted_counts

__all__ = ["Model"]

log = logging.getLogger(__name__)


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
        pace: dict[str, object] = {}
        levels: list[str] = []
        inputs: dict[str, Path] = {"model": spec.path}
        persons = None
        if spec.population is not None:
            years = spec.years
            if progress and len(years) > 1:
                from tqdm.auto import tqdm

                years = tqdm(years, desc="years")
            previous: pd.Series | None = None
            cache: dict[Path, tuple[Population, pd.DataFrame | None]] = {}
            try:
                for i, year in enumerate(years):
                    population, register = self._population(year, cache, inputs, progress)
                    levels = ["practice", *population.levels]
                    year_tables, outcome, allocation_at_level = self._allocate(
                        population, register, i, previous, inputs)
                    previous = allocation_at_level
                    tables[year] = year_tables
                    if outcome is not None:
                        pace[year] = outcome
                if spec.population.persons is not None:  # domain.md 2.2: tiers, budgets
                    persons = cache[spec.population.persons.path][1].summarise(
                        tables[spec.years[0]]["practice"])
            finally:
                for _, source in cache.values():
                    if hasattr(source, "close"):  # the person-level engine (a Dask cluster)
                        source.close()
        budget = None
        if spec.service_budget is not None:
            from capitation.service_budget import build_budget
            from capitation.service_budget_file import read_service_budget

            budget = build_budget(read_service_budget(spec.service_budget, spec.path.parent,
                                                      spec.path))
        return Results(spec=spec, levels=levels, tables=tables, pace=pace, budget=budget,
                       inputs=inputs, run_seconds=time.time() - started, persons=persons)

    # -- steps -----------------------------------------------------------------

    def _population(self, year: str, cache: dict, inputs: dict[str, Path],
                    progress: bool = False) -> tuple[Population, pd.DataFrame | None]:
        spec = self.spec.population
        if spec.persons is not None:  # person-level rows (domain.md 2.2)
            key = spec.persons.path
            if key not in cache:
                from capitation.persons.run import start

                run = start(self.spec, progress)
                cache[key] = (run.population, run)
                inputs["persons"] = spec.persons.path
                inputs["practices"] = spec.practices
            return cache[key]
        if spec.register is not None:
            key = spec.register
            if key not in cache:
                cache[key] = _register_population(spec)
                inputs["register"] = spec.register
                if spec.practices is not None:
                    inputs["practices"] = spec.practices
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
            cache[path] = (Population.from_file(path, id=spec.id, population=spec.population,
                                                levels=spec.levels, columns=columns,
                                                sheet=spec.sheet), None)
            inputs[f"population {year}" if len(self.spec.years) > 1 else "population"] = path
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

    def _allocate(self, population: Population, register: pd.DataFrame | None, index: int,
                  previous: pd.Series | None, inputs: dict[str, Path]
                  ) -> tuple[dict[str, pd.DataFrame], object | None, pd.Series | None]:
        spec = self.spec
        formula = self._formula(index, population)
        if hasattr(register, "weighted_counts"):  # person-level rows (domain.md 2.2)
            counts = register.weighted_counts(formula)
        else:
            counts = weighted_counts(population, formula, register)
        envelope = spec.envelope_pence[index]
        pots = component_pots(formula, envelope)
        targets = practice_targets(counts, pots)
        frame = population.frame.copy()
        for c in formula.names:
            frame[f"x_{c}"] = counts[c]
            frame[f"target_{c}_pence"] = targets[c].astype(np.int64)
        target_pence = targets.sum(axis=1).astype(np.int64)

        outcome = None
        baseline_pence = None
        allocation_at_level = None
        pace_level = None
        if spec.pace is None:
            frame["allocation_pence"] = target_pence
        else:
            from capitation.pace_of_change import set_pace

            pace = spec.pace
            pace_level = pace.level
            codes = population.level_codes(pace_level)
            level_target = target_pence.groupby(codes).sum().astype(np.int64)
            level_target.index.name = pace_level
            if previous is None:
                baseline_gbp = self._baseline(population, level_target.index, inputs)
            else:
                baseline_gbp = previous / 100.0
                missing = level_target.index.difference(baseline_gbp.index)
                if len(missing):
                    raise InputError(
                        f"{pace_level} {', '.join(missing[:5])} in {spec.years[index]} had no "
                        f"allocation in {spec.years[index - 1]} to use as baseline",
                        file=spec.path, key="pace_of_change")
                baseline_gbp = baseline_gbp.reindex(level_target.index)
            outcome = set_pace(level_target, baseline_gbp, int(level_target.sum()),
                               pace.min_growth[index], pace.max_growth[index], pace.method)
            allocation_at_level = outcome.allocation_pence.astype(np.int64)
            baseline_pence = pd.Series(
                np.round(baseline_gbp.to_numpy(dtype=float) * 100.0).astype(np.int64),
                index=level_target.index)
            if pace_level == "practice":
                frame["allocation_pence"] = allocation_at_level.reindex(frame.index)
            else:
                parent_alloc = allocation_at_level.reindex(codes.to_numpy()).to_numpy(float)
                parent_target = level_target.reindex(codes.to_numpy()).to_numpy(float)
                share = np.where(parent_target > 0, target_pence.to_numpy(float) / parent_target,
                                 0.0)
                amounts_gbp = pd.Series(parent_alloc * share / 100.0, index=frame.index)
                frame["allocation_pence"] = largest_remainder_grouped(
                    amounts_gbp, codes, allocation_at_level)
        year_tables = level_tables(frame, list(population.levels), formula.names,
                                   spec.convention, pace_level, baseline_pence)
        return year_tables, (outcome.summary if outcome is not None else None), \
            allocation_at_level

    def _baseline(self, population: Population, codes: pd.Index,
                  inputs: dict[str, Path]) -> pd.Series:
        pace = self.spec.pace
        level = pace.level
        if pace.baseline_column is not None:
            by = population.level_codes(level)
            return population.frame[pace.baseline_column].groupby(by).sum().reindex(codes)
        raw = read_table(pace.baseline)
        inputs["baseline"] = pace.baseline
        from capitation.population import normalise_header

        headers = {normalise_header(h): h for h in raw.columns}
        for needed in (level, "baseline_gbp"):
            if needed not in headers:
                raise InputError(f'no column "{needed}" (expected columns {level}, '
                                 f'baseline_gbp)', file=pace.baseline)
        code = raw[headers[level]].astype(str).str.strip()
        value = pd.to_numeric(raw[headers["baseline_gbp"]], errors="coerce")
        bad = value.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f'"{raw[headers["baseline_gbp"]].iloc[i]}" is not a number of '
                             "pounds", file=pace.baseline, row=i + 2, column="baseline_gbp")
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


def _register_population(spec) -> tuple[Population, pd.DataFrame]:
    """Build the register path's population per practice from the GP register (domain.md 2.1)."""
    from capitation.register import read_register

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
    return population, register
