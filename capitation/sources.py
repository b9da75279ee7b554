"""Where a population's need is counted: practice tables, the GP register, persons.

:func:`capitation.allocate` takes any :class:`PopulationSource`: something that
gives the practice table (population and level codes) and each practice's
weighted count per component of a :class:`~capitation.needs.NeedsFormula`.
Three kinds exist (docs/methods/weighted-capitation.md):

- :class:`PracticeTable`: blends of published weighted populations and
  multipliers, read from the practice table itself (section 2.3);
- :class:`RegisterPopulation`: cost weights by sex and age applied to the
  GP register, times an optional need index (section 2.1);
- :class:`capitation.persons.engine.PersonsRun`: person-level rows with risk
  tiers (section 2.2), counted by the pandas or the Dask engine.

A plain :class:`~capitation.population.Population` given to ``allocate`` is
taken as a :class:`PracticeTable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from capitation.errors import InputError
from capitation.needs import NeedsFormula
from capitation.needs.weighting import weighted_counts
from capitation.population import Population

__all__ = ["PopulationSource", "PracticeTable", "RegisterPopulation"]


class PopulationSource(Protocol):
    """A population whose need can be counted by a needs formula."""

    @property
    def population(self) -> Population:
        """The practice table: population (persons) and level codes, by practice."""
        ...

    def weighted_counts(self, formula: NeedsFormula) -> pd.DataFrame:
        """Weighted count X per practice (rows, sorted) and component (columns, in order)."""
        ...

    def close(self) -> None:
        """Release any resources (a Dask cluster); a no-op for in-memory sources."""
        ...


@dataclass(frozen=True, eq=False)
class PracticeTable:
    """Need counted from the practice table's own columns.

    Method: docs/methods/weighted-capitation.md#from-published-weighted-populations.

    Attributes
    ----------
    population : Population
        Practices with every column the formula's blends and multipliers name.
    """

    population: Population

    def weighted_counts(self, formula: NeedsFormula) -> pd.DataFrame:
        """Weighted count per practice and component; a column the formula names must exist.

        Raises
        ------
        InputError
            Naming the component and the missing column, and the columns there are.
        """
        frame = self.population.frame
        for component in formula.components:
            if component.uses_register:
                raise InputError(
                    f'component "{component.name}" counts need from the GP register (cost '
                    "weights); give a RegisterPopulation, not a practice table",
                    key="formula")
            for column in [*component.blend, *component.multipliers]:
                if column not in frame.columns:
                    shown = ", ".join(map(str, frame.columns))
                    raise InputError(
                        f'component "{component.name}" names column "{column}", which the '
                        f"population does not have (the columns are: {shown})",
                        file=self.population.source, key="formula")
        return weighted_counts(self.population, formula)

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True, eq=False)
class RegisterPopulation:
    """Need counted from the GP register by cost weights.

    Method: docs/methods/weighted-capitation.md#from-the-register.

    Attributes
    ----------
    population : Population
        Practices (population = registered persons) with their level codes.
    register : pandas.DataFrame
        Long register: ``practice``, ``sex``, ``age``, ``patients``, as
        :func:`capitation.register.read.read_register` returns it.
    """

    population: Population
    register: pd.DataFrame

    def weighted_counts(self, formula: NeedsFormula) -> pd.DataFrame:
        """Weighted count per practice and component, over the register."""
        return weighted_counts(self.population, formula, self.register)

    def close(self) -> None:
        """Nothing to release."""
