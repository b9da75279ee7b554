"""Agreement: parties, marginal rates, pool bands, caps and collars.

Methods: docs/methods/marginal-rates.md and docs/methods/risk-reward-pool.md.

An :class:`Agreement` is read from a TOML file (the format of the risk_share
issue) by :meth:`Agreement.from_toml`, or built directly. Either way it is
validated when it is made, and every problem is an
:class:`~capitation.errors.InputError` naming the TOML key, such as
``pool.loss_band[2].shares``. Array positions in keys count from 1, as a
reader counts the ``[[pool.loss_band]]`` tables in the file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capitation.errors import InputError
from capitation.inputs import TomlKeys, read_toml

if TYPE_CHECKING:
    from collections.abc import Callable

    from capitation.overrides import Applied, Override
    from risk_share.settlement import Settlement
    from risk_share.simulation import Simulation

__all__ = ["Agreement", "Band", "MarginalRate", "Party", "POOL_MODES", "SHARE_TOLERANCE"]

POOL_MODES = ("corridor", "first_dollar")
MIN_BUDGET_GBP = 0.01
"""The smallest pool budget, in pounds: a penny."""
SHARE_TOLERANCE = 1e-9
"""Band shares must add up to 1 within this; they are then rescaled to add up to 1."""

ALL_PODS = "*"


@dataclass(frozen=True, eq=False)
class Party:
    """A party to the agreement: the commissioner or a provider.

    Parameters
    ----------
    name : str
        The party's name, as used in plan lines and band shares.
    influence : float, optional
        Its influence over the drivers of the pooled variance (a fraction);
        needed by :func:`risk_share.calibrate`, where influences add up to 1.
    max_loss, max_gain : float, optional
        Cap on its loss share and collar on its gain share, as fractions of
        the pool's ``budget_gbp``.
    max_loss_gbp, max_gain_gbp : float, optional
        The same in pounds (give a fraction or pounds, not both).
    """

    name: str
    influence: float | None = None
    max_loss: float | None = None
    max_gain: float | None = None
    max_loss_gbp: float | None = None
    max_gain_gbp: float | None = None

    @property
    def capped(self) -> bool:
        """Whether the party has a cap or a collar."""
        return any(
            x is not None
            for x in (self.max_loss, self.max_gain, self.max_loss_gbp, self.max_gain_gbp)
        )


@dataclass(frozen=True, eq=False)
class Band:
    """One band of the pool, on |V| as a fraction of the pool budget.

    Parameters
    ----------
    upto : float or None
        Upper bound of the band, a fraction of ``budget_gbp``; ``None`` for the
        last, unbounded band.
    shares : mapping of str to float
        Party name to share (fractions adding up to 1); unnamed parties get 0.
    """

    upto: float | None
    shares: Mapping[str, float]

    def __post_init__(self) -> None:
        """Keep a read-only copy of the shares."""
        object.__setattr__(self, "shares", MappingProxyType(dict(self.shares)))

    @property
    def shared(self) -> bool:
        """Whether more than one party has a positive share (docs/methods/calibration.md)."""
        return sum(1 for s in self.shares.values() if s > 0) > 1


@dataclass(frozen=True, eq=False)
class MarginalRate:
    """A marginal rate on a provider's lines (docs/methods/marginal-rates.md).

    Parameters
    ----------
    party : str
        The provider.
    pod : str
        Point of delivery, or ``"*"`` for every POD of the party (an exact POD
        beats ``"*"``).
    above_plan : float
        Fraction of the value above plan (beyond tolerance) the commissioner pays.
    below_plan : float
        Fraction of the value below plan (beyond tolerance) the provider returns.
    tolerance : float
        Fraction of planned value with no adjustment.
    """

    party: str
    pod: str
    above_plan: float
    below_plan: float
    tolerance: float = 0.0


@dataclass(frozen=True, eq=False)
class Agreement:
    """A risk share agreement: marginal rates (layer 1) and a risk/reward pool (layer 2).

    Parameters
    ----------
    name : str
        Title of the agreement.
    year : str
        Financial year, such as ``"2018/19"``.
    commissioner : str
        The party that pays the plan and holds the pooled variance before sharing.
    parties : tuple of Party
        Every party, in the order that breaks rounding ties (earlier wins).
    budget_gbp : float
        Pool budget in pounds: what band bounds and cap fractions refer to.
    mode : {"corridor", "first_dollar"}
        How bands share the pooled variance (docs/methods/risk-reward-pool.md).
    residual : str
        The party that takes what a capped party cannot; it may have no cap.
    loss_bands, gain_bands : tuple of Band
        Bands for a pooled loss (V > 0) and gain (V < 0), in increasing order.
    marginal_rates : tuple of MarginalRate
        Rates on provider lines; a line no rate matches is a block (rates 0).
    calibration : pandas.DataFrame, optional
        Set by :func:`risk_share.calibrate`: index ``party``; influence, share,
        appetite_gbp, cvar_before_gbp, cvar_after_gbp.
    source : str, optional
        The file the agreement was read from, named in error messages.
    overrides : tuple of capitation.overrides.Applied
        Keys changed by :meth:`with_values`, with what the file had.

    Raises
    ------
    InputError
        When the agreement is inconsistent; the message names the TOML key.
    """

    name: str
    year: str
    commissioner: str
    parties: tuple[Party, ...]
    budget_gbp: float
    mode: str
    residual: str
    loss_bands: tuple[Band, ...]
    gain_bands: tuple[Band, ...]
    marginal_rates: tuple[MarginalRate, ...] = ()
    calibration: pd.DataFrame | None = field(default=None, repr=False)
    source: str | None = field(default=None, repr=False)
    overrides: tuple[Applied, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        """Validate, naming the TOML key of any problem."""
        object.__setattr__(self, "parties", tuple(self.parties))
        object.__setattr__(self, "marginal_rates", tuple(self.marginal_rates))
        try:
            _validate_parties(self)
            object.__setattr__(self, "loss_bands", _validate_bands(self, "loss_band"))
            object.__setattr__(self, "gain_bands", _validate_bands(self, "gain_band"))
            _validate_rates(self)
        except InputError as error:
            if self.source is None:
                raise
            raise InputError(error.reason, file=self.source, key=error.key) from None
        if self.calibration is not None:
            object.__setattr__(self, "calibration", self.calibration.copy())

    # ------------------------------------------------------------------ reading

    @classmethod
    def from_toml(cls, path: str | Path) -> Agreement:
        """Read and validate an agreement file.

        Parameters
        ----------
        path : str or Path
            The TOML file (format in the risk_share issue).

        Returns
        -------
        Agreement

        Raises
        ------
        InputError
            Naming the file and the TOML key at fault.
        """
        path = Path(path)
        return cls.from_dict(read_toml(path, what="agreement file"), source=str(path))

    @classmethod
    def from_excel(cls, path: str | Path) -> Agreement:
        """Read and validate an agreement workbook (``risk-share export`` writes one).

        Parameters
        ----------
        path : str or Path
            The ``.xlsx`` workbook: sheets ``agreement``, ``party``, ``pool``,
            ``loss_band``, ``gain_band`` and optionally ``marginal_rate``.

        Returns
        -------
        Agreement
            Exactly the agreement of the equivalent TOML file.

        Raises
        ------
        InputError
            Naming the workbook, sheet and cell at fault (``loss_band!C4``).
        """
        from risk_share.agreement_file import agreement_from_excel

        return agreement_from_excel(path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Agreement:
        """Build an agreement from the parsed TOML tables.

        Parameters
        ----------
        data : mapping
            The TOML document as a dict (``agreement``, ``party``, ``pool``,
            ``marginal_rate``).
        source : str, optional
            The file it came from, named in errors.

        Returns
        -------
        Agreement
        """
        from risk_share.agreement_file import agreement_from_dict

        try:
            return agreement_from_dict(data, source)
        except InputError as error:
            if source is None or error.file is not None:
                raise
            raise InputError(error.reason, file=source, key=error.key) from None

    def input_files(self, lines: pd.DataFrame | str | Path | None = None) -> dict[str, Path]:
        """Return the files a settlement or simulation reads: agreement and plan lines.

        Command lines check an output against these before running: inputs
        are never modified.

        Parameters
        ----------
        lines : pandas.DataFrame or str or Path, optional
            The plan lines as given to :meth:`settle` or :meth:`simulate`; a
            path is listed, a DataFrame is not a file.

        Returns
        -------
        dict of str to Path
            ``"agreement"`` → the file it was read from (absent when it was
            built from a dict), and ``"lines"`` → the plan lines file.
        """
        files: dict[str, Path] = {}
        if self.source is not None:
            files["agreement"] = Path(self.source)
        if isinstance(lines, (str, Path)):
            files["lines"] = Path(lines)
        return files

    def with_values(self, values: Mapping[str, Any] | Iterable[Override]) -> Agreement:
        """Return a new agreement with some keys of its file changed; this one is unchanged.

        Parameters
        ----------
        values : mapping of str to object
            Dotted key → new value, such as ``{"party.Acute trust.max_loss": 0.03,
            "pool.loss_band.2.shares.Acute trust": 0.5}``: parties named by name,
            bands and marginal rates by position from 1 (the scheme is in
            :mod:`capitation.overrides`). Or :class:`capitation.overrides.Override`
            objects, as ``--set`` on the command line gives them.

        Returns
        -------
        Agreement
            Validated as the agreement file is (a calibration is not carried
            over: its shares were for the old terms); ``overrides`` lists each
            change with what the file had.

        Raises
        ------
        InputError
            The override as written, then what the agreement file would say.
        """
        from dataclasses import replace

        from capitation.overrides import apply_overrides, as_overrides
        from risk_share.agreement_file import agreement_to_dict

        def validate(data: dict[str, Any]) -> Agreement:
            return Agreement.from_dict(data, source=self.source)

        new, applied = apply_overrides(agreement_to_dict(self), as_overrides(values), validate,
                                       self.overrides)
        return replace(new, overrides=applied)

    def sweep(
        self,
        key: str,
        values: Iterable[Any],
        lines: pd.DataFrame | str | Path,
        n: int | None = None,
        **simulate: Any,
    ) -> pd.DataFrame:
        """Settle (or simulate) the same plan with one key of the agreement over many values.

        Parameters
        ----------
        key : str
            A key of the agreement file, addressed as :mod:`capitation.overrides`
            says (``party.Acute trust.max_loss``, ``pool.loss_band.2.upto``).
        values : iterable
            The values, in order; each is validated before anything is settled.
        lines : pandas.DataFrame or str or Path
            Plan lines, as :meth:`settle` (or :meth:`simulate`) takes them.
        n : int, optional
            Scenarios to simulate at each value; without it the lines' outturn
            is settled.
        **simulate
            ``cv``, ``correlation``, ``seed``, ``distribution`` for :meth:`simulate`
            (give a seed: every value then sees the same scenarios).

        Returns
        -------
        pandas.DataFrame
            Indexed by (value, ``party``), the first level named after ``key``:
            the settlement's per-party table (``variance_before_pool_gbp``,
            ``pool_share_gbp``, ``final_position_gbp``, ``pool_transfer_gbp``),
            or with ``n`` the simulation's summary (``mean_gbp`` ... ``cvar95_gbp``).

        Raises
        ------
        InputError
            A value the agreement file would refuse (the override as written first).
        """
        from capitation.overrides import Override, format_value

        values = list(values)
        options = [self.with_values([Override(key, v, f"{key} = {format_value(v)}")])
                   for v in values]
        if n is None:
            if simulate:
                raise TypeError(f"{', '.join(simulate)} need n (scenarios to simulate)")
            tables = [option.settle(lines).parties for option in options]
        else:
            tables = [option.simulate(lines, n=n, **simulate).summary() for option in options]
        frame = pd.concat(tables, keys=values, names=[key, "party"])
        return frame

    # ------------------------------------------------------------------ names

    @property
    def party_names(self) -> list[str]:
        """Party names in agreement order (the rounding tie-break order)."""
        return [p.name for p in self.parties]

    def party(self, name: str) -> Party:
        """Return the party called ``name``.

        Raises
        ------
        KeyError
            When there is no such party.
        """
        for p in self.parties:
            if p.name == name:
                return p
        raise KeyError(f"no party called {name!r} in the agreement (parties: {self.party_names})")

    def caps_gbp(self) -> tuple[np.ndarray, np.ndarray]:
        """Loss caps and gain collars in pounds, one per party (``inf`` when none).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Largest loss share and largest gain (as a positive amount), in pounds.
        """
        loss = np.full(len(self.parties), np.inf)
        gain = np.full(len(self.parties), np.inf)
        for i, p in enumerate(self.parties):
            if p.max_loss is not None:
                loss[i] = p.max_loss * self.budget_gbp
            if p.max_loss_gbp is not None:
                loss[i] = p.max_loss_gbp
            if p.max_gain is not None:
                gain[i] = p.max_gain * self.budget_gbp
            if p.max_gain_gbp is not None:
                gain[i] = p.max_gain_gbp
        return loss, gain

    # ------------------------------------------------------------------ computing

    def summary(self) -> pd.DataFrame:
        """Return the pool's bands: one row per band, each party's share as a column.

        Returns
        -------
        pandas.DataFrame
            Indexed by (``side``: "loss" or "gain", ``band``: 1, 2, ...), with
            ``from_gbp`` and ``upto_gbp`` (band bounds on |variance|, pounds;
            NaN for the open top band) and one column per party (its share).
        """
        rows = []
        for side, bands in (("loss", self.loss_bands), ("gain", self.gain_bands)):
            lower = 0.0
            for number, band in enumerate(bands, start=1):
                upper = np.nan if band.upto is None else band.upto * self.budget_gbp
                row = {"side": side, "band": number, "from_gbp": lower, "upto_gbp": upper}
                row.update({name: float(band.shares.get(name, 0.0))  # unnamed parties get 0
                            for name in self.party_names})
                rows.append(row)
                lower = upper
        return pd.DataFrame(rows).set_index(["side", "band"])

    def _repr_html_(self) -> str:
        from capitation.display import html_table, pounds

        caption = (f"{self.name}: pool budget {pounds(self.budget_gbp)}, {self.mode} mode, "
                   f"residual party {self.residual}")
        return html_table(self.summary(), caption)

    def share(self, variance_gbp: float | np.ndarray | pd.Series) -> pd.Series | pd.DataFrame:
        """Share a pooled variance between the parties (docs/methods/risk-reward-pool.md).

        Parameters
        ----------
        variance_gbp : float or array-like
            Pooled variance in pounds (positive = loss), rounded to whole pence
            first. A number uses the scalar path; an array (one per scenario)
            the vectorised path.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            For a number: share per party (index ``party``), pounds in whole
            pence with the variance's sign, adding up to it exactly. For an
            array: scenarios × parties (index ``scenario`` from 1, or the
            Series' index).
        """
        from risk_share.pool import share_gbp

        return share_gbp(self, variance_gbp)

    def settle(self, lines: pd.DataFrame | str | Path) -> Settlement:
        """Settle an outturn (docs/methods/settlement.md).

        Parameters
        ----------
        lines : pandas.DataFrame or str or Path
            Plan lines with ``party``, ``pod``, ``planned_activity``,
            ``actual_activity`` and ``price_gbp`` (and optionally ``fixed``),
            or the path of a CSV file with those columns.

        Returns
        -------
        Settlement
        """
        from risk_share.settlement import settle

        return settle(self, lines)

    def simulate(
        self,
        lines: pd.DataFrame | str | Path,
        n: int,
        cv: float | np.ndarray | list[float] = 0.05,
        correlation: float | np.ndarray = 0.0,
        seed: int | None = None,
        distribution: str = "lognormal",
        progress: Callable[[int], None] | bool | None = None,
    ) -> Simulation:
        """Simulate ``n`` outturns and settle each (docs/methods/monte-carlo.md).

        See :func:`risk_share.simulation.simulate` for the parameters.

        Returns
        -------
        Simulation
        """
        from risk_share.simulation import simulate

        return simulate(
            self,
            lines,
            n=n,
            cv=cv,
            correlation=correlation,
            seed=seed,
            distribution=distribution,
            progress=progress,
        )


# ---------------------------------------------------------------------- validation


_KEYS = TomlKeys()  # errors name the key; __post_init__ adds the file


def fraction_at(value: Any, key: str) -> float:
    """Return ``value`` as a fraction from 0 to 1, else an InputError naming ``key``.

    Rates, tolerances, shares, band bounds, caps and influences: a value from
    1 to 100 is refused as a percentage typed as a whole number, as the
    agreement workbook refuses it.
    """
    return _KEYS.number(value, key, low=0.0, high=1.0, fraction=True)


def money_at(value: Any, key: str) -> float:
    """Return ``value`` as pounds, at least 0 and at most ``MAX_MONEY_GBP``, else an InputError."""
    return _KEYS.number(value, key, low=0.0, money=True)


def budget_at(value: Any, key: str = "pool.budget_gbp") -> float:
    """Return ``value`` as a pool budget: pounds, at least a penny, at most ``MAX_MONEY_GBP``.

    Band bounds and caps are fractions of it, so a budget that rounds to no
    pence (``5e-324``) would make every band and cap nothing.
    """
    budget = _KEYS.number(value, key, above=0.0, money=True)
    if budget < MIN_BUDGET_GBP:
        raise InputError(f"{budget:g} is below {MIN_BUDGET_GBP:g} (must be at least "
                         f"{MIN_BUDGET_GBP:g}, a penny)", key=key)
    return budget


def _validate_parties(ag: Agreement) -> None:
    if not ag.parties:
        raise InputError("the agreement needs at least one [[party]]", key="party")
    seen: dict[str, int] = {}
    for i, p in enumerate(ag.parties, start=1):
        key = f"party[{i}]"
        if p.name in seen:
            raise InputError(f"{p.name!r} is already party[{seen[p.name]}]", key=f"{key}.name")
        seen[p.name] = i
        for attr in ("max_loss", "max_gain", "influence"):
            if getattr(p, attr) is not None:
                fraction_at(getattr(p, attr), f"{key}.{attr}")
        for attr in ("max_loss_gbp", "max_gain_gbp"):
            if getattr(p, attr) is not None:
                money_at(getattr(p, attr), f"{key}.{attr}")
        for kind in ("loss", "gain"):
            if getattr(p, f"max_{kind}") is not None and getattr(p, f"max_{kind}_gbp") is not None:
                raise InputError(
                    f"give max_{kind} (a fraction of budget_gbp) or max_{kind}_gbp, not both",
                    key=f"{key}.max_{kind}_gbp",
                )
    if ag.commissioner not in seen:
        raise InputError(
            f"{ag.commissioner!r} is not a [[party]] (parties: {', '.join(seen)})",
            key="agreement.commissioner",
        )
    if ag.residual not in seen:
        raise InputError(
            f"{ag.residual!r} is not a [[party]] (parties: {', '.join(seen)})", key="pool.residual"
        )
    residual = ag.parties[seen[ag.residual] - 1]
    if residual.capped:
        raise InputError(
            f"{ag.residual!r} is the residual party, which takes what capped parties cannot, "
            f"so it may have no max_loss or max_gain (see party[{seen[ag.residual]}])",
            key="pool.residual",
        )
    _KEYS.choice(ag.mode, "pool.mode", POOL_MODES)
    budget_at(ag.budget_gbp)


def _validate_bands(ag: Agreement, side: str) -> tuple[Band, ...]:
    bands = ag.loss_bands if side == "loss_band" else ag.gain_bands
    bands = tuple(bands)
    if not bands:
        raise InputError(
            f"at least one [[pool.{side}]] is needed (the last has no upto: unbounded)",
            key=f"pool.{side}",
        )
    names = set(ag.party_names)
    previous = 0.0
    out = []
    for k, band in enumerate(bands, start=1):
        key = f"pool.{side}[{k}]"
        last = k == len(bands)
        if band.upto is None and not last:
            raise InputError(
                "only the last band may omit upto; bands must be in increasing order",
                key=f"{key}.upto",
            )
        if band.upto is not None:
            if last:
                raise InputError(
                    "the last band must have no upto: it covers everything above the band "
                    "before it",
                    key=f"{key}.upto",
                )
            upto = fraction_at(band.upto, f"{key}.upto")
            if upto <= previous:
                raise InputError(
                    f"{upto:g} is not above the previous bound {previous:g}: bands must be in "
                    "increasing order without overlapping",
                    key=f"{key}.upto",
                )
            previous = upto
        for party, share in band.shares.items():
            if party not in names:
                raise InputError(
                    f"{party!r} is not a [[party]] (parties: {', '.join(ag.party_names)})",
                    key=f'{key}.shares."{party}"',
                )
            fraction_at(share, f'{key}.shares."{party}"')
        total = math.fsum(band.shares.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            raise InputError(f"shares add up to {total:.10g}, not 1", key=f"{key}.shares")
        # Rescale so shares add up to 1 to the last bit (within SHARE_TOLERANCE already).
        out.append(Band(upto=band.upto, shares={p: s / total for p, s in band.shares.items()}))
    return tuple(out)


def _validate_rates(ag: Agreement) -> None:
    names = set(ag.party_names)
    seen: dict[tuple[str, str], int] = {}
    for i, rate in enumerate(ag.marginal_rates, start=1):
        key = f"marginal_rate[{i}]"
        if rate.party not in names:
            raise InputError(
                f"{rate.party!r} is not a [[party]] (parties: {', '.join(ag.party_names)})",
                key=f"{key}.party",
            )
        if rate.party == ag.commissioner:
            raise InputError(
                f"{rate.party!r} is the commissioner: its own lines are paid at actual value "
                "(rate 1), so it takes no marginal rate",
                key=f"{key}.party",
            )
        for attr in ("above_plan", "below_plan", "tolerance"):
            fraction_at(getattr(rate, attr), f"{key}.{attr}")
        spot = (rate.party, rate.pod)
        if spot in seen:
            what = "every POD" if rate.pod == ALL_PODS else f"POD {rate.pod!r}"
            raise InputError(
                f"marginal_rate[{seen[spot]}] already sets the rate for {rate.party!r}, {what}: "
                "two equally specific rates for one line",
                key=key,
            )
        seen[spot] = i
