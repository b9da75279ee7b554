"""Command line: ``risk-share settle`` and ``risk-share simulate`` (also ``python -m risk_share``).

::

    risk-share settle AGREEMENT.toml LINES.csv [--out OUT.xlsx] [--charts DIR]
    risk-share settle AGREEMENT.xlsx [LINES.csv] --with-inputs --out OUT.xlsx
    risk-share simulate AGREEMENT.toml LINES.csv -n 10000 --cv 0.05 [--correlation 0.2]
        [--seed 1] [--distribution lognormal] [--out OUT.xlsx] [--charts DIR]
    risk-share export AGREEMENT.toml [LINES.csv] --out AGREEMENT.xlsx

The agreement may be a workbook (``AGREEMENT.xlsx``, as ``export`` writes it);
its ``plan_lines`` sheet is read when no lines file is given. ``settle --out``
writes the settlement with live formulas (sheets ``settled_lines``, ``parties``,
``agreement_terms``); with ``--with-inputs`` (agreement workbooks only) the
output is a copy of the agreement workbook with those sheets added or
replaced, every other part of the team's file kept byte for byte. Each prints
a summary. A problem with the input prints one line to stderr and exits with
status 2 (``risk-share: error: MESSAGE``, argparse's own form, as ``capitation``'s);
nothing is written, and an input is never overwritten: an ``--out``
that is the agreement or the lines file (after links), a read-only file or a
folder, or whose folder does not exist, is refused before anything is
computed. Ctrl-C (exit status 130) and SIGTERM (143) stop with one line and
leave no temporary file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from capitation.cli import tell, warnings_on_one_line
from capitation.columns import unit_of
from capitation.errors import InputError, SolverError
from capitation.excel.tables import split_rows
from capitation.files import check_output_folder, check_output_path, os_error_message
from capitation.interrupts import sigterm_raises, stopped
from capitation.results import package_version
from capitation.words import counted
from risk_share.agreement import Agreement
from risk_share.excel.simulation_workbook import SimulationPages, write_simulation_workbook
from risk_share.plan_lines_file import WORKBOOK_SUFFIXES
from risk_share.settlement import POSITION_SIGN, SIGN_CONVENTION
from risk_share.simulation import DISTRIBUTIONS, Simulation

__all__ = ["main", "parser", "PROGRAM"]

PROGRAM = "risk-share"
"""The command's name, first on every line it prints to stderr (as argparse's usage errors)."""

PROGRESS_FROM = 20_000
"""Show a progress bar from this many scenarios (on a terminal, without --quiet)."""
MAX_PLAIN_CV = 1.0
"""A ``--cv`` above this draws a warning: a standard deviation larger than the plan."""


def parser() -> argparse.ArgumentParser:
    """Return the argument parser (subcommands ``settle`` and ``simulate``)."""
    top = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Settle or simulate a risk share agreement (marginal rates and a pool).",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = top.add_subparsers(dest="command", required=True)

    settle = commands.add_parser("settle", help="settle an outturn of the plan lines")
    settle.add_argument("agreement", help="agreement TOML file or workbook (.xlsx)")
    settle.add_argument(
        "lines",
        nargs="?",
        help="CSV: party, pod, planned_activity, actual_activity, price_gbp "
        "(default: the agreement workbook's plan_lines sheet)",
    )
    settle.add_argument(
        "--out", help="workbook to write (sheets settled_lines, parties, agreement_terms)"
    )
    settle.add_argument(
        "--with-inputs",
        action="store_true",
        help="write the settlement sheets into a copy of the agreement workbook "
        "(AGREEMENT.xlsx only; needs --out)",
    )
    settle.add_argument("--quiet", action="store_true", help="print nothing but errors")
    settle.add_argument("--charts", metavar="DIR", help="write the share curves as PNG here")
    _add_set(settle)

    simulate = commands.add_parser("simulate", help="simulate and settle many outturns")
    simulate.add_argument("agreement", help="agreement TOML file or workbook (.xlsx)")
    simulate.add_argument(
        "lines",
        nargs="?",
        help="CSV: party, pod, planned_activity, price_gbp[, fixed] "
        "(default: the agreement workbook's plan_lines sheet)",
    )
    simulate.add_argument("-n", type=int, required=True, help="number of scenarios")
    simulate.add_argument(
        "--cv", type=float, required=True,
        help="coefficient of variation of activity, 0 to 10"
    )
    simulate.add_argument(
        "--correlation", type=float, default=0.0, help="correlation between lines (default 0)"
    )
    simulate.add_argument("--seed", type=int, default=None,
                          help="random seed, 0 to 4294967295 (default: a fresh one, printed "
                               "and recorded)")
    simulate.add_argument("--distribution", choices=DISTRIBUTIONS, default="lognormal")
    simulate.add_argument("--out", help="workbook to write (sheets summary, positions)")
    simulate.add_argument("--quiet", action="store_true", help="no summary and no progress bar")
    simulate.add_argument(
        "--charts", metavar="DIR", help="write the share curves and fan chart as PNG here"
    )
    _add_set(simulate)

    export = commands.add_parser("export", help="write an agreement file as a workbook")
    export.add_argument("agreement", help="agreement TOML file")
    export.add_argument("lines", nargs="?", help="CSV of plan lines for a plan_lines sheet")
    export.add_argument("--out", required=True, help="workbook to write (.xlsx)")
    export.add_argument("--quiet", action="store_true", help="print nothing but errors")
    return top


def _add_set(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="change a key of the agreement for this run (repeatable; VALUE is TOML, a bare "
        'word is text): --set "party.Acute trust.max_loss=0.03"',
    )


def _is_workbook(path: str) -> bool:
    return Path(path).suffix.lower() in WORKBOOK_SUFFIXES


def _agreement_and_lines(args: argparse.Namespace) -> tuple[Agreement, str]:
    """Read the agreement (TOML or workbook) and name the lines (a CSV or the workbook)."""
    if _is_workbook(args.agreement):
        agreement = Agreement.from_excel(args.agreement)
    else:
        agreement = Agreement.from_toml(args.agreement)
    if getattr(args, "overrides", None):
        from capitation.overrides import parse_assignments

        agreement = agreement.with_values(parse_assignments(args.overrides))
    if args.lines is not None:
        return agreement, args.lines
    if not _is_workbook(args.agreement):
        raise InputError(
            "give a lines CSV (only an agreement workbook holds its own plan_lines sheet)",
            file=args.agreement,
        )
    return agreement, args.agreement


def _check_outputs(args: argparse.Namespace, agreement: Agreement, lines: str | None) -> None:
    """Refuse an ``--out`` or ``--charts`` that would replace an input, before any work."""
    inputs = agreement.input_files(lines)
    if args.out:
        check_output_path(args.out, inputs)
    if getattr(args, "charts", None):
        check_output_folder(args.charts, inputs)


def _export(args: argparse.Namespace, written: list[str]) -> None:
    from risk_share.agreement_file import export_agreement

    _check_outputs(args, Agreement.from_toml(args.agreement), args.lines)
    export_agreement(args.agreement, args.out, args.lines)
    written.append(args.out)
    if not args.quiet:
        print(f"agreement workbook: {Path(args.out).resolve()}")


def _money(frame: pd.DataFrame) -> str:
    """Return the frame as text: money with separators, fractions as percentages.

    Units by :mod:`capitation.columns`.
    """
    formats = {}
    for c in frame.columns:
        if unit_of(str(c)) == "gbp":
            formats[c] = lambda x: f"{x:,.2f}"
        elif c == "p_loss":
            formats[c] = lambda x: f"{x:.1%}"
    return frame.to_string(formatters=formats)


def _settle(args: argparse.Namespace, written: list[str]) -> None:
    from risk_share.excel.settlement_workbook import write_settlement, write_settlement_into

    if args.with_inputs and not _is_workbook(args.agreement):
        raise InputError(
            "--with-inputs needs an agreement workbook (.xlsx); export the agreement first "
            "with: risk-share export",
            file=args.agreement,
        )
    if args.with_inputs and not args.out:
        raise InputError("--with-inputs needs --out OUT.xlsx (the agreement workbook is "
                         "never modified)", file=args.agreement)
    agreement, lines = _agreement_and_lines(args)
    _check_outputs(args, agreement, lines)
    settlement = agreement.settle(lines)
    if args.with_inputs:
        write_settlement_into(settlement, args.agreement, args.out)
    elif args.out:
        write_settlement(settlement, args.out)
    if args.out:
        written.append(args.out)
    charts = None
    if args.charts:
        from risk_share.plots import write_charts

        charts = write_charts(agreement, args.charts)
        written.append(args.charts)
    if not args.quiet:
        print(f"{agreement.name}: settlement of {lines}")
        print(f"Pooled variance: £{settlement.pooled_variance_gbp:,.2f} (positive = an "
              "overspend)")
        print(_money(settlement.parties))
        print(SIGN_CONVENTION)
        _print_written("settlement workbook", args.out, charts, args.charts)


def _simulate(args: argparse.Namespace, written: list[str]) -> None:
    from tqdm.auto import tqdm

    agreement, lines = _agreement_and_lines(args)
    _check_outputs(args, agreement, lines)
    if args.cv > MAX_PLAIN_CV:  # allowed (up to 10), but more likely a percentage
        warnings.warn(f"cv: {args.cv:g} is above {MAX_PLAIN_CV:g}: activity's standard "
                      f"deviation would be {args.cv:g} times its plan (a fraction: 0.05 means "
                      f"5%); did you mean {args.cv / 100:g}?", stacklevel=1)
    show = not args.quiet and sys.stderr.isatty() and args.n >= PROGRESS_FROM
    with tqdm(total=args.n, unit="scenario", disable=not show, file=sys.stderr) as bar:
        simulation = agreement.simulate(
            lines,
            n=args.n,
            cv=args.cv,
            correlation=args.correlation,
            seed=args.seed,
            distribution=args.distribution,
            progress=bar.update,
        )
    summary = simulation.summary()
    if args.out:
        _write_simulation(args, agreement, simulation, summary, show)
        written.append(args.out)
    charts = None
    if args.charts:
        from risk_share.plots import write_charts

        charts = write_charts(agreement, args.charts, simulation)
        written.append(args.charts)
    if not args.quiet:
        print(
            f"{agreement.name}: {counted(args.n, 'scenario')}, cv {args.cv:g}, correlation "
            f"{args.correlation:g}, {args.distribution}, seed {simulation.seed}"
        )
        print(f"Final positions ({POSITION_SIGN}):")
        print(_money(summary))
        _print_written("simulation workbook", args.out, charts, args.charts)


def _print_written(what: str, out: str | None, charts: list[Path] | None,
                   folder: str | None) -> None:
    """Print where the outputs went, as ``capitation run`` does: ``WHAT: PATH``."""
    if out:
        print(f"{what}: {Path(out).resolve()}")
    if charts is not None and folder is not None:
        print(f"charts ({len(charts)} PNG): {Path(folder).resolve()}")


def _write_simulation(args: argparse.Namespace, agreement: Agreement, simulation: Simulation,
                      summary: pd.DataFrame, show: bool) -> None:
    """Write ``simulate --out``: the summary, every scenario's positions, the settings.

    Scenarios beyond what a sheet holds go on further sheets (``positions_2``,
    ...), never cut; the summary sheet says where they are, the sign
    convention and the seed.
    """
    positions = split_rows("positions", simulation.positions)
    overridden = [applied.row() for applied in agreement.overrides]
    names = list(positions)
    where = names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"
    held = (f"all {counted(simulation.n, 'scenario')} on sheet{'s' if len(names) > 1 else ''} "
            f"{where}")
    settings = [("agreement", str(agreement.name)), ("scenarios", f"{args.n}"),
                ("cv", f"{args.cv:g}"), ("correlation", f"{args.correlation:g}"),
                ("distribution", args.distribution), ("seed", str(simulation.seed)),
                ("positions_sheets", held), ("sign convention", POSITION_SIGN),
                ("package version", package_version()), *overridden]
    drawn = f"cv {args.cv:g}, correlation {args.correlation:g}, {args.distribution}"
    notes = [
        f"Final positions in pounds: {POSITION_SIGN}.",
        "Chance of a loss: the share of scenarios in which the final position is above zero.",
        f"{agreement.name}: {counted(simulation.n, 'scenario')}, {drawn}, seed "
        f"{simulation.seed} (the same seed gives the same scenarios).",
        f"Each scenario's final positions: {held}.",
    ]
    pages = SimulationPages(str(agreement.name), str(agreement.year), simulation.n,
                            simulation.seed, drawn,
                            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    from tqdm.auto import tqdm

    rows = len(summary) + len(simulation.positions) + len(settings)
    with tqdm(total=rows, unit="row", desc="writing the workbook", disable=not show,
              file=sys.stderr) as bar:
        write_simulation_workbook(args.out, pages, summary, positions, settings, notes,
                                  progress=bar.update)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on bad input or a solver failure, 130
        after Ctrl-C and 143 after SIGTERM (one line on stderr, the temporary
        file removed).
    """
    args = parser().parse_args(argv)
    written: list[str] = []
    with sigterm_raises(), warnings_on_one_line(f"{PROGRAM}: "):
        try:
            return _main(args, written)
        except KeyboardInterrupt as stop:
            message, status = stopped(stop, written)
            print(f"{PROGRAM}: {message}", file=sys.stderr)
            return status


def _main(args: argparse.Namespace, written: list[str]) -> int:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.command == "settle":
                _settle(args, written)
            elif args.command == "export":
                _export(args, written)
            else:
                _simulate(args, written)
        for warning in caught:  # an amount that looks like the wrong unit, a number as text
            tell(PROGRAM, "warning", str(warning.message))
    except BrokenPipeError:  # output piped into a reader that stopped early (| head)
        sys.stderr.close()
        return 0
    except (InputError, SolverError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        tell(PROGRAM, "error", message)
        return 2
    except OSError as error:
        tell(PROGRAM, "error", os_error_message(error))
        return 2
    return 0
