"""Risk ranks and risk tiers (docs/methods/weighted-capitation.md#from-people).

Persons are ranked by ``risk_score``, highest first, ties by ``person_id``
ascending. A tier given as the top ``from`` to ``to`` fraction of the
population holds ranks floor(from × N + 0.5) up to, not including,
floor(to × N + 0.5).

Ranks are never stored. Each person gets an order key ``u`` (uint64, ascending
in rank order: the bits of the score, inverted) and a tier boundary is the key
``(u, person_id)`` of the first person of the tier. A person belongs to the
last tier whose boundary key is at or before its own key. This works the same
on one frame (pandas) and on many partitions (Dask).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from capitation.persons.selection import by_rank
from capitation.rounding import half_up

__all__ = ["RiskTier", "TierBoundaries", "rank_boundaries", "order_key", "boundaries_by_sort",
           "boundaries_by_selection", "assign_tiers", "tiers_of", "require_bounds", "check_tiers"]

_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class RiskTier:
    """One ``[[risk_tier]]`` of the model file.

    Attributes
    ----------
    name : str
        Tier name (``"very high"``).
    start, stop : float
        Fractions of the population by risk rank, highest first (``from``, ``to``).
    weight : float
        Relative need per person in the tier, t(k), 0 or more.
    """

    name: str
    start: float
    stop: float
    weight: float


@dataclass(frozen=True, eq=False)
class TierBoundaries:
    """Where each tier after the first starts, as order keys.

    Attributes
    ----------
    ranks : numpy.ndarray
        int64 first rank of every tier (length K), then N (length K + 1).
    keys_u : numpy.ndarray
        uint64 order key of the first person of tiers 1..K-1 (length K - 1).
    keys_id : numpy.ndarray
        person_id of that person (length K - 1).
    present : numpy.ndarray
        bool, False where the tier starts at rank N (it is empty and no
        person's key reaches it).
    """

    ranks: np.ndarray
    keys_u: np.ndarray
    keys_id: np.ndarray
    present: np.ndarray


def check_tiers(tiers: list[RiskTier]) -> str | None:
    """Say what is wrong with a list of tiers, or None when they cover 0..1 exactly.

    Parameters
    ----------
    tiers : list of RiskTier
        In rank order.

    Returns
    -------
    str or None
        A message naming the tiers that leave a gap or overlap.
    """
    if not tiers:
        return "no tiers (expected [[risk_tier]] entries covering 0 to 1)"
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        return f'tier "{twice[0]}" is named twice'
    for t in tiers:
        if not 0.0 <= t.start < t.stop <= 1.0:
            return (f'tier "{t.name}" runs from {t.start:g} to {t.stop:g} '
                    "(expected 0 <= from < to <= 1)")
    ordered = sorted(tiers, key=lambda t: t.start)
    if abs(ordered[0].start) > _TOLERANCE:
        return (f"the tiers start at {ordered[0].start:g}, leaving a gap from 0 "
                f'(tier "{ordered[0].name}")')
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start > before.stop + _TOLERANCE:
            return (f'gap between tier "{before.name}" (to {before.stop:g}) and tier '
                    f'"{after.name}" (from {after.start:g})')
        if after.start < before.stop - _TOLERANCE:
            return (f'tier "{before.name}" (to {before.stop:g}) overlaps tier "{after.name}" '
                    f"(from {after.start:g})")
    if abs(ordered[-1].stop - 1.0) > _TOLERANCE:
        return (f"the tiers end at {ordered[-1].stop:g}, leaving a gap to 1 "
                f'(tier "{ordered[-1].name}")')
    if [t.name for t in ordered] != names:
        return "tiers must be listed in rank order, highest risk first (by from)"
    return None


def rank_boundaries(tiers: list[RiskTier], n: int) -> np.ndarray:
    """First rank of each tier, then N: floor(from × N + 0.5).

    Method: docs/methods/weighted-capitation.md#from-people.

    Parameters
    ----------
    tiers : list of RiskTier
        Checked tiers in rank order.
    n : int
        Number of persons N.

    Returns
    -------
    numpy.ndarray
        int64 of length K + 1, non-decreasing, starting at 0 and ending at N.
    """
    starts = np.array([t.start for t in tiers], dtype=float)
    ranks = half_up(starts * n).astype(np.int64)
    return np.append(np.clip(ranks, 0, n), np.int64(n))


def order_key(score: np.ndarray) -> np.ndarray:
    """Order key of risk scores: ascending key is descending score.

    Parameters
    ----------
    score : numpy.ndarray
        float64 risk scores, 0 or more (checked at the edge).

    Returns
    -------
    numpy.ndarray
        uint64; for scores a > b >= 0, key(a) < key(b), and equal scores give
        equal keys (-0.0 counts as 0.0).
    """
    bits = (np.asarray(score, dtype=np.float64) + 0.0).view(np.uint64)  # a new array
    return np.invert(bits, out=bits)  # 2**64 - 1 - bits, in place


def boundaries_by_sort(u: np.ndarray, person_id: np.ndarray,
                       tiers: list[RiskTier]) -> tuple[TierBoundaries, np.ndarray]:
    """Tier boundaries from a full sort: the definition, which the selection is tested against.

    Parameters
    ----------
    u : numpy.ndarray
        uint64 order keys (:func:`order_key`).
    person_id : numpy.ndarray
        Unique person ids (integers or text).
    tiers : list of RiskTier

    Returns
    -------
    TierBoundaries
    numpy.ndarray
        Positions of the persons in rank order (``order[r]`` is rank r).
    """
    order = np.lexsort((person_id, u))
    ranks = rank_boundaries(tiers, len(u))
    starts = ranks[1:-1]
    present = starts < len(u)
    at = order[np.minimum(starts, max(len(u) - 1, 0))] if len(u) else starts
    keys_u = u[at] if len(u) else np.zeros(len(starts), dtype=np.uint64)
    keys_id = person_id[at] if len(u) else np.zeros(len(starts), dtype=person_id.dtype)
    return TierBoundaries(ranks=ranks, keys_u=keys_u, keys_id=keys_id, present=present), order


def boundaries_by_selection(u: np.ndarray, person_id: np.ndarray,
                            tiers: list[RiskTier]) -> TierBoundaries:
    """Tier boundaries by selection, without sorting everyone (pandas engine).

    The same keys as :func:`boundaries_by_sort`: the person at each tier's
    first rank is found by :func:`capitation.persons.selection.by_rank`
    (a partition, then the persons tied on the boundary key by person_id).

    Parameters
    ----------
    u : numpy.ndarray
        uint64 order keys (:func:`order_key`).
    person_id : numpy.ndarray
        Unique person ids (integers or text).
    tiers : list of RiskTier

    Returns
    -------
    TierBoundaries
    """
    ranks = rank_boundaries(tiers, len(u))
    starts = ranks[1:-1]
    present = starts < len(u)
    keys_u = np.zeros(len(starts), dtype=np.uint64)
    keys_id = np.zeros(len(starts), dtype=person_id.dtype)
    if present.any():
        found_u, found_id = by_rank(u, person_id, starts[present])
        keys_u[present], keys_id[present] = found_u, found_id
    if not present.all() and len(u):  # empty tiers: the last person's key, as by sort
        last_u, last_id = by_rank(u, person_id, np.array([len(u) - 1]))
        keys_u[~present], keys_id[~present] = last_u[0], last_id[0]
    return TierBoundaries(ranks=ranks, keys_u=keys_u, keys_id=keys_id, present=present)


def assign_tiers(u: np.ndarray, person_id: np.ndarray, bounds: TierBoundaries) -> np.ndarray:
    """Tier index (0 = highest risk) of each person from the boundary keys.

    Parameters
    ----------
    u : numpy.ndarray
        uint64 order keys.
    person_id : numpy.ndarray
        Person ids, same dtype as the boundary ids.
    bounds : TierBoundaries

    Returns
    -------
    numpy.ndarray
        int8 tier index per person.
    """
    tier = np.zeros(len(u), dtype=np.int8)
    for j in range(len(bounds.keys_u)):  # a loop over a few tiers, not over persons
        if not bounds.present[j]:
            continue
        ku, kid = bounds.keys_u[j], bounds.keys_id[j]
        at_or_after = (u > ku) | ((u == ku) & (person_id >= kid))
        tier += at_or_after.astype(np.int8)
    return tier


def tiers_of(columns: Mapping[str, np.ndarray], bounds: TierBoundaries | None,
             rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Tier index of the persons at ``rows``: the given tier column, else from the boundary keys.

    Parameters
    ----------
    columns : mapping of str to numpy.ndarray
        Validated persons (:mod:`capitation.persons.read`), all of them or one part.
    bounds : TierBoundaries or None
        Needed when there is no ``tier`` column.
    rows : numpy.ndarray or slice
        Positions of the persons wanted.

    Returns
    -------
    numpy.ndarray
        int8 tier index per person.
    """
    if "tier" in columns:
        return columns["tier"][rows]
    return assign_tiers(columns["u"][rows], columns["person_id"][rows], require_bounds(bounds))


def require_bounds(bounds: TierBoundaries | None) -> TierBoundaries:
    """Return the boundary keys, which persons without a ``tier`` column are ranked against.

    They are found whenever the persons carry a risk score (no tier column),
    so None here means a step ran before the ranking did.
    """
    if bounds is None:
        raise RuntimeError("persons have no tier column and the tier boundaries are not found yet")
    return bounds
