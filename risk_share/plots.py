"""Board-paper charts of a risk share: share curves, a fan chart of positions, calibration.

Each function returns a :class:`matplotlib.figure.Figure` and computes
nothing itself: the shares come from :meth:`Agreement.share`, the bands of
the fan chart from :meth:`Simulation.percentiles`, the calibration bars from
``Agreement.calibration``. Every drawn element can be read back from the
figure (line data, bar positions), which is what the tests check.

Every chart states the sign convention of
:data:`risk_share.settlement.SIGN_CONVENTION` on its axis: a party's share or
position is positive when it is a loss borne by the party, negative when a
gain; a pooled variance is positive for an overspend.

Figures are closed in pyplot before they are returned, so Jupyter shows each
once and scripts that draw many keep no memory; ``fig.savefig(path)`` works.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator, PercentFormatter

from capitation.plots import pounds_formatter, save_png
from risk_share.agreement import POOL_MODES, Agreement
from risk_share.sensitivity import Sensitivity
from risk_share.settlement import POSITION_SIGN
from risk_share.simulation import Simulation

__all__ = [
    "BAND_EDGE",
    "calibration_chart",
    "fan_chart",
    "share_curves",
    "tornado",
    "variance_grid",
    "write_charts",
]

BAND_EDGE = "band edge"
"""The ``gid`` of the dashed lines that mark the pool's band bounds."""

_PARTY_COLOURS = ("#1f4e79", "#c0504d", "#9bbb59", "#8064a2", "#4bacc6", "#f79646")
_MODE_TITLES = {
    "corridor": "corridor: each slice at its own band's shares",
    "first_dollar": "first dollar: all of it at the band it reaches",
}


def _new_figure(rows: int = 1, cols: int = 1, figsize: tuple[float, float] | None = None,
                sharey: bool = False) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(rows, cols, squeeze=False, layout="constrained", figsize=figsize,
                             sharey=sharey)
    plt.close(fig)  # returned, not kept by pyplot: shown once in Jupyter, no leak in loops
    return fig, axes


def _band_edges_gbp(agreement: Agreement) -> list[float]:
    """Band bounds in pounds: gain bounds negative, loss bounds positive, in order."""
    budget = agreement.budget_gbp
    loss = [b.upto * budget for b in agreement.loss_bands if b.upto is not None]
    gain = [-b.upto * budget for b in agreement.gain_bands if b.upto is not None]
    return sorted(gain + loss)


def variance_grid(agreement: Agreement, span: float = 0.10, points: int = 401) -> np.ndarray:
    """Pooled variances to draw share curves at, in pounds (whole pence).

    Evenly spaced from ``-span`` to ``+span`` of the pool budget, plus each
    band bound within that range and the penny beyond it, so that a
    first-dollar jump is drawn at the bound itself.

    Parameters
    ----------
    agreement : Agreement
        The agreement (its ``budget_gbp`` and band bounds).
    span : float
        Half-width of the range, a fraction of the pool budget (0.10 is ±10%).
    points : int
        Number of evenly spaced points.

    Returns
    -------
    numpy.ndarray
        Increasing pounds, each a whole number of pence.
    """
    if not span > 0 or points < 2:
        raise ValueError("span must be positive and points at least 2")
    limit = span * agreement.budget_gbp
    even = np.linspace(-limit, limit, points)
    edges = np.array([e for e in _band_edges_gbp(agreement) if -limit < e < limit])
    beyond = edges + np.sign(edges) * 0.01
    grid = np.unique(np.round(np.concatenate([even, edges, beyond]) * 100.0) / 100.0)
    return grid


