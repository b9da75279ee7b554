"""Board-paper charts of a run: budget waterfall, distance from target, need index, needs vs use.

Needs versus use: funnel plots and the opportunity ranked by unit.

Each function takes :class:`capitation.Results` (or the DataFrame it hands
out) and returns a :class:`matplotlib.figure.Figure`. Nothing here computes a
figure a finance team would audit: the functions only pick, order and draw
what the results already hold. Every bar can be read back from the figure
(``ax.containers[k].datavalues``, or each patch's ``get_y()`` and
``get_height()``), which is what the tests check.

Figures are closed in pyplot before they are returned, so Jupyter shows a
figure once (when it is a cell's value) and a script that draws many keeps no
memory; ``fig.savefig(path)`` works as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from capitation.chart_style import (
    AFTER,
    BEFORE,
    DECREASE,
    INCREASE,
    TOTAL,
    WATERFALL_LEGEND,
    waterfall_label,
    waterfall_range,
)
from capitation.columns import column as schema_column
from capitation.files import write_atomically
from capitation.results import Results
from capitation.rounding import round_pence

if TYPE_CHECKING:
    from capitation.opportunity import Funnel

__all__ = [
    "BRIDGE_STEPS",
    "budget_waterfall",
    "compare",
    "distance_from_target",
    "funnel",
    "need_index",
    "opportunity_ranked",
    "organisation_labels",
    "pounds_formatter",
    "save_png",
    "sweep",
    "write_charts",
]

#: Bridge columns drawn as steps of the waterfall, in order, with their titles
#: (:mod:`capitation.columns`).
BRIDGE_STEPS: tuple[tuple[str, str], ...] = tuple(
    (name, schema_column(name, "budget_bridge").title)
    for name in ("growth_gbp", "price_gbp", "activity_change_gbp", "new_services_gbp",
                 "stranded_support_gbp")
)

# Shared with the workbook's native charts (capitation.chart_style).
_INCREASE, _DECREASE, _TOTAL, _BEFORE, _AFTER = INCREASE, DECREASE, TOTAL, BEFORE, AFTER


def pounds_formatter(scale: float = 1e6, suffix: str = "m", decimals: int = 1) -> FuncFormatter:
    """Axis formatter for pounds, such as ``£1.5m``.

    Parameters
    ----------
    scale : float
        Pounds per unit shown (1e6 shows millions).
    suffix : str
        Written after the number (``"m"``, ``"bn"``).
    decimals : int
        Decimal places.

    Returns
    -------
    matplotlib.ticker.FuncFormatter
    """

    def show(value: float, _position: int | None = None) -> str:
        sign = "−" if value < 0 else ""
        return f"{sign}£{abs(value) / scale:,.{decimals}f}{suffix}"

    return FuncFormatter(show)


def _new_figure(rows: int = 1, cols: int = 1, figsize: tuple[float, float] | None = None,
                sharey: bool = False) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(rows, cols, squeeze=False, layout="constrained", figsize=figsize,
                             sharey=sharey)
    plt.close(fig)  # returned, not kept by pyplot: shown once in Jupyter, no leak in loops
    return fig, axes


def organisation_labels(table: pd.DataFrame, codes: Sequence[object] | pd.Index | None = None
                        ) -> list[str]:
    """Labels of organisations for a chart: ``NHS West Yorkshire ICB (QWO)``, or the code.

    Parameters
    ----------
    table : pandas.DataFrame
        A level table indexed by organisation code; its ``name`` column (when
        the model names the level) gives the names.
    codes : sequence or pandas.Index, optional
        The codes to label, in order (default: the table's index).

    Returns
    -------
    list of str
        ``"<name> (<code>)"``, or the code alone where there is no name.
    """
    codes = list(table.index if codes is None else codes)
    if "name" not in table.columns:
        return [str(code) for code in codes]
    names = table["name"].reindex(codes).tolist()
    return [f"{name} ({code})" if isinstance(name, str) and name else str(code)
            for code, name in zip(codes, names, strict=True)]


def _width(base: float, labels: list[str], title: str = "") -> float:
    """Figure width in inches: ``base``, widened for long tick labels (names) and title."""
    longest = max((len(label) for label in labels), default=0)
    return max(base + max(0.0, 0.055 * (longest - 12)), 0.09 * len(title) + 0.06 * longest + 1.0)


# ---------------------------------------------------------------------------- waterfall


def budget_waterfall(
    budget: Results | pd.DataFrame, years: str | Sequence[str] | None = None
) -> Figure:
    """Waterfall of the bridge from baseline spend to budget, one panel per year.

    Bars, left to right: baseline (a total), growth, price, activity change,
    new services, stranded support (each a step from where the last ended:
    red up, blue down), then the budget (a total, grey). The steps add up
    exactly to the budget (docs/methods/service-budget.md#definitions). Each
    bar is labelled with its amount in £m; the legend reads "Increase",
    "Decrease", "Total"; a zero step is unlabelled, as on the native chart
    (:func:`capitation.chart_style.waterfall_label`); the value axis starts
    below the lowest running total, not at zero
    (:func:`capitation.chart_style.waterfall_range`). The workbook's
    ``budget_bridge`` sheet draws the same chart natively, in the same colours.

    Parameters
    ----------
    budget : Results or pandas.DataFrame
        A run with a service budget, or its ``budget_bridge`` (index ``year``;
        pounds in ``baseline_gbp``, the step columns of :data:`BRIDGE_STEPS`
        and ``budget_gbp``).
    years : str or sequence of str, optional
        Years to draw (default: every year of the bridge).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per year, titled with the year. In each, ``containers[0]``
        holds the seven bars: ``datavalues`` are the bridge values (pounds,
        signed); each patch's ``get_y()`` is where it starts (0 for the two
        totals) and ``get_y() + get_height()`` where it ends, and its face
        colour is :data:`~capitation.chart_style.INCREASE`, ``DECREASE`` or
        ``TOTAL``. The figure's legend names those colours.

    Raises
    ------
    KeyError
        When the run has no service budget or a year is not in the bridge.
    """
    bridge = _bridge(budget)
    if years is None:
        chosen = list(bridge.index)
    elif isinstance(years, str):
        chosen = [years]
    else:
        chosen = list(years)
    missing = [y for y in chosen if y not in bridge.index]
    if missing:
        raise KeyError(
            f"no year {', '.join(missing)} in the budget bridge "
            f"(years are {', '.join(map(str, bridge.index))})"
        )
    fig, axes = _new_figure(1, len(chosen), figsize=(4.2 * len(chosen) + 1, 4.8), sharey=True)
    labels = [schema_column("baseline_gbp", "budget_bridge").title,
              *(label for _, label in BRIDGE_STEPS),
              schema_column("budget_gbp", "budget_bridge").title]
    for ax, year in zip(axes[0], chosen, strict=True):
        row = bridge.loc[year]
        steps = np.array([row[column] for column, _ in BRIDGE_STEPS], dtype=float)
        baseline, total = float(row["baseline_gbp"]), float(row["budget_gbp"])
        # Arranging, not computing: each step starts where the previous one ended
        # (a negative height draws the bar down from its start).
        starts = baseline + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
        values = np.concatenate([[baseline], steps, [total]])
        bottoms = np.concatenate([[0.0], starts, [0.0]])
        colours = [_TOTAL, *(_INCREASE if s >= 0 else _DECREASE for s in steps), _TOTAL]
        bars = ax.bar(labels, values, bottom=bottoms, color=colours, label=str(year))
        for bar, value in zip(bars, values, strict=True):
            top = max(bar.get_y(), bar.get_y() + bar.get_height())
            label = waterfall_label(round_pence(float(value), "a budget bridge amount"))
            if not label:
                continue  # a zero step: no bar, no label
            ax.annotate(
                label,
                (bar.get_x() + bar.get_width() / 2, top),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_ylim(*waterfall_range(baseline, steps.tolist(), total))
        ax.set_title(str(year))
        ax.yaxis.set_major_formatter(pounds_formatter())
        ax.tick_params(axis="x", labelrotation=45)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
        ax.grid(axis="y", alpha=0.3)
    fig.legend(handles=[Patch(facecolor=colour, label=label) for label, colour in WATERFALL_LEGEND],
               loc="outside lower center", ncol=len(WATERFALL_LEGEND), fontsize=8)
    fig.suptitle("From baseline spend to budget (the axis does not start at zero)")
    return fig


def _bridge(budget: Results | pd.DataFrame) -> pd.DataFrame:
    if isinstance(budget, Results):
        bridge = budget.budget_bridge
        if bridge is None:
            raise KeyError("this model has no service budget ([service_budget] section)")
        return bridge
    columns = ["baseline_gbp", *(c for c, _ in BRIDGE_STEPS), "budget_gbp"]
    absent = [c for c in columns if c not in budget.columns]
    if absent:
        raise KeyError(f"the bridge has no column {', '.join(absent)}")
    return budget


# ---------------------------------------------------------------------------- pace of change


def distance_from_target(
    results: Results | pd.DataFrame, year: str | None = None, sort: bool = True
) -> Figure:
    """Distance from target before and after pace of change, per organisation.

    Two horizontal bars per organisation at the pace-of-change level: the
    baseline's distance from target (before) and the allocation's (after),
    as fractions of target drawn in per cent (docs/methods (glossary, pace of change)).

    Parameters
    ----------
    results : Results or pandas.DataFrame
        A run with pace of change, or a level table with
        ``baseline_distance_from_target`` and ``distance_from_target``
        (fractions), indexed by organisation code.
    year : str, optional
        Financial year (default: the first).
    sort : bool
        Order organisations by distance before pace of change, furthest
        below target at the top (default); otherwise keep the table's order.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: ``containers[0]`` (label ``"before pace of change"``) and
        ``containers[1]`` (``"after pace of change"``) with ``datavalues`` the
        fractions in the order of the y tick labels (bottom to top):
        ``"NHS West Yorkshire ICB (QWO)"`` where the level has names
        (:func:`organisation_labels`), else the code.

    Raises
    ------
    KeyError
        When the run has no pace of change.
    """
    table = _pace_table(results, year)
    frame = table[["baseline_distance_from_target", "distance_from_target"]]
    if sort:
        # Furthest below target at the top: barh draws the first row at the bottom.
        frame = frame.sort_values("baseline_distance_from_target", ascending=False, kind="stable")
    codes = organisation_labels(table, frame.index)
    positions = np.arange(len(codes))
    height = 0.4
    fig, axes = _new_figure(figsize=(_width(7.5, codes), max(3.0, 0.22 * len(codes) + 1.5)))
    ax = axes[0, 0]
    ax.barh(positions + height / 2, frame["baseline_distance_from_target"].to_numpy(), height,
            color=_BEFORE, label="before pace of change")
    ax.barh(positions - height / 2, frame["distance_from_target"].to_numpy(), height,
            color=_AFTER, label="after pace of change")
    ax.set_yticks(positions, codes, fontsize=7 if len(codes) > 20 else 9)
    ax.set_ylim(-0.75, len(codes) - 0.25)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    ax.set_xlabel("distance from target (allocation − target) / target")
    ax.set_ylabel(str(frame.index.name or "organisation"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Distance from target before and after pace of change")
    return fig


def _pace_table(results: Results | pd.DataFrame, year: str | None) -> pd.DataFrame:
    if isinstance(results, Results):
        pace = results.spec.pace
        if not results.pace or pace is None:
            raise KeyError("this model has no pace of change ([pace_of_change] section)")
        return results.table(pace.level, year)
    absent = [c for c in ("baseline_distance_from_target", "distance_from_target")
              if c not in results.columns]
    if absent:
        raise KeyError(f"the table has no column {', '.join(absent)} (a pace-of-change level?)")
    return results


# ---------------------------------------------------------------------------- need index


def need_index(
    results: Results | pd.DataFrame,
    level: str | None = None,
    year: str | None = None,
    within: str | None = None,
    column: str = "need_index",
    sort: bool = True,
) -> Figure:
    """Need index per organisation as bars around 1 (docs/methods/need-index.md).

    Parameters
    ----------
    results : Results or pandas.DataFrame
        A run, or a level table indexed by organisation code with ``column``.
    level : str, optional
        With a run: the level to draw (default: the top level, or, when it
        has one organisation, the highest level below it with more than one:
        one bar of 1 would be an empty chart).
    year : str, optional
        With a run: the financial year (default: the first).
    within : str, optional
        With a run: keep only the organisations inside this code of the next
        level up (``within="QE1"`` with ``level="ICB/LAD"`` draws the places
        of ICB QE1).
    column : str
        ``need_index`` (against the whole model, default) or
        ``need_index_in_parent`` (against the next level up).
    sort : bool
        Order by need index, highest at the top (default).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the bars of ``containers[0]`` start at 1 and end at each
        organisation's index (``get_x() + get_width()``), in the order of the
        y tick labels (bottom to top; ``"name (code)"`` where the level has
        names, else the code, as :func:`organisation_labels`). A line marks 1,
        the reference's per-head need.

    Raises
    ------
    KeyError
        An unknown level, year or column, or ``within`` on the top level or
        naming no organisation.
    """
    table, title = _need_table(results, level, year, within)
    if isinstance(results, Results) and level is None and results.tables:
        drawn, top = _level_to_draw(results), results.levels[-1]
        if drawn != top:  # one organisation at the top: its need index is 1 by definition
            table, title = _need_table(results, drawn, year, None)
            only = results.table(top, year).index[0]
            title += f" (the model has one {top}, {only})"
    if column not in table.columns:
        raise KeyError(f"the table has no column {column!r}")
    values = table[column]
    if sort:
        values = values.sort_values(kind="stable")
    codes = organisation_labels(table, values.index)
    fig, axes = _new_figure(figsize=(_width(7.0, codes, title),
                                     max(3.0, 0.2 * len(codes) + 1.5)))
    ax = axes[0, 0]
    index = values.to_numpy(dtype=float)
    # Bars start at 1 and end at the index: above 1 is more need per head than average.
    ax.barh(np.arange(len(codes)), index - 1.0, 0.7, left=1.0,
            color=np.where(index >= 1.0, _INCREASE, _DECREASE), label=column)
    ax.set_yticks(np.arange(len(codes)), codes, fontsize=7 if len(codes) > 20 else 9)
    ax.set_ylim(-0.75, len(codes) - 0.25)
    ax.axvline(1.0, color="black", linewidth=0.8)
    low, high = float(values.min()), float(values.max())
    margin = 0.05 * max(high - low, 0.05)
    ax.set_xlim(min(low, 1.0) - margin, max(high, 1.0) + margin)
    reference = "the next level up" if column == "need_index_in_parent" else "the whole model"
    ax.set_xlabel(f"{column}: per-head target relative to {reference} (1 = average)")
    ax.set_ylabel(str(values.index.name or "organisation"))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return fig


def _level_to_draw(results: Results) -> str:
    """Return the top level, or the highest level below it with more than one organisation."""
    levels = list(results.levels)
    for level in reversed(levels):
        if len(results.table(level)) > 1:
            return level
    return levels[-1]


def _need_table(
    results: Results | pd.DataFrame, level: str | None, year: str | None, within: str | None
) -> tuple[pd.DataFrame, str]:
    if not isinstance(results, Results):
        if within is not None:
            raise KeyError("within needs a Results (filter the DataFrame yourself)")
        return results, f"Need index by {results.index.name or 'organisation'}"
    level = results.levels[-1] if level is None else level
    table = results.table(level, year)
    if within is None:
        return table, f"Need index by {level}"
    position = results.levels.index(level)
    if position + 1 >= len(results.levels):
        raise KeyError(f"{level} is the top level: there is nothing for within= to name")
    parent = results.levels[position + 1]
    inside = table[table[parent] == within]
    if inside.empty:
        raise KeyError(f"no {level} inside {parent} {within!r}")
    shown = organisation_labels(results.table(parent, year), [within])[0]
    return inside, f"Need index by {level} within {parent} {shown}"


# ---------------------------------------------------------------------------- needs versus use

#: Line style of each funnel limit: (column suffix, label, line style).
FUNNEL_LIMITS = (("95", "95%", "--"), ("998", "99.8%", "-"))
_LIMIT_TEXT = {suffix: text for suffix, text, _ in FUNNEL_LIMITS}
_HIGH = "#c0504d"
_LOW = "#4f81bd"
_WITHIN = "#9e9e9e"


def _unit_label(code: object, names: Mapping[object, object] | pd.Series | None) -> str:
    """Return ``NAME (CODE)``, or the code alone when there is no name."""
    name = None if names is None else names.get(code)
    if name is None or (isinstance(name, float) and np.isnan(name)) or str(name) == "":
        return str(code)
    return f"{name} ({code})"


def funnel(
    f: Funnel,
    *,
    names: Mapping[object, object] | pd.Series | None = None,
    title: str | None = None,
    label: str = "998",
    max_labels: int = 20,
) -> Figure:
    """Funnel plot: each unit's ratio against its expected count, with the limits drawn.

    Draws what :func:`capitation.opportunity.funnel` computed: the units, the
    target line, and the 95% (dashed) and 99.8% (solid) limits from
    :meth:`~capitation.opportunity.Funnel.limits` over the range of expected
    counts. Each limit curve is labelled at its right-hand end and in the
    legend; outliers (beyond the ``label`` limits) are labelled with their
    name and code, the most extreme first.

    Parameters
    ----------
    f : Funnel
        The funnel of one service (``results.needs_and_use.opportunity.funnels[service]``).
    names : mapping or pandas.Series, optional
        Unit code → name (``results.needs_and_use.names``); default codes only.
    title : str, optional
        The title (default: the funnel's scale and overdispersion).
    label : {"998", "95"}
        Which limits make a unit an outlier to label.
    max_labels : int
        At most this many outliers are labelled (the largest adjusted
        z-scores first); the rest are counted in the x-axis label.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: ``collections[0]`` holds the units (offsets: expected, ratio),
        lines labelled ``"95% limits"``, ``"_95% lower"``, ``"99.8% limits"``,
        ``"_99.8% lower"`` and ``"target"``; text labels ``"95%"`` and
        ``"99.8%"`` at the limits' right ends, then one per labelled outlier
        (``"NAME (CODE)"``).
    """
    if label not in {"95", "998"}:
        raise ValueError(f'label must be "95" or "998", got {label!r}')
    units = f.units
    x = f.denominators.reindex(units.index).to_numpy(dtype=float)
    y = units["ratio"].to_numpy(dtype=float)
    fig, axes = _new_figure(figsize=(8.0, 5.5))
    ax = axes[0, 0]
    flags = units[f"flag_{label}"].to_numpy(dtype=str)
    colours = np.where(flags == "high", _HIGH, np.where(flags == "low", _LOW, _WITHIN))
    ax.scatter(x, y, s=14, c=colours, alpha=0.8, zorder=3)
    grid = np.geomspace(max(x.min(), 1e-9), x.max() * 1.1, 200)
    curves = f.limits(grid)
    for suffix, text, style in FUNNEL_LIMITS:
        ax.plot(grid, curves[f"upper_{suffix}"], style, color="black", linewidth=0.9,
                label=f"{text} limits")
        ax.plot(grid, curves[f"lower_{suffix}"], style, color="black", linewidth=0.9,
                label=f"_{text} lower")
        for edge in ("upper", "lower"):
            ax.annotate(text, (grid[-1], float(curves[f"{edge}_{suffix}"].iloc[-1])),
                        xytext=(3, 0), textcoords="offset points", fontsize=8, va="center")
    ax.axhline(f.target, color="#1f4e79", linewidth=1.0, label="target")
    outliers = np.flatnonzero(flags != "")
    order = outliers[np.argsort(-np.abs(units["z_adjusted"].to_numpy(dtype=float)[outliers]),
                                kind="stable")]
    for k, i in enumerate(order[:max_labels]):  # alternate above and below: fewer overlaps
        ax.annotate(_unit_label(units.index[i], names), (x[i], y[i]),
                    xytext=(4, 4 if k % 2 == 0 else -10), textcoords="offset points",
                    fontsize=7, color=colours[i])
    more = len(order) - min(len(order), max_labels)
    what = "Expected" if f.kind == "ratio" else "Denominator"
    ax.set_xlabel(f"{what} ({len(order)} outside the {_LIMIT_TEXT[label]} limits"
                  + (f", {more} not labelled)" if more else ")"))
    ax.set_ylabel("Observed ÷ expected" if f.kind == "ratio" else "Proportion")
    ax.set_xlim(0, grid[-1] * 1.12)
    # The limits widen without bound as the expected count falls: show the units, not that.
    finite = y[np.isfinite(y)]
    low, high = min(finite.min(), f.target), max(finite.max(), f.target)
    ax.set_ylim(max(0.0, low - 0.15 * (high - low)), high + 0.15 * (high - low))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    adjusted = (f"{f.overdispersion} overdispersion, φ = {f.phi:.3g}" if f.adjusted
                else f"no overdispersion adjustment, φ = {f.phi:.3g}")
    fig.suptitle(title or f"Funnel plot ({f.method} scale, {adjusted})", fontsize=11)
    return fig


def opportunity_ranked(table: pd.DataFrame, top: int = 20, title: str | None = None) -> Figure:
    """Draw the opportunity in pounds by unit, largest first, coloured by the funnel's flag.

    Parameters
    ----------
    table : pandas.DataFrame
        ``results.opportunity_table(service)``: indexed by unit code, with
        ``opportunity_gbp``, ``flag_95`` and ``flag_998`` (and ``name``).
    top : int
        How many units to draw.
    title : str, optional
        The title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; ``containers[0]`` holds the bars, largest at the top, whose
        ``datavalues`` are the pounds, in the order of the y tick labels
        (``"NAME (CODE)"``, bottom to top). Dark red: above the funnel's 99.8%
        limit; red: above its 95% limit; grey: within the limits (as likely
        noise as not).

    Raises
    ------
    KeyError
        When the table has no ``opportunity_gbp`` (no cost and no price).
    """
    if "opportunity_gbp" not in table.columns:
        raise KeyError("the table has no opportunity_gbp (the activity has no cost_gbp and "
                       "no price_gbp was given)")
    chosen = table[table["opportunity_gbp"] > 0].sort_values(
        "opportunity_gbp", ascending=False, kind="stable").head(top).iloc[::-1]
    names = chosen["name"] if "name" in chosen.columns else None
    labels = [_unit_label(code, names) for code in chosen.index]
    colour = np.where(chosen["flag_998"] == "high", "#7f0000",
                      np.where(chosen["flag_95"] == "high", _HIGH, _WITHIN))
    fig, axes = _new_figure(figsize=(8.0, max(3.0, 0.3 * len(chosen) + 1.5)))
    ax = axes[0, 0]
    ax.barh(np.arange(len(chosen)), chosen["opportunity_gbp"].to_numpy(dtype=float), 0.7,
            color=colour)
    ax.set_yticks(np.arange(len(chosen)), labels, fontsize=7 if len(chosen) > 20 else 8)
    ax.xaxis.set_major_formatter(pounds_formatter(scale=1e3, suffix="k", decimals=0))
    ax.set_xlabel("Opportunity (£): use above the benchmark")
    ax.grid(axis="x", alpha=0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#7f0000", _HIGH, _WITHIN)]
    ax.legend(handles, ["above 99.8% limit", "above 95% limit", "within the funnel"],
              loc="lower right", fontsize=8)
    total = float(table["opportunity_gbp"].sum())
    fig.suptitle(title or f"Top {len(chosen)} units by opportunity (all units: £{total:,.0f})",
                 fontsize=11)
    return fig


# ---------------------------------------------------------------------------- files


# ---------------------------------------------------------------------------- what-if


def compare(comparison: pd.DataFrame, sort: bool = True) -> Figure:
    """Each scenario's change in allocation from the base, per organisation.

    One horizontal bar per organisation and scenario, in pounds (positive:
    more money than in the base).

    Parameters
    ----------
    comparison : pandas.DataFrame
        :func:`capitation.compare`'s table (``change_gbp__<scenario>`` columns),
        indexed by organisation code.
    sort : bool
        Order organisations by the first scenario's change, largest gain at
        the top (default); otherwise keep the table's order.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; ``containers[k]`` (label: the k-th scenario's name) has
        ``datavalues`` the changes in pounds in the order of the y tick labels
        (bottom to top): ``"NAME (CODE)"`` where the comparison carries names
        (:func:`capitation.compare` keeps the base's), else the code.

    Raises
    ------
    KeyError
        When the table has no ``change_gbp__`` column (a base alone).
    """
    prefix = "change_gbp__"
    scenarios = [str(c)[len(prefix):] for c in comparison.columns if str(c).startswith(prefix)]
    if not scenarios:
        raise KeyError("no change_gbp__<scenario> column: compare the base with a scenario")
    frame = comparison[[prefix + name for name in scenarios]]
    if sort:
        frame = frame.sort_values(prefix + scenarios[0], ascending=True, kind="stable")
    names = getattr(comparison, "names", None)
    codes = organisation_labels(
        pd.DataFrame({"name": names}) if isinstance(names, pd.Series) else frame[[]],
        frame.index)
    positions = np.arange(len(codes))
    height = 0.8 / len(scenarios)
    fig, axes = _new_figure(figsize=(_width(7.5, codes),
                                     max(3.0, 0.22 * len(codes) * max(1, len(scenarios) / 2)
                                         + 1.5)))
    ax = axes[0, 0]
    for k, name in enumerate(scenarios):
        offset = (len(scenarios) - 1) / 2 - k
        ax.barh(positions + offset * height, frame[prefix + name].to_numpy(dtype=float), height,
                label=name)
    ax.set_yticks(positions, codes, fontsize=7 if len(codes) > 20 else 9)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.xaxis.set_major_formatter(pounds_formatter())
    ax.set_xlabel("change in allocation from the base (£)")
    ax.set_ylabel(str(frame.index.name or "organisation"))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Change in allocation by scenario")
    return fig


def sweep(frame: pd.DataFrame) -> Figure:
    """Draw the headline figures of a sweep (``Model.sweep``) against the swept value.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``Model.sweep``'s table of one year: indexed by the value (named after
        the key), with ``largest_shortfall``, ``total_shortfall_gbp``,
        ``at_floor`` and ``at_cap``.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes side by side. The first has ``lines[0]``, the largest
        shortfall (fraction, drawn in per cent); the second ``lines[0]``
        (``at floor``) and ``lines[1]`` (``at cap``), counts of organisations.
        Each line's x data are the values.
    """
    values = frame.index.to_numpy()
    key = str(frame.index.name or "value")
    fig, axes = _new_figure(1, 2, figsize=(10.0, 3.8))
    left, right = axes[0, 0], axes[0, 1]
    left.plot(values, frame["largest_shortfall"].to_numpy(dtype=float), marker="o",
              color=_AFTER, label="largest shortfall")
    left.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    left.set_xlabel(key)
    left.set_ylabel("largest shortfall below target")
    left.grid(alpha=0.3)
    right.plot(values, frame["at_floor"].to_numpy(dtype=float), marker="o", label="at floor")
    right.plot(values, frame["at_cap"].to_numpy(dtype=float), marker="s", label="at cap")
    right.set_xlabel(key)
    right.set_ylabel("organisations")
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(f"Sweep of {key}")
    return fig


def save_png(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write a figure to a PNG file atomically (no half-written file on failure).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or Path
        The ``.png`` to write; its folder is made if missing.
    dpi : int
        Resolution.

    Returns
    -------
    Path
        ``path``.
    """
    return write_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))


