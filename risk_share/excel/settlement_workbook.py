"""A settlement's working for its workbook: rates per line, the pool by band, caps.

:func:`settlement_sheets` computes, from a :class:`~risk_share.settlement.Settlement`,
every figure the settlement workbook shows beyond the settlement's own
tables (the rates and excess of each line; each band's bounds and slice of
the pooled variance; each party's share of each band, before and after caps),
with the same functions that settled it. :func:`write_settlement` hands them to
the writer (:mod:`risk_share.excel.settlement_sheets`), which turns each into
a live formula caching this value; :func:`write_settlement_into` adds those
sheets to a copy of the agreement workbook (``settle --with-inputs``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capitation.excel.patch import write_into
from capitation.rounding import round_pence
from risk_share.excel.settlement_sheets import SettlementSheets, write_settlement_workbook
from risk_share.marginal_rates import line_terms
from risk_share.plan_lines_file import read_lines
from risk_share.pool import band_amounts_pence, pool_terms, raw_shares_pence
from risk_share.settlement import Settlement

__all__ = ["settlement_sheets", "write_settlement", "write_settlement_into"]


def settlement_sheets(settlement: Settlement) -> SettlementSheets:
    """Gather the tables of a settlement workbook.

    Parameters
    ----------
    settlement : Settlement
        A settled outturn.

    Returns
    -------
    SettlementSheets
        Pounds; the settlement's lines and parties tables with their working
        columns appended (see :class:`risk_share.excel.settlement_sheets.SettlementSheets`).
    """
    agreement = settlement.agreement
    names = agreement.party_names
    clean = read_lines(
        settlement.lines[["party", "pod", "planned_activity", "actual_activity", "price_gbp"]],
        names,
        need_actual=True,
    )
    terms = line_terms(agreement, clean)
    lines = settlement.lines.copy()
    lines["above_plan"] = terms.above_plan
    lines["below_plan"] = terms.below_plan
    lines["tolerance"] = terms.tolerance
    variance = np.asarray(round_pence(lines["variance_gbp"].to_numpy(dtype=float),
                                      "the variance of a plan line"), np.int64)
    excess = np.sign(variance) * np.maximum(0, np.abs(variance) - terms.tolerance_pence)
    lines["excess_gbp"] = excess / 100.0

    pooled = np.array([round_pence(settlement.pooled_variance_gbp, "the pooled variance")],
                      dtype=np.int64)
    pool = pool_terms(agreement)
    loss_amounts, gain_amounts = band_amounts_pence(agreement, pooled)
    band_rows = []
    parties = settlement.parties.copy()
    shares_by_band = []
    for side, bands, bounds, amounts in (
        ("loss", agreement.loss_bands, pool.loss_bounds, loss_amounts[0]),
        ("gain", agreement.gain_bands, pool.gain_bounds, gain_amounts[0]),
    ):
        for k, band in enumerate(bands, start=1):
            shares = np.array([band.shares.get(p, 0.0) for p in names])  # unnamed: 0 (§8.1)
            row = {
                "side": side,
                "band": k,
                "upto": np.nan if band.upto is None else band.upto,
                "lower_gbp": 0.0 if k == 1 else bounds[k - 2] / 100.0,
                "upper_gbp": bounds[k - 1] / 100.0 if k <= len(bounds) else np.nan,
                "slice_gbp": amounts[k - 1] / 100.0,
            }
            row.update({f"share:{p}": s for p, s in zip(names, shares, strict=True)})
            band_rows.append(row)
            parties[f"{side}_band_{k}_gbp"] = amounts[k - 1] * shares / 100.0
            shares_by_band.append(amounts[k - 1] * shares)
    parties["band_share_gbp"] = np.sum(shares_by_band, axis=0) / 100.0
    parties["unrounded_pool_share_gbp"] = raw_shares_pence(pool, pooled)[0] / 100.0

    caps = pd.DataFrame(
        {
            "max_loss": [np.nan if p.max_loss is None else p.max_loss for p in agreement.parties],
            "max_gain": [np.nan if p.max_gain is None else p.max_gain for p in agreement.parties],
            "loss_cap_gbp": np.where(np.isfinite(pool.loss_caps), pool.loss_caps / 100.0, np.nan),
            "gain_collar_gbp": np.where(
                np.isfinite(pool.gain_collars), pool.gain_collars / 100.0, np.nan
            ),
        },
        index=pd.Index(names, name="party"),
    )
    return SettlementSheets(
        lines=lines,
        parties=parties,
        terms={
            "name": agreement.name,
            "year": agreement.year,
            "commissioner": agreement.commissioner,
            "residual": agreement.residual,
            "mode": agreement.mode,
            "budget_gbp": agreement.budget_gbp,
            "pooled_variance_gbp": settlement.pooled_variance_gbp,
        },
        bands=pd.DataFrame(band_rows),
        caps=caps,
        assumptions=tuple(applied.row() for applied in agreement.overrides),
        run_at=settlement.run_at,
    )


def write_settlement(settlement: Settlement, path: str | Path) -> Path:
    """Write a settlement workbook with live formulas, atomically.

    Parameters
    ----------
    settlement : Settlement
        A settled outturn.
    path : str or Path
        Output ``.xlsx``: sheets ``settled_lines``, ``parties`` and ``agreement_terms``.

    Returns
    -------
    Path
        ``path``.
    """
    return write_settlement_workbook(settlement_sheets(settlement), path)


def write_settlement_into(settlement: Settlement, workbook: str | Path, out: str | Path) -> Path:
    """Write a settlement's sheets into a copy of the agreement workbook, atomically.

    The sheets ``settled_lines``, ``parties`` and ``agreement_terms`` are added
    (or, in a workbook that has them, replaced) as :func:`write_settlement`
    writes them; every other part of ``workbook`` is kept byte for byte
    (:func:`capitation.excel.patch.write_into`, as ``capitation run
    --with-inputs`` does).

    Parameters
    ----------
    settlement : Settlement
        A settled outturn.
    workbook : str or Path
        The team's agreement workbook; never modified.
    out : str or Path
        The output ``.xlsx``; must not be ``workbook``.

    Returns
    -------
    Path
        ``out``.
    """
    return write_into(lambda path: write_settlement(settlement, path), workbook, out)
