"""The agreement file: TOML tables → a validated :class:`~risk_share.agreement.Agreement`.

Checks the shape of the file (known keys, required keys, types) and names the
TOML key of any problem; :class:`~risk_share.agreement.Agreement` then checks
that the parts are consistent. Array positions in keys count from 1.

An agreement workbook (:mod:`risk_share.excel.agreement_workbook`) is read
into the same tables and validated by the same code; its errors name the
sheet and cell instead of the TOML key. :func:`export_agreement` writes an
agreement file (and plan lines) as such a workbook.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from capitation.errors import InputError
from capitation.inputs import TomlKeys, read_toml
from risk_share.agreement import (
    Agreement,
    Band,
    MarginalRate,
    Party,
    budget_at,
    fraction_at,
    money_at,
)

__all__ = ["agreement_from_dict", "agreement_from_excel", "agreement_to_dict", "export_agreement"]

_TOP_KEYS = {"agreement", "party", "pool", "marginal_rate"}
_AGREEMENT_KEYS = {"name", "year", "commissioner"}
_PARTY_KEYS = {"name", "influence", "max_loss", "max_gain", "max_loss_gbp", "max_gain_gbp"}
_POOL_KEYS = {"budget_gbp", "mode", "residual", "loss_band", "gain_band"}
_BAND_KEYS = {"upto", "shares"}
_RATE_KEYS = {"party", "pod", "above_plan", "below_plan", "tolerance"}
#: Required keys of each table → what a missing one should hold (named in the error).
_TOP_REQUIRED = {"agreement": "an [agreement] table", "party": "[[party]] tables",
                 "pool": "a [pool] table"}
_AGREEMENT_REQUIRED = {"name": "text, the agreement's title",
                       "year": 'text, a financial year such as "2018/19"',
                       "commissioner": "text, the name of the [[party]] that pays the plan"}
_PARTY_REQUIRED = {"name": "text, the party's name"}
_POOL_REQUIRED = {"budget_gbp": "a number of pounds", "mode": "corridor or first_dollar"}
_BAND_REQUIRED = {"shares": "a share per party, fractions adding up to 1"}
_RATE_REQUIRED = {"party": "text, the name of a [[party]]",
                  "pod": 'text, a point of delivery or "*"',
                  "above_plan": "a fraction such as 0.2", "below_plan": "a fraction such as 0.2"}


_KEYS = TomlKeys()  # errors name the key; Agreement.from_dict adds the file


def _check_keys(table: Any, allowed: set[str], key: str, required: Mapping[str, str]
                ) -> Mapping[str, Any]:
    return _KEYS.check_keys(table, key, allowed, required)


def _text(value: Any, key: str) -> str:
    return _KEYS.text_value(value, key)


def _optional_fraction(table: Mapping[str, Any], name: str, key: str) -> float | None:
    return fraction_at(table[name], f"{key}.{name}") if name in table else None


def _optional_money(table: Mapping[str, Any], name: str, key: str) -> float | None:
    return money_at(table[name], f"{key}.{name}") if name in table else None


def _array(data: Mapping[str, Any], name: str, key: str) -> list:
    value = data.get(name, [])  # an absent array of tables is an empty one
    if not isinstance(value, list):
        raise InputError(f"expected an array of tables ([[{key}]])", key=key)
    return value


def agreement_from_dict(data: Mapping[str, Any], source: str | None = None) -> Agreement:
    """Build an :class:`Agreement` from the parsed TOML document.

    Parameters
    ----------
    data : mapping
        The TOML document (``agreement``, ``party``, ``pool``, ``marginal_rate``).
    source : str, optional
        The file it came from, named in errors.

    Returns
    -------
    Agreement

    Raises
    ------
    InputError
        An unknown or missing key, or a value of the wrong type, naming the key;
        the agreement's own checks name theirs.
    """
    _check_keys(data, _TOP_KEYS, "", _TOP_REQUIRED)
    head = _check_keys(data["agreement"], _AGREEMENT_KEYS, "agreement", _AGREEMENT_REQUIRED)
    parties = []
    for i, table in enumerate(_array(data, "party", "party"), start=1):
        key = f"party[{i}]"
        _check_keys(table, _PARTY_KEYS, key, _PARTY_REQUIRED)
        parties.append(
            Party(
                name=_text(table["name"], f"{key}.name"),
                influence=_optional_fraction(table, "influence", key),
                max_loss=_optional_fraction(table, "max_loss", key),
                max_gain=_optional_fraction(table, "max_gain", key),
                max_loss_gbp=_optional_money(table, "max_loss_gbp", key),
                max_gain_gbp=_optional_money(table, "max_gain_gbp", key),
            )
        )
    pool = _check_keys(data["pool"], _POOL_KEYS, "pool", _POOL_REQUIRED)
    bands: dict[str, list[Band]] = {}
    for side in ("loss_band", "gain_band"):
        bands[side] = []
        for k, table in enumerate(_array(pool, side, f"pool.{side}"), start=1):
            key = f"pool.{side}[{k}]"
            _check_keys(table, _BAND_KEYS, key, _BAND_REQUIRED)
            shares = table["shares"]
            if not isinstance(shares, Mapping):
                raise InputError("expected an inline table of party = share", key=f"{key}.shares")
            bands[side].append(
                Band(
                    upto=_optional_fraction(table, "upto", key),
                    shares={str(p): fraction_at(s, f'{key}.shares."{p}"')
                            for p, s in shares.items()},
                )
            )
    rates = []
    for i, table in enumerate(_array(data, "marginal_rate", "marginal_rate"), start=1):
        key = f"marginal_rate[{i}]"
        _check_keys(table, _RATE_KEYS, key, _RATE_REQUIRED)
        rates.append(
            MarginalRate(
                party=_text(table["party"], f"{key}.party"),
                pod=_text(table["pod"], f"{key}.pod"),
                above_plan=fraction_at(table["above_plan"], f"{key}.above_plan"),
                below_plan=fraction_at(table["below_plan"], f"{key}.below_plan"),
                # An absent tolerance is none: the format marks it optional.
                tolerance=fraction_at(table.get("tolerance", 0.0), f"{key}.tolerance"),
            )
        )
    commissioner = _text(head["commissioner"], "agreement.commissioner")
    mode = _text(pool["mode"], "pool.mode")
    residual = _text(pool.get("residual", commissioner), "pool.residual")  # default per the issue
    return Agreement(
        name=_text(head["name"], "agreement.name"),
        year=_text(head["year"], "agreement.year"),
        commissioner=commissioner,
        parties=tuple(parties),
        budget_gbp=budget_at(pool["budget_gbp"]),
        mode=mode,
        residual=residual,
        loss_bands=tuple(bands["loss_band"]),
        gain_bands=tuple(bands["gain_band"]),
        marginal_rates=tuple(rates),
        source=source,
    )


def agreement_to_dict(agreement: Agreement) -> dict[str, Any]:
    """Return the agreement as the tables of its TOML file (as :func:`agreement_from_dict` reads).

    Keys the agreement leaves unset are left out, so reading the tables back
    gives the same agreement. Overrides (``Agreement.with_values``) are applied
    to these tables.

    Parameters
    ----------
    agreement : Agreement

    Returns
    -------
    dict
        ``agreement``, ``party``, ``pool`` and ``marginal_rate``, as ``tomllib``
        would give them.
    """
    parties = []
    for p in agreement.parties:
        table: dict[str, Any] = {"name": p.name}
        for attr in ("influence", "max_loss", "max_gain", "max_loss_gbp", "max_gain_gbp"):
            if getattr(p, attr) is not None:
                table[attr] = getattr(p, attr)
        parties.append(table)

    def bands(side: tuple[Band, ...]) -> list[dict[str, Any]]:
        out = []
        for band in side:
            entry: dict[str, Any] = {} if band.upto is None else {"upto": band.upto}
            entry["shares"] = dict(band.shares)
            out.append(entry)
        return out

    return {
        "agreement": {"name": agreement.name, "year": agreement.year,
                      "commissioner": agreement.commissioner},
        "party": parties,
        "pool": {"budget_gbp": agreement.budget_gbp, "mode": agreement.mode,
                 "residual": agreement.residual,
                 "loss_band": bands(agreement.loss_bands),
                 "gain_band": bands(agreement.gain_bands)},
        "marginal_rate": [{"party": r.party, "pod": r.pod, "above_plan": r.above_plan,
                           "below_plan": r.below_plan, "tolerance": r.tolerance}
                          for r in agreement.marginal_rates],
    }


def agreement_from_excel(path: str | Path) -> Agreement:
    """Read and validate an agreement workbook (as ``risk-share export`` writes it).

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` workbook.

    Returns
    -------
    Agreement
        The same agreement as the equivalent TOML file; its ``source`` is the workbook.

    Raises
    ------
    InputError
        Naming the workbook, sheet and cell of the first problem.
    """
    from risk_share.excel.agreement_workbook import read_agreement_workbook

    book = read_agreement_workbook(path)
    try:
        return agreement_from_dict(book.data, str(book.path))
    except InputError as error:
        raise book.locate(error) from None


def export_agreement(
    agreement_path: str | Path, out: str | Path, lines: str | Path | None = None
) -> Path:
    """Write an agreement file, and optionally its plan lines, as a workbook, atomically.

    Parameters
    ----------
    agreement_path : str or Path
        The TOML agreement (validated first: a bad agreement is not exported).
    out : str or Path
        The ``.xlsx`` to write: sheets ``instructions``, ``agreement``,
        ``party``, ``pool``, ``loss_band``, ``gain_band``, ``marginal_rate``
        and, with ``lines``, ``plan_lines``.
    lines : str or Path, optional
        A CSV of plan lines (validated against the agreement's parties), copied
        into the ``plan_lines`` sheet as written.

    Returns
    -------
    Path
        ``out``.
    """
    from risk_share.excel.agreement_workbook import write_agreement_workbook
    from risk_share.plan_lines_file import read_lines

    agreement = Agreement.from_toml(agreement_path)
    data = read_toml(agreement_path, what="agreement file")
    frame = None
    if lines is not None:
        read_lines(lines, agreement.party_names, need_actual=False)
        frame = pd.read_csv(lines, dtype=str, keep_default_na=False, skipinitialspace=True)
        frame.columns = [str(c).strip() for c in frame.columns]
    return write_agreement_workbook(data, out, frame, record_sections=True)
