"""Need: how each component of the envelope counts it, and counting it.

Method: docs/methods/weighted-capitation.md.

- :mod:`~capitation.needs.formula`: :class:`NeedsFormula` and its
  :class:`Component` (a pot, and a blend of weighted-population columns with
  multipliers, or cost weights on the GP register with a need index);
- :mod:`~capitation.needs.weighting`: the formula applied to a practice
  table, giving each practice's weighted count per component.
"""

from capitation.needs.formula import Component, NeedsFormula
from capitation.needs.weighting import weighted_counts

__all__ = ["Component", "NeedsFormula", "weighted_counts"]