def share_curves(
    agreement: Agreement,
    span: float = 0.10,
    points: int = 401,
    modes: Sequence[str] = POOL_MODES,
) -> Figure:
    """Each party's share of the pooled variance, from a gain to a loss of ``span`` of budget.

    One panel per pool mode (docs/methods/risk-reward-pool.md), with the agreement's parties,
    bands, caps and collars; only the mode changes between panels. Dashed
    vertical lines (``gid`` :data:`BAND_EDGE`) mark the band bounds.

    Parameters
    ----------
    agreement : Agreement
        The agreement; its own mode is one of the panels.
    span : float
        Half-width of the range of pooled variance, a fraction of the pool
        budget (default 0.10: from a 10% gain to a 10% loss).
    points : int
        Evenly spaced variances drawn (band bounds are added).
    modes : sequence of str
        Pool modes to draw, one panel each (default both).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per mode, titled by the mode. In each, one line per party
        (label: the party's name) whose x data is the pooled variance and y
        data the party's share from :meth:`Agreement.share` (pounds, positive
        = loss); the top axis shows the variance as a fraction of budget.
    """
    unknown = [m for m in modes if m not in POOL_MODES]
    if unknown:
        raise ValueError(f"unknown mode {', '.join(unknown)} (modes are {', '.join(POOL_MODES)})")
    grid = variance_grid(agreement, span, points)
    budget = agreement.budget_gbp
    fig, axes = _new_figure(1, len(modes), figsize=(6.0 * len(modes), 4.8), sharey=True)
    for ax, mode in zip(axes[0], modes, strict=True):
        shares = dataclasses.replace(agreement, mode=mode).share(grid)
        for i, party in enumerate(agreement.party_names):
            ax.plot(grid, shares[party].to_numpy(), label=party,
                    color=_PARTY_COLOURS[i % len(_PARTY_COLOURS)], linewidth=1.8)
        for edge in _band_edges_gbp(agreement):
            if -span * budget < edge < span * budget:
                ax.axvline(edge, color="grey", linestyle="--", linewidth=0.8, gid=BAND_EDGE)
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.xaxis.set_major_formatter(pounds_formatter())
        ax.yaxis.set_major_formatter(pounds_formatter())
        top = ax.secondary_xaxis("top", functions=(lambda v: v / budget, lambda f: f * budget))
        top.xaxis.set_major_locator(MultipleLocator(0.02 if span > 0.04 else 0.005))
        top.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0 if span > 0.04 else 1))
        top.set_xlabel("pooled variance, share of pool budget")
        ax.set_xlabel("pooled variance (positive = overspend)")
        ax.set_title(_MODE_TITLES[mode], fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("party's share (positive = a loss borne, negative = a gain)")
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{agreement.name}: who carries the pooled variance")
    return fig


def fan_chart(
    simulation: Simulation, levels: Sequence[tuple[float, float]] = ((5, 95), (10, 90), (25, 75))
) -> Figure:
    """Fan chart of each party's simulated final position (docs/methods/monte-carlo.md).

    For every party, nested horizontal bands from the widest (lightest) to
    the narrowest (darkest) pair of percentiles, the median as a vertical
    tick and the mean as a diamond; zero separates gains from losses.

    Parameters
    ----------
    simulation : Simulation
        Settled scenarios (:meth:`Agreement.simulate`).
    levels : sequence of (float, float)
        Pairs of percentiles, outermost first.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. ``containers[k]`` (label such as ``"5th to 95th percentile"``)
        holds one bar per party in the order of the y tick labels: its
        ``get_x()`` is the lower percentile and ``get_x() + get_width()`` the
        upper (pounds, positive = loss). The lines labelled ``"median"`` and
        ``"mean"`` hold the medians and means as x data.
    """
    wanted = sorted({p for pair in levels for p in pair} | {50})
    table = simulation.percentiles(tuple(wanted))
    mean = simulation.summary()["mean_gbp"]
    parties = list(table.index)
    rows = np.arange(len(parties))[::-1]  # the first party at the top
    fig, axes = _new_figure(figsize=(7.5, 1.1 * len(parties) + 1.6))
    ax = axes[0, 0]
    shades = np.linspace(0.25, 0.75, len(levels))
    for (low, high), alpha in zip(levels, shades, strict=True):
        left = table[low].to_numpy()
        ax.barh(rows, table[high].to_numpy() - left, 0.55, left=left, color="#1f4e79",
                alpha=float(alpha), label=f"{low:g}th to {high:g}th percentile")
    ax.plot(table[50].to_numpy(), rows, linestyle="none", marker="|", markersize=22,
            markeredgewidth=2.5, color="white", label="median")
    ax.plot(mean.loc[parties].to_numpy(), rows, linestyle="none", marker="D", markersize=6,
            color="#c0504d", label="mean")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(rows, parties)
    ax.xaxis.set_major_formatter(pounds_formatter(decimals=2))
    ax.set_xlabel(f"final position ({POSITION_SIGN})")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3, fontsize=8)
    ax.set_title(
        f"{simulation.agreement.name}: {simulation.n:,} simulated outturns", fontsize=10
    )
    return fig


