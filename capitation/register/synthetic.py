"""A seeded SYNTHETIC GP register, and a writer of NHS Digital's published format.

For benchmarks, tests and documentation: the practices, ages and counts are
invented (smooth illustrative age profiles, not fitted to published data).
The long form is :func:`capitation.register.read.read_register`'s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.files import atomic_path
from capitation.register.read import PUBLISHED_COLUMNS, REGISTER_COLUMNS, TOP_AGE

__all__ = ["synthetic_register", "write_register_csv"]


def _age_profiles() -> np.ndarray:
    """Return relative head counts by age 0..95, shape (2 profiles, 2 sexes, 96 ages).

    Profile 0 is a younger, urban list; profile 1 an older, coastal one. The
    shapes are smooth illustrative curves, not fitted to any published data.
    """
    age = np.arange(TOP_AGE + 1, dtype=np.float64)
    # Survival-like fall after late middle age; women live a little longer.
    survival = np.stack(
        [
            np.exp(-(np.maximum(age - 58.0, 0.0) ** 2) / (2 * 17.0**2)),
            np.exp(-(np.maximum(age - 62.0, 0.0) ** 2) / (2 * 18.0**2)),
        ]
    )
    young = np.exp(-((age - 30.0) ** 2) / (2 * 22.0**2)) + 0.35
    old = np.exp(-((age - 62.0) ** 2) / (2 * 20.0**2)) + 0.30
    profiles = np.stack([young, old])[:, None, :] * survival[None, :, :]
    # "95+" gathers everyone aged 95 and over: roughly three years' worth.
    profiles[:, :, TOP_AGE] *= 3.0
    return profiles


def synthetic_register(n_practices: int, seed: int) -> pd.DataFrame:
    """Make a SYNTHETIC GP register: invented practices with plausible age profiles.

    The data are invented, not drawn from any real register; use them for
    tests, benchmarks and examples only. List sizes are log-normal around
    9,000 patients (between 1,000 and 60,000); each practice mixes a younger
    and an older age profile in its own proportion; women outnumber men at
    old ages. Practice codes are ``SYN00001``, ``SYN00002``, ...; practices
    are grouped into sub-ICBs ``SYN001``, ``SYN002``, ... of about 40.

    Parameters
    ----------
    n_practices : int
        Number of practices, 1 or more.
    seed : int
        Seed of the ``numpy.random.default_rng`` used; the same seed gives the
        same register.

    Returns
    -------
    pandas.DataFrame
        The long form of :func:`read_register`: ``practice``, ``sex``,
        ``age``, ``patients`` (people), ``sub_icb``, with every practice,
        sex and age 0..95 present (zeros included), sorted by practice, sex
        and age.
    """
    if n_practices < 1:
        raise ValueError(f"n_practices is {n_practices} (expected 1 or more)")
    rng = np.random.default_rng(seed)
    list_size = np.clip(rng.lognormal(np.log(9_000), 0.55, n_practices), 1_000, 60_000)
    old_share = rng.beta(2.0, 2.5, n_practices)
    profiles = _age_profiles().reshape(2, -1)  # (profile, sex × age)
    probs = (1 - old_share)[:, None] * profiles[0] + old_share[:, None] * profiles[1]
    probs /= probs.sum(axis=1, keepdims=True)
    counts = rng.multinomial(list_size.astype(np.int64), probs)  # (practice, sex × age)

    n_ages = TOP_AGE + 1
    numbers = np.arange(1, n_practices + 1)
    codes = np.char.add("SYN", np.char.zfill(numbers.astype(str), 5))
    sub_icbs = np.char.add("SYN", np.char.zfill(((numbers - 1) // 40 + 1).astype(str), 3))
    # counts columns run M ages 0..95 then F ages 0..95; output sorts F first.
    counts = counts.reshape(n_practices, 2, n_ages)[:, ::-1, :]
    frame = pd.DataFrame(
        {
            "practice": np.repeat(codes, 2 * n_ages),
            "sex": np.tile(np.repeat(np.array(["F", "M"]), n_ages), n_practices),
            "age": np.tile(np.arange(n_ages, dtype=np.int64), 2 * n_practices),
            "patients": counts.reshape(-1).astype(np.int64),
            "sub_icb": np.repeat(sub_icbs, 2 * n_ages),
        }
    )
    frame["practice"] = frame["practice"].astype(str)
    frame["sex"] = frame["sex"].astype(str)
    frame["sub_icb"] = frame["sub_icb"].astype(str)
    return frame


def write_register_csv(frame: pd.DataFrame, path: Path, *, extract_date: str = "SYNTHETIC") -> Path:
    """Write a long-form register in NHS Digital's published CSV format.

    For each practice the file holds the single-year rows of each sex
    (``MALE`` then ``FEMALE``, ages ``"0"`` to ``"94"`` and ``"95+"``), an
    ``AGE == "ALL"`` total per sex, and a ``SEX == "ALL", AGE == "ALL"``
    practice total, as :func:`read_register` expects. ``ONS_SUB_ICB_LOCATION_CODE``
    and ``POSTCODE`` are left blank. The file is written atomically.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long form as returned by :func:`read_register`: columns ``practice``,
        ``sex`` (``"M"``/``"F"``), ``age`` (0..95), ``patients`` (people,
        whole numbers 0 or more) and ``sub_icb``.
    path : Path
        The CSV file to write (UTF-8, no byte-order mark).
    extract_date : str, default "SYNTHETIC"
        Text for the ``EXTRACT_DATE`` column; give the real date when the
        frame came from a real register.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        If a column is missing or a sex or age is outside the long form.
    """
    missing = [c for c in REGISTER_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"the register frame has no column {', '.join(missing)} "
            f"(expected {', '.join(REGISTER_COLUMNS)})",
            column=missing[0],
        )
    if not frame["sex"].isin(["M", "F"]).all():
        raise InputError('sex must be "M" or "F"', column="sex")
    ages = frame["age"].to_numpy()
    if not ((ages >= 0) & (ages <= TOP_AGE)).all():
        raise InputError("age must be 0 to 95 (95 stands for 95+)", column="age")

    detail = frame[list(REGISTER_COLUMNS)].copy()
    detail["order"] = detail["age"].to_numpy(dtype=np.int64)
    per_sex = detail.groupby(["practice", "sex"], as_index=False).agg(
        patients=("patients", "sum"), sub_icb=("sub_icb", "first")
    )
    per_sex["order"] = TOP_AGE + 1
    per_practice = detail.groupby("practice", as_index=False).agg(
        patients=("patients", "sum"), sub_icb=("sub_icb", "first")
    )
    per_practice["sex"] = "ALL"
    per_practice["order"] = TOP_AGE + 2
    out = pd.concat([detail, per_sex, per_practice], ignore_index=True)
    out["sex_order"] = out["sex"].map({"M": 0, "F": 1, "ALL": 2})
    out = out.sort_values(["practice", "sex_order", "order"], kind="stable")

    order = out["order"].to_numpy()
    age_text = np.where(
        order > TOP_AGE, "ALL", np.where(order == TOP_AGE, "95+", order.astype(str))
    )
    published = pd.DataFrame(
        {
            "EXTRACT_DATE": extract_date,
            "SUB_ICB_LOCATION_CODE": out["sub_icb"].to_numpy(),
            "ONS_SUB_ICB_LOCATION_CODE": "",
            "ORG_CODE": out["practice"].to_numpy(),
            "POSTCODE": "",
            "SEX": out["sex"].map({"M": "MALE", "F": "FEMALE", "ALL": "ALL"}).to_numpy(),
            "AGE": age_text,
            "NUMBER_OF_PATIENTS": out["patients"].to_numpy(dtype=np.int64),
        },
        columns=list(PUBLISHED_COLUMNS),
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        published.to_csv(tmp, index=False, lineterminator="\n")
    return path
