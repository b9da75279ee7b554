"""Helpers for the person-level tests: write persons, a practices file and a model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# docs/methods/weighted-capitation.md#from-people (Roland et al., BMJ 2012, after Wennberg)
ROLAND_TIERS = [
    ("very high", 0.0, 0.005, 18.6),
    ("high", 0.005, 0.05, 5.5),
    ("moderate", 0.05, 0.2, 1.7),
    ("low", 0.2, 1.0, 0.5),
]


def write_persons(frame: pd.DataFrame, folder: Path, parts: int = 1) -> Path:
    """Write person rows as ``parts`` Parquet parts in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[chunk].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    return folder


def write_model(tmp: Path, persons: str, practices: pd.DataFrame, *, envelope: int,
                tiers=ROLAND_TIERS, components: str | None = None, extra: str = "",
                risk: str = 'risk_score = "risk_score"') -> Path:
    """Write practices.csv and model.toml in ``tmp``; return the model file."""
    practices.to_csv(tmp / "practices.csv", index=False)
    tier_text = "".join(
        f'\n[[risk_tier]]\nname = "{n}"\nfrom = {a}\nto = {b}\nweight = {w}\n'
        for n, a, b, w in tiers)
    components = components or '[[component]]\nname = "core"\nshare = 1.0\n'
    text = f"""[model]
name = "person test"
year = "2025/26"
envelope_gbp = {envelope}

[population]
persons = "{persons}"
person_id = "person_id"
id = "practice"
sex = "sex"
age = "age"
{risk}
practices = "practices.csv"
levels = ["ICB"]
{extra}
{tier_text}
{components}
"""
    path = tmp / "model.toml"
    path.write_text(text)
    return path


def practices_frame(codes) -> pd.DataFrame:
    """A practices file: every practice in ICB ``Q1`` or ``Q2`` alternately."""
    codes = list(codes)
    return pd.DataFrame({"practice": codes,
                         "ICB": ["Q1" if i % 2 == 0 else "Q2" for i in range(len(codes))]})


def tiered_persons(sizes: list[int], practices: int = 4, seed: int = 0) -> pd.DataFrame:
    """Persons with distinct risk scores, the first ``sizes[0]`` highest, and so on.

    Everyone is aged 40 (no cost weights needed); practices and sexes are mixed.
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    score = np.linspace(100.0, 1.0, n)  # rank r has the r-th highest score
    ids = rng.permutation(n) + 1
    return pd.DataFrame({
        "person_id": ids,
        "practice": [f"P{i % practices + 1}" for i in range(n)],
        "sex": np.where(np.arange(n) % 2 == 0, "M", "F"),
        "age": 40,
        "risk_score": score,
    })
