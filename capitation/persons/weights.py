"""Per-person weights w_c(s, a) × t_c(k), counted in cells and summed to practices.

Method: docs/methods/weighted-capitation.md#from-people.

Persons with the same practice, sex, age (capped at 95) and tier weigh the
same, so both engines reduce the persons to exact integer counts per *cell*
(practice × sex × age × tier) and every figure is computed from the cells in
one canonical order. That is why the pandas and Dask engines agree to the
penny, and why, with every tier weight 1, the practice counts equal the
register path's (docs/methods/weighted-capitation.md#from-the-register) on the same people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitation.needs import NeedsFormula
from capitation.persons.counting import count_keys
from capitation.persons.tiers import RiskTier, TierBoundaries, tiers_of

__all__ = ["N_AGES", "PersonWeights", "weight_tables", "cell_codes", "count_cells",
           "combine_cells", "practice_counts", "practice_factors", "cell_need", "person_need",
           "count_part_cells", "need_table", "need_of"]

N_AGES = 96  # ages 0..95; 95 stands for 95 and over


@dataclass(frozen=True, eq=False)
class PersonWeights:
    """Each component's cost weights by sex and age and its tier weights.

    A person's weight for component c is ``by_age[c, s, a] × tier[c, k]``.

    Attributes
    ----------
    names : tuple of str
        Component names in model order.
    by_age : numpy.ndarray
        float64 (components, 2 sexes (M, F), 96 ages): w_c(s, a), 1 without cost weights.
    tier : numpy.ndarray
        float64 (components, tiers): t_c(k).
    need_index : tuple of (numpy.ndarray or None)
        Per component, m_c(p) per practice in sorted code order (None: 1).
    """

    names: tuple[str, ...]
    by_age: np.ndarray
    tier: np.ndarray
    need_index: tuple[np.ndarray | None, ...] = ()

    def of(self, c: int, sex: np.ndarray, age: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """Weight w_c(s, a) × t_c(k) of each person (or cell) for component ``c``."""
        return self.by_age[c][sex, age] * self.tier[c][tier]


def weight_tables(formula: NeedsFormula, tier_weights: list[dict[str, float] | None],
                  tiers: list[RiskTier], codes: pd.Index) -> PersonWeights:
    """Collect the weights of every component.

    Parameters
    ----------
    formula : NeedsFormula
        Components; a component without cost weights weighs every age 1.
    tier_weights : list of dict or None
        Per component, tier name → weight overriding the ``[[risk_tier]]``
        weight for that component only.
    tiers : list of RiskTier
        Tiers in rank order.
    codes : pandas.Index
        Practice codes (sorted), for the need indices.

    Returns
    -------
    PersonWeights
    """
    by_age = np.ones((len(formula.components), 2, N_AGES))
    tier = np.empty((len(formula.components), len(tiers)))
    need: list[np.ndarray | None] = []
    for c, component in enumerate(formula.components):  # a loop over a few components
        if component.cost_weights is not None:
            by_age[c] = component.cost_weights.by_age()
        override = tier_weights[c] or {}
        tier[c] = [override.get(t.name, t.weight) for t in tiers]
        need.append(None if component.need_index is None
                    else component.need_index.reindex(codes).to_numpy(dtype=float))
    return PersonWeights(names=tuple(formula.names), by_age=by_age, tier=tier,
                         need_index=tuple(need))


def cell_codes(practice: np.ndarray, sex: np.ndarray, age: np.ndarray, tier: np.ndarray,
               n_tiers: int) -> np.ndarray:
    """One int64 code per person: ((practice × 2 + sex) × 96 + age) × K + tier."""
    code = practice.astype(np.int64)  # a new array, then worked on in place (one array's memory)
    code *= 2
    code += sex
    code *= N_AGES
    code += age
    code *= n_tiers
    code += tier
    return code


def count_cells(practice: np.ndarray, sex: np.ndarray, age: np.ndarray, tier: np.ndarray,
                n_tiers: int) -> pd.DataFrame:
    """Count persons per cell.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (int64 cell code) and ``n`` (int64 persons), sorted by code.
    """
    codes, counts, _ = count_keys(cell_codes(practice, sex, age, tier, n_tiers))
    return pd.DataFrame({"code": codes, "n": counts})


def combine_cells(parts: list[pd.DataFrame], n_tiers: int) -> pd.DataFrame:
    """Add up cell counts from several parts and decode the cells.

    Parts holding whole practices (as ``synth-persons`` writes them) share no
    cell, so their cells only need putting side by side.

    Returns
    -------
    pandas.DataFrame
        Columns ``practice`` (int32), ``sex``, ``age``, ``tier`` (int8) and
        ``n`` (int64), sorted by practice, sex, age and tier; no empty cells.
    """
    code = np.concatenate([p["code"].to_numpy(np.int64) for p in parts] or [np.zeros(0, np.int64)])
    n = np.concatenate([p["n"].to_numpy(np.int64) for p in parts] or [np.zeros(0, np.int64)])
    if not np.all(code[1:] > code[:-1]):  # some cell in several parts
        code, _, summed = count_keys(code, n.astype(np.float64))
        n = np.rint(summed).astype(np.int64)  # whole numbers far below 2**53: exact
    tier = code % n_tiers
    rest = code // n_tiers
    age = rest % N_AGES
    rest = rest // N_AGES
    return pd.DataFrame({"practice": (rest // 2).astype(np.int32),
                         "sex": (rest % 2).astype(np.int8), "age": age.astype(np.int8),
                         "tier": tier.astype(np.int8), "n": n})


def _columns(cells: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(cells[c].to_numpy(np.int64) for c in ("practice", "sex", "age", "tier", "n"))


def practice_counts(cells: pd.DataFrame, weights: PersonWeights, codes: pd.Index) -> pd.DataFrame:
    """Weighted count X_pc = m_c(p) × Σ_{i at p} w_c(s_i, a_i) × t_c(k_i).

    Summed as m_c(p) × Σ_{s,a} w_c(s, a) × (Σ_k n(p, s, a, k) × t_c(k)) in cell
    order: with every t_c = 1 the inner sum is the register's whole count
    n(p, s, a), so the result is the register path's
    (docs/methods/weighted-capitation.md#from-the-register).

    Parameters
    ----------
    cells : pandas.DataFrame
        From :func:`combine_cells`.
    weights : PersonWeights
    codes : pandas.Index
        Practice codes (sorted), named ``practice``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``codes``, one float64 column per component (weighted persons).
    """
    p, s, a, k, n = _columns(cells)
    group = (p * 2 + s) * N_AGES + a
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else group
    out = {}
    for c, name in enumerate(weights.names):  # a loop over a few components
        inner = np.add.reduceat(n * weights.tier[c][k], first) if len(first) else np.zeros(0)
        weighted = inner * weights.by_age[c][s[first], a[first]]
        x = np.bincount(p[first], weights=weighted, minlength=len(codes))
        need_index = weights.need_index[c] if weights.need_index else None
        if need_index is not None:
            x = x * need_index
        out[name] = x
    return pd.DataFrame(out, index=codes)


def practice_factors(cells: pd.DataFrame, weights: PersonWeights,
                     targets_pence: np.ndarray) -> np.ndarray:
    """Pence per unit of weight in each practice and component: T_c(p) / Σ_{i at p} weight_i.

    A person's unrounded budget for component c is this factor times the
    person's weight (docs/methods/weighted-capitation.md#from-people: target_c × weight_i / Σ_j
    weight_j).

    Parameters
    ----------
    cells : pandas.DataFrame
    weights : PersonWeights
    targets_pence : numpy.ndarray
        int64 (practices, components): practice targets in pence.

    Returns
    -------
    numpy.ndarray
        float64 (components, practices); 0 where a practice has no weight.
    """
    p, s, a, k, n = _columns(cells)
    n_practices = targets_pence.shape[0]
    out = np.zeros((len(weights.names), n_practices))
    for c in range(len(weights.names)):
        total = np.bincount(p, weights=n * weights.of(c, s, a, k), minlength=n_practices)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[c] = np.where(total > 0, targets_pence[:, c] / total, 0.0)
    return out


def person_need(factors: np.ndarray, weights: PersonWeights, practice: np.ndarray,
                sex: np.ndarray, age: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Unrounded budget in pence of each person (or of one person of each cell), all components."""
    need = np.zeros(len(practice))
    for c in range(len(weights.names)):
        need = need + factors[c][practice] * weights.of(c, sex, age, tier)
    return need


