"""Population-needs-based capitated budgets for NHS integrated care systems.

>>> from capitation import Model
>>> results = Model.from_toml("models/demo.toml").run()   # doctest: +SKIP
>>> results.table("ICB")                                    # doctest: +SKIP
"""

from capitation.errors import InputError, SolverError
from capitation.model import Model
from capitation.needs import Component, NeedsFormula
from capitation.population import Population
from capitation.results import Results

__all__ = [
    "Component",
    "InputError",
    "Model",
    "NeedsFormula",
    "Population",
    "Results",
    "SolverError",
]
