"""Agreements side by side: each party's settlement, or spread of outcomes, under each option.

:func:`compare` takes settlements (or simulations) of the same outturn under
different terms, as :meth:`~risk_share.agreement.Agreement.with_values` makes
them, named, the first being the base:

- settlements: per party its final position under each option and the change
  from the base, in whole pence (positive = loss). Options that keep the
  plan lines move money between parties only, so each option's changes add
  up to exactly zero pence.
- simulations: per party the mean, the 95th percentile and the CVaR at 95% of
  its final position under each option (docs/methods/monte-carlo.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from capitation.comparison import Comparison
from capitation.errors import InputError
from capitation.rounding import round_pence
from risk_share.settlement import Settlement
from risk_share.simulation import Simulation

__all__ = ["compare"]

SIMULATION_FIGURES = ("mean_gbp", "p95_gbp", "cvar95_gbp")
"""Columns of :meth:`Simulation.summary` compared per option."""


def _parties(runs: Mapping[str, Settlement | Simulation]) -> pd.Index:
    names = list(runs)
    base = pd.Index(runs[names[0]].agreement.party_names, name="party")
    for name in names[1:]:
        other = runs[name].agreement.party_names
        if set(other) != set(base):
            raise InputError(f"option {name!r} has other parties ({', '.join(other)}) than "
                             f"{names[0]!r} ({', '.join(base)}); options compare the same "
                             "parties")
    return base


def compare(runs_by_name: Mapping[str, Settlement] | Mapping[str, Simulation]) -> Comparison:
    """Compare settlements, or simulations, of the same plan under different agreements.

    Parameters
    ----------
    runs_by_name : mapping of str to Settlement, or of str to Simulation
        Option name → its settlement (or simulation), the first being the base.

    Returns
    -------
    capitation.comparison.Comparison
        A DataFrame indexed by ``party`` (the base's order). For settlements:
        ``final_position_gbp__<name>`` per option and, for each option after
        the base, ``change_gbp__<name>`` (its final position − the base's,
        whole pence; positive = a larger loss). For simulations:
        ``mean_gbp__<name>``, ``p95_gbp__<name>`` and ``cvar95_gbp__<name>``
        per option (pounds, positive = loss).

    Raises
    ------
    InputError
        No runs, settlements mixed with simulations, or options whose parties differ.
    """
    names = list(runs_by_name)
    if not names:
        raise InputError("compare needs at least one settlement or simulation (the base)")
    runs: dict[str, Settlement | Simulation] = {k: v for k, v in runs_by_name.items()}
    settlements = {k: v for k, v in runs.items() if isinstance(v, Settlement)}
    simulations = {k: v for k, v in runs.items() if isinstance(v, Simulation)}
    if len(settlements) == len(runs):
        parties = _parties(runs)
        finals = {name: np.asarray(round_pence(
            settlements[name].parties["final_position_gbp"].reindex(parties).to_numpy(float),
            "a final position"), dtype=np.int64) for name in names}
        columns: dict[str, np.ndarray] = {}
        for name in names:
            columns[f"final_position_gbp__{name}"] = finals[name] / 100.0
            if name != names[0]:
                columns[f"change_gbp__{name}"] = (finals[name] - finals[names[0]]) / 100.0
        what = "final positions (positive = loss)"
    elif len(simulations) == len(runs):
        parties = _parties(runs)
        columns = {}
        for name in names:
            summary = simulations[name].summary().reindex(parties)
            for figure in SIMULATION_FIGURES:
                columns[f"{figure}__{name}"] = summary[figure].to_numpy(dtype=float)
        what = "simulated final positions: mean, p95, CVaR 95% (positive = loss)"
    else:
        kinds = sorted({type(r).__name__ for r in runs.values()})
        raise InputError(f"compare settlements with settlements and simulations with "
                         f"simulations, not {' and '.join(kinds)}")
    out = Comparison(columns, index=parties.copy())
    out.headlines = pd.DataFrame()
    out.caption = f"{what}: {', '.join(names[1:]) or 'no option'} against {names[0]}"
    return out
