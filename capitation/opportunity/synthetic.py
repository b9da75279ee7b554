"""A SYNTHETIC activity table for trying needs versus use: seeded, illustrative, never real.

:func:`synthetic_activity` makes one row per practice × service × provider
with ``activity``, ``patients`` and ``cost_gbp``, shaped like a year of
hospital activity for a practice population: use grows with need (the
weighted population), varies between practices more than chance alone
(overdispersion), and a few practices use markedly more than their need
predicts, so that funnel plots and peer benchmarks have something to find.
No real activity is used or implied; rates and prices are illustrative
orders of magnitude for England, not published figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.rounding import round_pence

__all__ = ["SYNTHETIC_SERVICES", "synthetic_activity"]

#: Per service: (activity per weighted person a year, pounds per activity, activity per
#: patient). ILLUSTRATIVE orders of magnitude for England, not published rates or tariffs.
SYNTHETIC_SERVICES: dict[str, tuple[float, float, float]] = {
    "emergency_admissions": (0.10, 2_400.0, 1.3),
    "elective_inpatient": (0.12, 1_500.0, 1.2),
    "outpatient_first": (0.35, 190.0, 1.1),
    "a_and_e": (0.30, 180.0, 1.4),
}


def synthetic_activity(weighted_population: pd.Series, seed: int, *,
                       services: Mapping[str, tuple[float, float, float]] | None = None,
                       providers: Sequence[str] = ("Acute trust", "Community trust"),
                       variation: float = 0.12, high_users: float = 0.05,
                       high_use: float = 1.35) -> pd.DataFrame:
    """Make a SYNTHETIC activity table for the practices of a weighted population.

    For practice p and service s (rate r, price c, activity per patient i):

    - the practice's use multiplier m_ps is Gamma-distributed with mean 1
      and coefficient of variation ``variation`` (use that need does not
      explain), times ``high_use`` for a random ``high_users`` fraction of
      practices (the same practices for every service);
    - activity A_ps ~ Poisson(WP_p × r × m_ps), split between the
      providers binomially with a practice-level share of the first
      provider drawn from Beta(8, 2);
    - patients ~ Binomial(A, 1/i), at least 1 where there is activity;
    - cost = R(A × c × g), g a Gamma price factor (mean 1, CV 5%) per
      practice, service and provider.

    Everything is drawn from one ``numpy.random.default_rng(seed)``, so the
    same inputs and seed give the same table.

    Parameters
    ----------
    weighted_population : pandas.Series
        Weighted population (persons) per practice, indexed by practice code
        (``results.table("practice")["weighted_population"]``), 0 or more.
    seed : int
        Seed of the random generator.
    services : mapping, optional
        Service → (activity per weighted person a year, pounds per activity,
        activity per patient); default :data:`SYNTHETIC_SERVICES`.
    providers : sequence of str
        One or two providers.
    variation : float
        Coefficient of variation of use between practices beyond need, 0 or more.
    high_users : float
        Fraction of practices that use more than their need predicts, 0 to 1.
    high_use : float
        How much more they use (1.35 is 35% more), 1 or more.

    Returns
    -------
    pandas.DataFrame
        SYNTHETIC. Columns ``practice``, ``service``, ``provider``
        (str), ``activity``, ``patients`` (int64 counts) and ``cost_gbp``
        (pounds, whole pence): the columns of an activity table
        (:func:`capitation.opportunity.read_activity`). Rows by practice,
        then service, then provider; rows with no activity are kept (0).

    Raises
    ------
    InputError
        A weighted population that is missing or negative, or a setting out of range.
    """
    services = dict(SYNTHETIC_SERVICES if services is None else services)
    values = pd.to_numeric(weighted_population, errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(values) & (values >= 0)) or len(values) == 0:
        raise InputError("weighted_population must be numbers, 0 or more, one per practice",
                         key="weighted_population")
    if len(providers) not in (1, 2):
        raise InputError(f"providers must be one or two names, got {list(providers)!r}",
                         key="providers")
    for name, value, low, high in (("variation", variation, 0.0, np.inf),
                                   ("high_users", high_users, 0.0, 1.0),
                                   ("high_use", high_use, 1.0, np.inf)):
        if not low <= value <= high:
            raise InputError(f"{name} must be from {low:g} to {high:g}, got {value!r}", key=name)
    rng = np.random.default_rng(seed)
    codes = weighted_population.index.astype(str).to_numpy()
    n = len(codes)
    is_high = rng.random(n) < high_users
    first_share = rng.beta(8.0, 2.0, n) if len(providers) == 2 else np.ones(n)
    frames = []
    for service, (rate, price, per_patient) in services.items():  # a few services
        if variation > 0:
            shape = 1.0 / variation**2
            multiplier = rng.gamma(shape, 1.0 / shape, n)
        else:
            multiplier = np.ones(n)
        multiplier = np.where(is_high, multiplier * high_use, multiplier)
        total = rng.poisson(values * rate * multiplier)
        first = rng.binomial(total, first_share)
        counts = (first, total - first)[:len(providers)]
        for provider, count in zip(providers, counts, strict=True):
            patients = rng.binomial(count, 1.0 / per_patient)
            patients = np.where(count > 0, np.maximum(patients, 1), 0)
            factor = rng.gamma(400.0, 1.0 / 400.0, n)  # CV 5%
            cost = np.asarray(round_pence(count * price * factor), dtype=np.int64) / 100.0
            frames.append(pd.DataFrame({
                "practice": codes, "service": service, "provider": provider,
                "activity": count.astype(np.int64), "patients": patients.astype(np.int64),
                "cost_gbp": cost}))
    table = pd.concat(frames, ignore_index=True)
    order = {s: i for i, s in enumerate(services)}
    table = table.sort_values(["practice", "service", "provider"],
                              key=lambda c: c.map(order) if c.name == "service" else c,
                              kind="stable")
    return table.reset_index(drop=True)