def tornado(sensitivity: Sensitivity, party: str) -> Figure:
    """Tornado of one party: its final position with each line at its p5 and p95.

    One horizontal bar per varying line from 0 (every line at plan) to the
    party's final position with the line at its 5th percentile, and one to
    its 95th; the line that swings the party most at the top.

    Parameters
    ----------
    sensitivity : risk_share.sensitivity.Sensitivity
        From :meth:`Simulation.sensitivity`.
    party : str
        The party to draw.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. ``containers[0]`` (label ``"line at its 5th percentile"``)
        and ``containers[1]`` (``"line at its 95th percentile"``) hold one bar
        per line in the order of the y tick labels (bottom to top), with
        ``datavalues`` the party's final positions (pounds, positive = loss).

    Raises
    ------
    KeyError
        For a party not in the agreement.
    """
    table = sensitivity.tornado
    if party not in table.index.get_level_values("party"):
        raise KeyError(f"no party {party!r} (parties: "
                       f"{', '.join(dict.fromkeys(table.index.get_level_values('party')))})")
    rows = table.loc[party]
    swing = (rows["high_gbp"] - rows["low_gbp"]).abs()
    rows = rows.loc[swing.sort_values(ascending=True, kind="stable").index]
    labels = [f"{line}: {sensitivity.lines.loc[line, 'party']} / "
              f"{sensitivity.lines.loc[line, 'pod']}" for line in rows.index]
    positions = np.arange(len(rows))
    fig, axes = _new_figure(figsize=(7.5, 0.4 * len(rows) + 1.8))
    ax = axes[0, 0]
    ax.barh(positions, rows["low_gbp"].to_numpy(), 0.6, color=_PARTY_COLOURS[0],
            label="line at its 5th percentile")
    ax.barh(positions, rows["high_gbp"].to_numpy(), 0.6, color=_PARTY_COLOURS[1], alpha=0.8,
            label="line at its 95th percentile")
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.xaxis.set_major_formatter(pounds_formatter(decimals=2))
    ax.set_xlabel(f"{party}: final position (positive = loss), other lines at plan")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"What drives {party}'s position: one line at a time", fontsize=10)
    return fig


def calibration_chart(agreement: Agreement) -> Figure:
    """CVaR before and after calibration against each party's risk appetite.

    Method: docs/methods/calibration.md.

    Parameters
    ----------
    agreement : Agreement
        An agreement returned by :func:`risk_share.calibrate` (with ``calibration``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: ``containers[0]`` (``"CVaR before"``) and ``containers[1]``
        (``"CVaR after"``) with ``datavalues`` in pounds, one per party in the
        order of the y tick labels; the line labelled ``"appetite"`` holds the
        appetites as x data (NaN where a party has none).

    Raises
    ------
    ValueError
        When the agreement has not been calibrated.
    """
    table = agreement.calibration
    if table is None:
        raise ValueError("the agreement has no calibration: use risk_share.calibrate first")
    parties = list(table.index)
    rows = np.arange(len(parties))[::-1]
    height = 0.38
    fig, axes = _new_figure(figsize=(7.5, 1.0 * len(parties) + 1.6))
    ax = axes[0, 0]
    ax.barh(rows + height / 2, table["cvar_before_gbp"].to_numpy(), height, color="#bfbfbf",
            label="CVaR before")
    ax.barh(rows - height / 2, table["cvar_after_gbp"].to_numpy(), height, color="#1f4e79",
            label="CVaR after")
    ax.plot(table["appetite_gbp"].to_numpy(), rows, linestyle="none", marker="|",
            markersize=28, markeredgewidth=3, color="#c0504d", label="appetite")
    labels = [f"{p}\nshare {s:.1%} (influence {i:.0%})"
              for p, s, i in zip(parties, table["share"], table["influence"], strict=True)]
    ax.set_yticks(rows, labels, fontsize=8)
    ax.xaxis.set_major_formatter(pounds_formatter(decimals=2))
    ax.set_xlabel("CVaR95 of the final position (average of the worst 5% of outturns; "
                  "positive = a loss)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Calibrated shares against risk appetite", fontsize=10)
    return fig


def write_charts(
    agreement: Agreement,
    folder: str | Path,
    simulation: Simulation | None = None,
    dpi: int = 150,
) -> list[Path]:
    """Write the charts to PNG files in ``folder`` (``risk-share ... --charts DIR``).

    ``share_curves.png`` always; with a simulation ``fan_chart.png``; with a
    calibrated agreement ``calibration.png``.

    Parameters
    ----------
    agreement : Agreement
        The agreement.
    folder : str or Path
        Folder to write to (made if missing); files of the same name are replaced.
    simulation : Simulation, optional
        Simulated outturns to draw as a fan chart.
    dpi : int
        Resolution.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    charts = {"share_curves": share_curves(agreement)}
    if simulation is not None:
        charts["fan_chart"] = fan_chart(simulation)
    if agreement.calibration is not None:
        charts["calibration"] = calibration_chart(agreement)
    return [save_png(fig, folder / f"{name}.png", dpi) for name, fig in charts.items()]
