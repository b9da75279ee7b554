"""Population-needs-based capitated budgets for NHS integrated care systems.

>>> from capitation import Model
>>> results = Model.from_toml("models/demo.toml").run()   # doctest: +SKIP
>>> results.table("ICB")                                    # doctest: +SKIP
"""

from capitation.allocation import Allocation, Pace, allocate
from capitation.comparison import compare
from capitation.errors import InputError, SolverError
from capitation.model import Model
from capitation.needs import Component, NeedsFormula
from capitation.population import Population
from capitation.results import Results
from capitation.sources import PopulationSource, PracticeTable, RegisterPopulation

__all__ = [
    "Allocation",
    "Component",
    "InputError",
    "Model",
    "NeedsFormula",
    "Pace",
    "Population",
    "PopulationSource",
    "PracticeTable",
    "RegisterPopulation",
    "Results",
    "SolverError",
    "allocate",
    "compare",
]