def write_charts(results: Results, folder: str | Path, dpi: int = 150) -> list[Path]:
    """Write every chart a run has to PNG files in ``folder`` (``capitation run --charts``).

    ``need_index_<level>.png`` (the top level, or the level
    :func:`need_index` draws when the top has one organisation); with pace of change
    ``distance_from_target.png`` (one per year, ``_2026_27``, in multi-year
    runs); with a service budget ``budget_waterfall.png``; with needs versus
    use (``[opportunity]``) ``funnel_<service>.png`` and, with cost or a
    price, ``opportunity_<service>.png`` per service.

    Parameters
    ----------
    results : Results
        The run.
    folder : str or Path
        Folder to write to (made if missing); files of the same name are replaced.
    dpi : int
        Resolution.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    charts: dict[str, Figure] = {}
    if results.tables:
        charts[f"need_index_{_file_part(_level_to_draw(results))}"] = need_index(results)
    if results.pace:
        for year in results.pace:
            suffix = f"_{_file_part(year)}" if len(results.pace) > 1 else ""
            charts[f"distance_from_target{suffix}"] = distance_from_target(results, year)
    if results.budget is not None:
        charts["budget_waterfall"] = budget_waterfall(results)
    needs = results.needs_and_use
    if needs is not None:  # needs versus use: a funnel and the ranked opportunity per service
        for service in needs.services:
            heading = f"{results.spec.name}\n{service} by {needs.level}"
            charts[f"funnel_{_file_part(service)}"] = funnel(
                needs.opportunity.funnels[service], names=needs.names,
                title=f"{heading}: funnel plot")
            table = needs.table(service)
            if "opportunity_gbp" in table.columns:
                charts[f"opportunity_{_file_part(service)}"] = opportunity_ranked(
                    table, title=f"{heading}: opportunity (£), top 20")
    return [save_png(fig, folder / f"{name}.png", dpi) for name, fig in charts.items()]


def _file_part(text: str) -> str:
    """Return a level or year fit for a file name: ``ICB/LAD`` → ``ICB_LAD``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(text))
