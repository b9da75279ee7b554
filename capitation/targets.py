"""Pots, targets and their rounding to whole pence (docs/methods (weighted capitation, rounding)).

Component pots come from the envelope by largest remainder across components
(ties to the earlier component). Each component's pot is shared across
practices in proportion to their weighted counts, rounded by largest
remainder to the pot (ties to the lowest code). A practice's target is the
sum of its component targets, so targets add up exactly to the envelope.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.needs import NeedsFormula
from capitation.rounding import largest_remainder

__all__ = ["component_pots", "practice_targets"]


def component_pots(formula: NeedsFormula, envelope_pence: int) -> pd.Series:
    """Each component's pot in whole pence.

    Parameters
    ----------
    formula : NeedsFormula
        Components giving ``share`` (fractions of the envelope) or ``pot_pence``.
    envelope_pence : int
        The envelope in pence.

    Returns
    -------
    pandas.Series
        int64 pence indexed by component name, in formula order, summing to
        ``envelope_pence``.
    """
    names = formula.names
    if all(c.pot_pence is not None for c in formula.components):
        pots = pd.Series([c.pot_pence for c in formula.components], index=names, dtype=np.int64)
        if int(pots.sum()) != int(envelope_pence):
            raise InputError(
                f"component pots add up to £{pots.sum() / 100:,.2f} but the envelope is "
                f"£{envelope_pence / 100:,.2f}", key="model.envelope_gbp")
        return pots
    shares = pd.Series([c.share for c in formula.components], index=names, dtype=float)
    amounts_gbp = shares * (envelope_pence / 100.0)
    return largest_remainder(amounts_gbp, int(envelope_pence), order=names).astype(np.int64)


def practice_targets(counts: pd.DataFrame, pots_pence: pd.Series) -> pd.DataFrame:
    """Each practice's target per component in whole pence.

    target_pc = P_c × X_pc / Σ_q X_qc, rounded by largest remainder to P_c.

    Parameters
    ----------
    counts : pandas.DataFrame
        Weighted counts X, indexed by practice, one column per component.
    pots_pence : pandas.Series
        Pots in pence indexed by component.

    Returns
    -------
    pandas.DataFrame
        int64 pence, same shape as ``counts``.
    """
    ordered = counts.sort_index()
    out = {}
    for name in counts.columns:
        x = ordered[name]
        total = float(x.sum())
        if not total > 0:
            raise InputError(f'component "{name}": the weighted counts add up to {total:g}; '
                             "expected a positive total", key="component")
        amounts_gbp = x / total * (int(pots_pence[name]) / 100.0)
        out[name] = largest_remainder(amounts_gbp, int(pots_pence[name]))
    return pd.DataFrame(out).reindex(counts.index)
