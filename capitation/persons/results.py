"""What the person-level path adds to a run's results.

Method: docs/methods/weighted-capitation.md#from-people.

:class:`PersonResults` holds the tier table, the smallest cohort that carries
half the need and the plan for patient-specific budgets, which it writes as a
frame or as Parquet parts (:func:`write_parts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitation.persons.budgets import MAX_FRAME_ROWS, BudgetPlan, budget_frame
from capitation.persons.opportunity import Opportunity, opportunity

__all__ = ["PersonResults", "write_parts"]


@dataclass(frozen=True, eq=False)
class PersonResults:
    """What the person-level path adds to :class:`capitation.results.Results`.

    Attributes
    ----------
    tiers : pandas.DataFrame
        See :attr:`capitation.results.Results.tiers`.
    cohort_50_share : float
        Smallest top-ranked fraction of persons whose need reaches half the total.
    persons : int
        Number of persons N.
    plan : BudgetPlan
        For :meth:`person_budgets`.
    """

    tiers: pd.DataFrame
    cohort_50_share: float
    persons: int
    plan: BudgetPlan

    def opportunity(self, reduction: float = 0.10) -> Opportunity:
        """Opportunity analysis for a cut of ``reduction`` (fraction of total need)."""
        return opportunity(self.tiers, reduction, self.cohort_50_share)

    def person_budgets(self, tiers: str | Iterable[str] | None = None,
                       practice: str | Iterable[str] | None = None,
                       to: str | Path | None = None) -> pd.DataFrame | Path:
        """Patient-specific budgets; see :meth:`capitation.results.Results.person_budgets`."""
        plan = self.plan
        tier_set = None if tiers is None else ([tiers] if isinstance(tiers, str) else list(tiers))
        if tier_set is not None:
            unknown = sorted(set(tier_set) - set(plan.tier_names))
            if unknown:
                raise KeyError(f'no tier "{unknown[0]}" (tiers are {", ".join(plan.tier_names)})')
        practices = None
        if practice is not None:
            wanted = [practice] if isinstance(practice, str) else list(practice)
            practices = np.searchsorted(plan.codes, wanted)
            practices = np.minimum(practices, len(plan.codes) - 1)
            bad = [w for w, i in zip(wanted, practices, strict=True) if plan.codes[i] != w]
            if bad:
                raise KeyError(f'no practice "{bad[0]}"')
        if plan.engine == "dask":
            if to is None:
                raise ValueError("on the Dask engine person budgets go to Parquet parts: "
                                 "give to=FOLDER")
            from capitation.persons.dask_engine import write_person_budgets

            return write_person_budgets(plan, tier_set, practices, Path(to))
        frame = plan.frame
        if frame is None:  # the pandas engine keeps the persons in the plan
            raise RuntimeError("no persons kept for person budgets on the pandas engine")
        if practices is not None:
            frame = frame[np.isin(frame["practice"].to_numpy(), practices)]
        out = budget_frame(frame, plan)
        if tier_set is not None:
            out = out[out["tier"].isin(tier_set)]
        if to is not None:
            return write_parts(out, Path(to), plan)
        if len(out) > MAX_FRAME_ROWS:
            raise ValueError(f"{len(out):,} person budgets: more than {MAX_FRAME_ROWS:,} rows, "
                             "give to=FOLDER to write them as Parquet parts")
        return out.set_index("person_id")


def write_parts(frame: pd.DataFrame, folder: Path, plan: BudgetPlan,
                rows: int = MAX_FRAME_ROWS) -> Path:
    """Write a frame as Parquet parts ``part-00000.parquet``, ... into a new folder, atomically."""
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise ValueError(f"{folder} exists and is not empty")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for i, start in enumerate(range(0, max(len(frame), 1), rows)):
            chunk = frame.iloc[start:start + rows]
            pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False),
                           tmp / f"part-{i:05d}.parquet")
        if folder.exists():
            folder.rmdir()
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    plan.written.append(folder)
    return folder


