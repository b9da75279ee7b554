"""The GP register path: registered patients by sex and age, cost weights.

Method: docs/methods/weighted-capitation.md#from-the-register.

=================  ============================================================
``read``           :func:`read_register`: NHS Digital's "Patients registered at a
                   GP practice" CSV → long form (practice, sex, age, patients)
``cost_weights``   :func:`read_cost_weights` (w(s, a) by sex and age band),
                   :func:`read_need_index` (m(p) per practice),
                   :func:`register_weighted_counts` (X_p)
``population``     :func:`register_population`: practices counted from the
                   register, with their levels from a practices file
``synthetic``      a seeded SYNTHETIC register, and a writer of the published
                   format (:func:`write_register_csv`)
=================  ============================================================
"""

from capitation.register.cost_weights import (
    CostWeights,
    read_cost_weights,
    read_need_index,
    register_weighted_counts,
)
from capitation.register.population import register_population
from capitation.register.read import REGISTER_COLUMNS, read_register
from capitation.register.synthetic import synthetic_register, write_register_csv

__all__ = [
    "REGISTER_COLUMNS",
    "CostWeights",
    "read_cost_weights",
    "read_need_index",
    "read_register",
    "register_population",
    "register_weighted_counts",
    "synthetic_register",
    "write_register_csv",
]
