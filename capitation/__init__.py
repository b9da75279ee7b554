"""Population-needs-based capitated budgets for NHS integrated care systems.

>>> from capitation import Model
>>> results = Model.from_toml("models/demo.toml").run()   # doctest: +SKIP
>>> results.table("ICB")                                    # doctest: +SKIP

Module map, in the order a run flows: population → needs → targets →
allocation → pace of change; then the service budget, and the edges.

====================  ===========================================================
``population``        Population: practices, their population and level codes
``register/``         the GP register path: register CSV, cost weights, need index
``persons/``          person-level rows: risk tiers, two engines, person budgets
``sources``           PopulationSource: a practice table, the register or persons
``needs/``            NeedsFormula: components, blends, cost weights → weighted counts
``targets``           pots and targets in whole pence
``allocation``        allocate(): targets, allocations and level tables per level
``level_tables``      practice figures summed to each level, need indices
``pace_of_change/``   the two-stage LP (data, build, extract, fairest), the rule,
                      the baselines file
``solver``            HiGHS; a solver status becomes a clear error
``rounding``          largest remainder; Excel's ROUND
``service_budget/``   capitated budget lines, the bridge, stranded costs, its TOML
``model_file``        the model file (TOML) → ModelSpec
``model``             Model: from_toml, from_excel, run
``run_steps``         a run's steps per year: source, needs formula, pace of change
``sweep``             one key over many values, reusing what does not change
``results``           Results: table(level), to_excel, provenance; read_results
``excel/``            every .xlsx: results and model workbooks, templates, guard
``inputs/``           the input edge: TOML keys, CSV tables, headers, years
``columns/``          every output column: dtype, unit, label, Excel format
``errors``            InputError, SolverError
``files``             atomic writes, input hashes
``display``           HTML tables for Jupyter; computes nothing
``plots``             charts of a run; computes nothing
``testing``           public test helpers (money ties out)
``cli``               the ``capitation`` command line
====================  ===========================================================
"""

from capitation.allocation import Allocation, Pace, allocate
from capitation.comparison import compare
from capitation.errors import InputError, SolverError
from capitation.excel.results_reader import read_results
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
    "read_results",
]
