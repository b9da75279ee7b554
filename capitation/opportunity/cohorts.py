"""Cohorts by needs profile: which kinds of people make up half of a service's activity.

With person-level activity (a count per person and service) beside the
person-level population (:mod:`capitation.persons`), each person has a needs
profile: risk tier × age band × sex. Within a unit (the whole system, a
place, a practice) and a service, profile k has P_k persons and A_k activity,
so A_k / P_k activity per head. Profiles are ranked by activity per head,
highest first (ties: tier order, then age band, then sex), and the cohort is
the leading profiles up to and including the one where the cumulative
activity first reaches ``share`` (half) of the unit's activity. Taking the
highest users per head first makes the cohort the fewest people, at the
granularity of profiles, who account for half the activity ("the cohorts of
patients, by needs profiles, which make up 50% of admissions").

The person-level activity file has columns ``person_id``, ``service`` and
``activity`` (whole, 0 or more), one row per person and service; a person
without a row had no activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import find_columns, number_column, read_csv, text_column
from capitation.opportunity.expected import population_by_age_band

__all__ = ["COHORT_COLUMNS", "DEFAULT_AGE_BANDS", "needs_profiles", "read_person_activity"]

#: Age bands of a needs profile unless ``[opportunity] age_bands`` gives others.
DEFAULT_AGE_BANDS = ("0-17", "18-64", "65-74", "75-84", "85+")
#: Columns of :func:`needs_profiles`.
COHORT_COLUMNS = ("level", "unit", "service", "rank", "tier", "age_band", "sex", "persons",
                  "activity", "activity_per_head", "activity_share", "cumulative_share",
                  "in_cohort")
_ABOUT = {"person_id": "the person's id, as in the persons file",
          "service": "the service, such as emergency_admissions",
          "activity": "a count of activity, 0 or more"}


def read_person_activity(path: str | Path, person_ids: pd.Index) -> pd.DataFrame:
    """Read a person-level activity file (module docstring), refusing unknown persons.

    Parameters
    ----------
    path : str or Path
        The CSV.
    person_ids : pandas.Index
        The persons of the model, as text.

    Returns
    -------
    pandas.DataFrame
        Columns ``person_id`` (str), ``service`` (str), ``activity`` (float).

    Raises
    ------
    InputError
        Naming the file, row and column: a missing column, a blank or
        non-numeric cell, negative or fractional activity, a person not in
        the persons file, or a person and service given twice.
    """
    path = Path(path)
    table = read_csv(path, what="person-level activity file",
                     expect_rows="one row per person and service")
    raw, rows = table.frame, table.rows
    found = find_columns(raw.columns, list(_ABOUT), file=path, case_sensitive=False,
                         about=_ABOUT)
    out = pd.DataFrame({c: text_column(raw[found[c]], what=_ABOUT[c], file=path, column=c,
                                       rows=rows).to_numpy(dtype=str)
                        for c in ("person_id", "service")})
    out["activity"] = number_column(raw[found["activity"]], what=_ABOUT["activity"],
                                    whole=True, file=path, column="activity", rows=rows)
    unknown = ~out["person_id"].isin(person_ids).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(f'person "{out["person_id"].iloc[i]}" is not in the persons file '
                         "(expected a person_id of the person-level population)", file=path,
                         row=int(rows[i]), column="person_id")
    repeated = out.duplicated(["person_id", "service"]).to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        raise InputError(f'person "{out["person_id"].iloc[i]}", service '
                         f'"{out["service"].iloc[i]}" appears again (expected one row per '
                         "person and service)", file=path, row=int(rows[i]), column="service")
    return out


def needs_profiles(persons: pd.DataFrame, activity: pd.DataFrame, *, levels: Sequence[str],
                   tiers: Sequence[str], age_bands: Sequence[str] = DEFAULT_AGE_BANDS,
                   share: float = 0.5) -> pd.DataFrame:
    """Rank needs profiles by activity per head and mark the cohort holding ``share`` of it.

    Parameters
    ----------
    persons : pandas.DataFrame
        One row per person: ``person_id`` (str), ``tier`` (a name of
        ``tiers``), ``sex`` (``"M"``/``"F"``), ``age`` (whole years, 95 for
        95+), ``practice`` and one column per name of ``levels`` (the unit's
        code at that level).
    activity : pandas.DataFrame
        ``person_id``, ``service``, ``activity`` (:func:`read_person_activity`).
    levels : sequence of str
        Levels to report besides the system and ``practice`` (``["place"]``).
    tiers : sequence of str
        Tier names in rank order (highest risk first): the tie order.
    age_bands : sequence of str
        Age bands (``"a-b"`` and a last ``"a+"``) covering 0 to 95+.
    share : float
        The cohort's share of activity, above 0 and at most 1.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COHORT_COLUMNS`: ``level`` (``system``, each
        of ``levels``, ``practice``), ``unit`` (its code; ``system`` for the
        system), ``service``, ``rank`` (1 = most activity per head), the
        profile (``tier``, ``age_band``, ``sex``), ``persons``, ``activity``,
        ``activity_per_head``, ``activity_share`` (of the unit's activity in
        the service), ``cumulative_share`` and ``in_cohort``. Profiles with no
        persons are left out; a unit with no activity in a service has no
        cohort.
    """
    if not 0 < share <= 1:
        raise InputError(f"share must be above 0 and at most 1, got {share!r}", key="share")
    # Refuse bands with a gap, an overlap or a bad label, in the words of the age-sex path.
    population_by_age_band(pd.DataFrame({"practice": ["-"], "sex": ["M"], "age": [0],
                                         "patients": [0.0]}), age_bands)
    starts = np.array([int(str(b).strip().rstrip("+").split("-")[0]) for b in age_bands])
    order = np.argsort(starts, kind="stable")
    labels = np.asarray([str(b).strip() for b in age_bands], dtype=object)[order]
    band = labels[np.searchsorted(starts[order], persons["age"].to_numpy(np.int64),
                                  side="right") - 1]
    used = activity.groupby(["person_id", "service"], sort=False)["activity"].sum().unstack(
        "service", fill_value=0).astype(float)
    # A person without a row had no activity (module docstring): zero.
    per_person = used.reindex(persons["person_id"].to_numpy(), fill_value=0.0)
    services = list(pd.unique(activity["service"]))
    base = pd.DataFrame({"tier": persons["tier"].to_numpy(), "age_band": band,
                         "sex": persons["sex"].to_numpy()})
    scopes = [("system", np.full(len(persons), "system", dtype=object))]
    scopes += [(level, persons[level].to_numpy(dtype=object)) for level in levels]
    scopes.append(("practice", persons["practice"].to_numpy(dtype=object)))
    tier_rank = {t: i for i, t in enumerate(tiers)}
    band_rank = {b: i for i, b in enumerate(labels)}
    pieces = []
    for level, units in scopes:  # a loop over a few levels
        keys = base.assign(unit=units)
        counts = keys.groupby(["unit", "tier", "age_band", "sex"], sort=False).size()
        for service in services:  # and a few services
            sums = pd.Series(per_person[service].to_numpy(dtype=float)).groupby(
                [keys[c] for c in ("unit", "tier", "age_band", "sex")], sort=False).sum()
            frame = pd.DataFrame({"persons": counts, "activity": sums.reindex(counts.index)})
            pieces.append(frame.reset_index().assign(level=level, service=service))
    table = pd.concat(pieces, ignore_index=True)
    table["persons"] = table["persons"].astype(np.int64)
    table["activity_per_head"] = table["activity"] / table["persons"]
    table["_tier"] = table["tier"].map(tier_rank)
    table["_band"] = table["age_band"].map(band_rank)
    table["_level"] = table["level"].map({lv: i for i, (lv, _) in enumerate(scopes)})
    table = table.sort_values(["_level", "unit", "service", "activity_per_head", "_tier",
                               "_band", "sex"],
                              ascending=[True, True, True, False, True, True, True],
                              kind="stable").reset_index(drop=True)
    group = table.groupby(["_level", "unit", "service"], sort=False)
    total = group["activity"].transform("sum").to_numpy()
    cumulative = group["activity"].cumsum().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["activity_share"] = np.where(total > 0, table["activity"] / total, np.nan)
        table["cumulative_share"] = np.where(total > 0, cumulative / total, np.nan)
    before = table["cumulative_share"].to_numpy() - table["activity_share"].to_numpy()
    # In the cohort while the share before this profile is still short of the target.
    table["in_cohort"] = (total > 0) & (before < share - 1e-12)
    table["rank"] = group.cumcount().to_numpy() + 1
    return table.loc[:, list(COHORT_COLUMNS)]
