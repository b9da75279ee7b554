"""Digests of the allocation tables of the shipped models and variants of them.

Run as a script to (re)write ``digests.json`` from the code as it is. The test
``tests/capitation/test_allocation.py`` compares a run against the stored
file, so a change to any table of any of these models (a penny, a column, a
need index's last digit) fails it. The stored digests were taken from the
code before allocation became a public step (``capitation.allocate``), so
they pin that move as behaviour-preserving.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
STORE = Path(__file__).with_name("digests.json")


def _variants(folder: Path) -> dict[str, Path]:
    """The shipped models and variants of demo.toml, written into ``folder``."""
    models = ROOT / "models"
    for item in models.iterdir():
        target = folder / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copy(item, target)
    (folder / "capitation").mkdir()
    shutil.copytree(ROOT / "capitation" / "data", folder / "capitation" / "data")
    demo = (folder / "demo.toml").read_text()
    demo = demo.replace("../capitation/data", "capitation/data")
    (folder / "demo.toml").write_text(demo)
    out = {"demo": folder / "demo.toml",
           "register_example": folder / "register_example" / "model.toml",
           "persons_demo": folder / "persons_demo.toml"}

    def variant(name: str, text: str) -> None:
        path = folder / f"{name}.toml"
        path.write_text(text)
        out[name] = path

    variant("demo_nhs_england", demo.replace('"toolkit"', '"nhs_england"'))
    variant("demo_rule_capped", demo.replace('method = "lp"',
                                             'method = "rule"\nmax_growth = 0.06'))
    variant("demo_no_pace", re.sub(r"\[pace_of_change\][\s\S]*", "", demo))
    variant("demo_two_years", demo.replace(
        "envelope_gbp = 120_000_000_000", "envelope_gbp = [120_000_000_000, 124_000_000_000]"
    ).replace('method = "lp"', 'method = "lp"\nyears = ["2025/26", "2026/27"]'))
    return out


def table_digest(frame) -> str:
    """SHA-256 of a table as CSV (floats in full: repr), without its ``name`` column.

    Organisation names (``[population] names``) came after the digests were
    stored; they are labels, not figures, and are checked by the tests of names,
    so the digests still pin every penny, figure, column and code.
    """
    frame = frame.drop(columns="name", errors="ignore")
    return hashlib.sha256(frame.to_csv().encode()).hexdigest()


def digests() -> dict[str, dict[str, str]]:
    """Model → "year level" → digest of that table, for every variant."""
    from capitation import Model

    with tempfile.TemporaryDirectory() as tmp:
        out: dict[str, dict[str, str]] = {}
        for name, path in _variants(Path(tmp)).items():
            results = Model.from_toml(path).run()
            out[name] = {f"{year} {level}": table_digest(results.table(level, year))
                         for year in results.years for level in results.levels}
        return out


if __name__ == "__main__":
    STORE.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORE}", file=sys.stderr)
