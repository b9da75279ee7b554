"""NeedsFormula: how each component of the envelope counts need.

A component (core services, primary medical care, prescribing, ...) has a pot
(a share of the envelope or pounds) and a way to count each practice's need
(docs/methods/weighted-capitation.md):

- a blend of weighted-population columns, times multiplier columns that
  apply to this component only (section 2.3), or
- cost weights by sex and age applied to the GP register, times an optional
  need index per practice (section 2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from capitation.register.cost_weights import CostWeights

__all__ = ["Component", "NeedsFormula", "MAX_WEIGHT"]

#: The largest weight a model file or cost-weights file may give: a blend
#: weight, a cost weight w(s, a) or a tier weight. Weights are relative costs
#: (often 0 to 10, or pounds per head); anything above this is a slip such as
#: 1e30, which would swamp every other weight.
MAX_WEIGHT = 100_000.0


@dataclass(frozen=True, eq=False)
class Component:
    """One component of the envelope.

    Attributes
    ----------
    name : str
        Component name (``core``); used in column names ``target_<name>_gbp``.
    share : float or None
        Fraction of the envelope (0.9 means 90%), or None when ``pot_pence`` is given.
    pot_pence : int or None
        The component's pot in whole pence, or None when ``share`` is given.
    blend : dict of str to float
        Weighted-population column → weight (section 2.3); empty on the register path.
    multipliers : tuple of str
        Columns that multiply this component's blend.
    cost_weights : CostWeights or None
        Cost weights by sex and age for the register path.
    need_index : pandas.Series or None
        Need index per practice for the register path.
    """

    name: str
    share: float | None = None
    pot_pence: int | None = None
    blend: dict[str, float] = field(default_factory=dict)
    multipliers: tuple[str, ...] = ()
    cost_weights: CostWeights | None = None
    need_index: pd.Series | None = None

    @property
    def uses_register(self) -> bool:
        """True when the component counts need from the GP register (section 2.1)."""
        return not self.blend


@dataclass(frozen=True, eq=False)
class NeedsFormula:
    """The components of an envelope, in the order the model file gives them.

    Attributes
    ----------
    components : tuple of Component
    """

    components: tuple[Component, ...]

    @property
    def names(self) -> list[str]:
        """Component names in order."""
        return [c.name for c in self.components]

    def columns(self) -> list[str]:
        """Every population column the blends and multipliers use, each once."""
        seen: dict[str, None] = {}
        for component in self.components:
            for column in [*component.blend, *component.multipliers]:
                seen[column] = None
        return list(seen)
