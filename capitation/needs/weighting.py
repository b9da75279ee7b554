"""Applying a NeedsFormula: each practice's weighted count X per component.

docs/methods/weighted-capitation.md#from-published-weighted-populations (blends of published
weighted populations with
multipliers) and section 2.1 (cost weights on the GP register, times a need
index). The result feeds :mod:`capitation.targets`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitation.needs.formula import NeedsFormula
from capitation.population import Population

__all__ = ["weighted_counts"]


def weighted_counts(
    population: Population,
    formula: NeedsFormula,
    register: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Weighted count X_pc for every practice and component.

    Parameters
    ----------
    population : Population
        Practices with the columns the blends and multipliers name.
    formula : NeedsFormula
        The components.
    register : pandas.DataFrame, optional
        Long GP register (practice, sex, age, patients) for components that
        use cost weights (docs/methods/weighted-capitation.md#from-the-register).

    Returns
    -------
    pandas.DataFrame
        Indexed by practice (as ``population``), one float column per
        component (weighted persons).
    """
    frame = population.frame
    out = {}
    for component in formula.components:
        if component.uses_register:
            from capitation.register.cost_weights import register_weighted_counts

            if register is None:
                raise ValueError(f"component {component.name} needs the GP register")
            counts = register_weighted_counts(register, component.cost_weights,
                                              component.need_index)
            x = counts["weighted"].reindex(frame.index).to_numpy(dtype=float)
        else:
            x = np.zeros(len(frame))
            for column, weight in component.blend.items():
                x = x + weight * frame[column].to_numpy(dtype=float)
            for column in component.multipliers:
                x = x * frame[column].to_numpy(dtype=float)
        out[component.name] = x
    return pd.DataFrame(out, index=frame.index)
