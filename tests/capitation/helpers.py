"""Small builders shared by the capitation tests."""

from pathlib import Path

import pandas as pd

WORKED = pd.DataFrame({
    # docs/methods/weighted-capitation.md#from-the-register's worked example: one sex, two age bands
    # (0-64 weight 1.0, 65+ weight 3.0)
    "code": ["P1", "P2", "P3"],
    "ICB": ["I1", "I1", "I2"],
    "pop": [1_000, 1_000, 1_000],
    "age_0_64": [800, 900, 500],
    "age_65_plus": [200, 100, 500],
    "mff": [1.0, 1.0, 1.1],
})


def write_model(folder: Path, body: str, data: pd.DataFrame | None = None,
                name: str = "model.toml") -> Path:
    """Write a model file (and its population CSV as data.csv) into folder."""
    if data is not None:
        data.to_csv(folder / "data.csv", index=False)
    path = folder / name
    path.write_text(body)
    return path


def worked_model(folder: Path, components: str, envelope: str = "3_000_000",
                 extra: str = "", data: pd.DataFrame = WORKED) -> Path:
    body = f"""
[model]
name = "worked"
year = "2025/26"
envelope_gbp = {envelope}

[population]
file = "data.csv"
id = "code"
population = "pop"
levels = ["ICB"]
{components}
{extra}
"""
    return write_model(folder, body, data)