def cell_need(cells: pd.DataFrame, weights: PersonWeights, factors: np.ndarray) -> np.ndarray:
    """Unrounded budget in pence of all persons of each cell (Σ over components)."""
    p, s, a, k, n = _columns(cells)
    return n * person_need(factors, weights, p, s, a, k)


# -- kernels both engines run on persons (all of them, or one part on a Dask worker) --------


def count_part_cells(columns: Mapping[str, np.ndarray], bounds: TierBoundaries | None,
                     n_tiers: int) -> pd.DataFrame:
    """Count validated persons per cell (:func:`count_cells`), tiers by :func:`tiers_of`."""
    return count_cells(columns["practice"], columns["sex"], columns["age"],
                       tiers_of(columns, bounds), n_tiers)


def need_table(cells: pd.DataFrame, weights: PersonWeights, factors: np.ndarray,
               n_practices: int) -> np.ndarray:
    """Unrounded budget in pence of one person of each cell, indexed by cell code.

    Every person of a cell has the same need, so persons look theirs up
    (:func:`need_of`): the same float operations per cell as per person
    (:func:`person_need`), so the same values.

    Parameters
    ----------
    cells : pandas.DataFrame
        From :func:`combine_cells`.
    weights : PersonWeights
    factors : numpy.ndarray
        From :func:`practice_factors`.
    n_practices : int

    Returns
    -------
    numpy.ndarray
        float64 of length practices × 2 × 96 × tiers; 0 for empty cells.
    """
    n_tiers = weights.tier.shape[1]
    p, s, a, k, _ = _columns(cells)
    table = np.zeros(n_practices * 2 * N_AGES * n_tiers)
    table[cell_codes(p, s, a, k, n_tiers)] = person_need(factors, weights, p, s, a, k)
    return table


def need_of(table: np.ndarray, columns: Mapping[str, np.ndarray], bounds: TierBoundaries | None,
            n_tiers: int, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Unrounded budget in pence of the persons at ``rows``, from :func:`need_table`."""
    return table[cell_codes(columns["practice"][rows], columns["sex"][rows],
                            columns["age"][rows], tiers_of(columns, bounds, rows), n_tiers)]
