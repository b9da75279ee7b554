"""Command line: ``capitation run``, ``capitation scenarios`` and ``capitation export``.

- ``capitation run MODEL.toml [--out OUT.xlsx] [--charts DIR]``: run a model file (or a
  model workbook, ``MODEL.xlsx``) and write its results workbook (and its charts as PNG). With
  ``--with-inputs`` (model workbooks only) the results workbook is a copy of
  the model workbook with the results sheets added or replaced; every other
  part of the team's file is kept byte for byte.
- ``capitation scenarios MODEL.toml [--scenarios FILE] --out OUT.xlsx``: run the base
  model and every ``[[scenario]]`` table (:mod:`capitation.scenarios`) and write
  one workbook comparing them (:mod:`capitation.excel.scenarios`).
- ``capitation export MODEL.toml --out MODEL.xlsx``: write a model file as a
  self-contained model workbook a finance team can fill in and send back.
- ``capitation demo [--out demo_results.xlsx]``: run the demo model shipped
  inside the package (:mod:`capitation.demo`); no repository needed.
- ``capitation --version``: the installed toolkit's version, as the
  assumptions sheet of every results workbook records it.

The only module that prints. ``--quiet`` means what it means for
``risk-share``: no progress bars and nothing on standard output (no summary,
no "results workbook: PATH"); warnings and errors still go to standard error.
Bad input prints one clear message to stderr,
without a traceback, and exits with status 2; nothing is written. Every
message on stderr has argparse's own form, ``capitation: error: MESSAGE``
(``capitation: warning: ...``, ``capitation: interrupted: ...``), as
``risk-share``'s do (:func:`tell`). An output
that would replace a file the run reads (the model, a population or
baselines file, ...), a read-only file or a folder, or whose folder does not
exist, is refused before anything is computed. Ctrl-C (exit status 130) and
SIGTERM (143) stop with one line and leave no temporary file.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import pandas as pd

from capitation.columns import format_value, unit_of
from capitation.errors import InputError, SolverError
from capitation.files import check_output_folder, check_output_path, os_error_message
from capitation.interrupts import sigterm_raises, stopped
from capitation.results import package_version
from capitation.words import counted, plural

if TYPE_CHECKING:
    from capitation.results import Results

__all__ = ["main", "warnings_on_one_line", "tell", "PROGRAM"]

PROGRAM = "capitation"
"""The command's name, first on every line it prints to stderr (as argparse's usage errors)."""


def tell(program: str, kind: str, message: str) -> None:
    """Print one line on stderr in argparse's form: ``PROGRAM: KIND: MESSAGE``.

    Parameters
    ----------
    program : str
        The command (``capitation``, ``risk-share``).
    kind : str
        ``error``, ``warning``, ``interrupted`` or ``terminated``.
    message : str
        What happened.
    """
    print(f"{program}: {kind}: {message}", file=sys.stderr)


@contextlib.contextmanager
def warnings_on_one_line(program: str = "") -> Iterator[None]:
    """Print each warning as one line on stderr, ``warning: ...``, without a source line.

    Python's default shows the file, line number and the line of source that
    warned, which means nothing to a user of the command line.

    Parameters
    ----------
    program : str
        Put before ``warning:`` (``"risk-share: "``).
    """
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        text = " ".join(str(message).split())
        print(f"{program}warning: {text}", file=sys.stderr if file is None else file)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Population-needs-based capitated budgets for integrated care systems.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a model file and write its results workbook")
    run.add_argument("model", type=Path, help="model file (.toml, or a model workbook .xlsx)")
    run.add_argument("--out", type=Path, default=None,
                     help="results workbook (default: <model stem>_results.xlsx here)")
    run.add_argument("--with-inputs", action="store_true",
                     help="write the results into a copy of the model workbook (MODEL.xlsx "
                          "only); default output <model stem>_results.xlsx")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bars and no summary (warnings and errors still shown)")
    run.add_argument("--charts", type=Path, default=None, metavar="DIR",
                     help="also write the run's charts as PNG files to this folder")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                     help="change a key of the model file for this run (repeatable; VALUE is "
                          "TOML, a bare word is text): --set pace_of_change.min_growth=0.01")
    scenarios = sub.add_parser("scenarios", help="run a model's [[scenario]] tables and write "
                                                 "one workbook comparing them with the base")
    scenarios.add_argument("model", type=Path, help="model file (.toml, or a model workbook)")
    scenarios.add_argument("--scenarios", type=Path, default=None, metavar="FILE",
                           help="TOML file of [[scenario]] tables (default: the model file's)")
    scenarios.add_argument("--out", type=Path, required=True, help="workbook to write (.xlsx)")
    scenarios.add_argument("--level", default=None,
                           help="level to compare (default: the pace-of-change level, else "
                                "the top level)")
    scenarios.add_argument("--quiet", action="store_true", help="no progress bars")
    export = sub.add_parser("export", help="write a model file as a model workbook")
    export.add_argument("model", type=Path, help="model file (.toml)")
    export.add_argument("--out", type=Path, default=None,
                        help="model workbook (default: <model stem>.xlsx here)")
    export.add_argument("--quiet", action="store_true",
                        help="print nothing but warnings and errors")
    demo = sub.add_parser("demo", help="run the demo model shipped with the package "
                                       "(England 2025/26, illustrative envelope)")
    demo.add_argument("--out", type=Path, default=None,
                      help="results workbook (default: demo_results.xlsx here)")
    demo.add_argument("--quiet", action="store_true",
                      help="no progress bars and no summary (warnings and errors still shown)")
    demo.add_argument("--charts", type=Path, default=None, metavar="DIR",
                      help="also write the run's charts as PNG files to this folder")
    synth = sub.add_parser("synth-persons",
                           help="write SYNTHETIC persons matching a model's practice populations")
    synth.add_argument("model", type=Path, help="model file (.toml)")
    synth.add_argument("--out", type=Path, required=True, help="new folder of Parquet parts")
    synth.add_argument("--fraction", type=float, default=1.0,
                       help="fraction of each practice's population (default 1.0)")
    synth.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    return parser


_TERMINAL_UNITS = ("gbp", "fraction", "index", "persons")


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """Text for printing: each column by its unit (capitation.columns.format_value)."""
    shown = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        values = frame[name]
        unit = unit_of(str(name))
        if unit in _TERMINAL_UNITS:
            shown[name] = values.map(lambda v, unit=unit: format_value(v, unit))
        elif name == "name":  # an organisation without a name is blank, not "NaN"
            shown[name] = values.fillna("")
        else:
            shown[name] = values
    return shown


def _summary_text(results: Results) -> str:
    lines = []
    if results.tables:
        top = results.levels[-1]
        table = results.summary()
        lines.append(f"{results.spec.name}: {counted(len(results.table('practice')), 'practice')}"
                     f", {counted(len(table), top)}, envelope "
                     f"£{table['allocation_gbp'].sum():,.2f}")
        shown = table.sort_values("need_index", ascending=False)
        lines.append(f"highest need index first ({min(10, len(shown))} of "
                     f"{counted(len(shown), top)}):")
        lines.append(_formatted(shown.head(10)).to_string())
        if len(shown) > 10:
            more = len(shown) - 10
            lines.append(f"... {more:,} more {top if more == 1 else plural(top)} in the workbook")
    pace = results.pace_of_change
    if pace is not None and len(pace) > 1:
        for year, row in pace.iterrows():
            lines.append(f"pace of change {year}: largest shortfall "
                         f"{row['largest_shortfall']:.4%}, total shortfall "
                         f"£{row['total_shortfall_gbp']:,.2f} ({row['status']})")
    elif pace is not None and results.spec.pace is not None:
        row = pace.iloc[0]
        lines.append(f"pace of change at {results.spec.pace.level}: largest shortfall below "
                     f"target {row['largest_shortfall']:.4%}, total shortfall "
                     f"£{row['total_shortfall_gbp']:,.2f} ({row['status']}, solved in "
                     f"{row['build_seconds'] + row['solve_seconds']:.2f} s)")
    needs = getattr(results, "needs_and_use", None)
    if needs is not None:  # needs versus use: one line per service
        for service, row in needs.summary().iterrows():
            pounds = (f", opportunity £{row['opportunity_gbp']:,.2f}"
                      if "opportunity_gbp" in row.index else "")
            lines.append(f"needs versus use, {service}: {int(row['units_above_benchmark']):,} of "
                         f"{int(row['units']):,} ({needs.level}) above benchmark, "
                         f"{int(row['also_high_95']):,} of them high at 95%{pounds}")
    budget = results.budget
    if budget is not None:
        lines.append(f"service budget {budget.name}:")
        lines.append(_formatted(budget.budget_bridge).to_string())
    return "\n".join(lines)


def _output(args: argparse.Namespace, default: str) -> tuple[Path, str]:
    """Return the output file and how messages name it (``--out``, or "the output")."""
    if args.out is not None:
        return args.out, "--out"
    return Path.cwd() / default, "the output"


def _export(args: argparse.Namespace, written: list[Path]) -> str:
    from capitation.excel.model_export import export_model
    from capitation.model import Model

    out, option = _output(args, f"{args.model.stem}.xlsx")
    check_output_path(out, Model.from_toml(args.model).input_files(), option)
    export_model(args.model, out)
    written.append(out)
    return f"model workbook: {Path(out).resolve()}"


def _run(args: argparse.Namespace, written: list[Path]) -> str:
    from capitation.model import Model

    workbook = args.model.suffix.lower() in {".xlsx", ".xlsm"}
    if args.with_inputs and not workbook:
        raise InputError("--with-inputs needs a model workbook (.xlsx); export the model "
                         "first with: capitation export", file=args.model)
    model = Model.from_excel(args.model) if workbook else Model.from_toml(args.model)
    if getattr(args, "overrides", None):
        from capitation.overrides import parse_assignments

        model = model.with_values(parse_assignments(args.overrides))
    inputs = model.input_files()
    out, option = _output(args, f"{args.model.stem}_results.xlsx")
    check_output_path(out, inputs, option)
    if args.charts is not None:
        check_output_folder(args.charts, inputs)
    results = model.run(progress=not args.quiet and sys.stderr.isatty())
    if args.with_inputs:
        from capitation.excel.patch import write_results_into

        write_results_into(results, args.model, out)
    else:
        results.to_excel(out)
    written.append(out)
    text = f"{_summary_text(results)}\nresults workbook: {out.resolve()}"
    if args.charts is not None:
        from capitation.plots import write_charts

        charts = write_charts(results, args.charts)
        written.append(args.charts)
        text += f"\ncharts ({len(charts)} PNG): {args.charts.resolve()}"
    return text


def _scenarios(args: argparse.Namespace, written: list[Path]) -> str:
    from capitation.comparison import compare
    from capitation.excel.scenarios import write_scenarios
    from capitation.model import Model
    from capitation.scenarios import run_scenarios, scenarios_of

    workbook = args.model.suffix.lower() in {".xlsx", ".xlsm"}
    model = Model.from_excel(args.model) if workbook else Model.from_toml(args.model)
    inputs = model.input_files()
    if args.scenarios is not None:
        inputs["scenarios"] = args.scenarios
    check_output_path(args.out, inputs, "--out")
    found = scenarios_of(model, args.scenarios)
    runs = run_scenarios(model, found, progress=not args.quiet and sys.stderr.isatty())
    base = runs[next(iter(runs))]
    level = args.level or (model.spec.pace.level if model.spec.pace is not None
                           else base.levels[-1])
    comparison = compare(runs, level=level)
    write_scenarios(runs, comparison, args.out)
    written.append(args.out)
    return (f"{model.spec.name}: base and {len(found)} scenario"
            f"{'s' if len(found) != 1 else ''} at {level}\n"
            f"{_formatted(comparison.headlines).to_string()}\n"
            f"scenarios workbook: {args.out.resolve()}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success; 2 on bad input or a solver failure; 130 after Ctrl-C and
    143 after SIGTERM (one line on stderr, the temporary file removed).
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    written: list[Path] = []
    with sigterm_raises(), warnings_on_one_line(f"{PROGRAM}: "):
        try:
            return _main(args, written)
        except KeyboardInterrupt as stop:
            message, status = stopped(stop, written)
            print(f"{PROGRAM}: {message}", file=sys.stderr)
            return status


def _main(args: argparse.Namespace, written: list[Path]) -> int:
    if args.command == "synth-persons":
        return _synth_persons(args)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.command == "demo":
                from capitation.demo import demo_model_file

                args.model, args.with_inputs = demo_model_file(), False
            commands = {"export": _export, "run": _run, "demo": _run, "scenarios": _scenarios}
            text = commands[args.command](args, written)
        for w in caught:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except (InputError, SolverError) as exc:
        tell(PROGRAM, "error", str(exc))
        return 2
    except OSError as exc:
        tell(PROGRAM, "error", os_error_message(exc))
        return 2
    if getattr(args, "quiet", False):  # --quiet: nothing on stdout, as in risk-share
        return 0
    try:
        print(text)
    except BrokenPipeError:  # output piped into a reader that stopped early (| head)
        sys.stderr.close()
    return 0


def _synth_persons(args: argparse.Namespace) -> int:
    """Write synthetic persons (capitation.persons.synthetic); bad input exits 2."""
    from capitation.model_file import read_model_file
    from capitation.persons.synthetic import (
        ILLUSTRATIVE_PROFILE_NOTE,
        practice_sizes,
        write_synthetic_persons,
    )

    try:
        spec = read_model_file(args.model)
        codes, sizes, column = practice_sizes(spec)
        assert spec.population is not None  # practice_sizes raised InputError otherwise
        persons = spec.population.persons
        names = {} if persons is None else {"person_id": persons.person_id, "sex": persons.sex,
                                            "age": persons.age,
                                            "risk_score": persons.risk_score or "risk_score"}
        made = write_synthetic_persons(codes, sizes, args.out, fraction=args.fraction,
                                       seed=args.seed, practice_column=column, columns=names)
    except (InputError, ValueError) as exc:
        tell(PROGRAM, "error", str(exc))
        return 2
    except OSError as exc:
        tell(PROGRAM, "error", os_error_message(exc))
        return 2
    print(f"{counted(made.persons, 'person')} in {counted(made.practices, 'practice')}, "
          f"{counted(made.parts, 'Parquet part')}: {made.folder.resolve()}")
    print(ILLUSTRATIVE_PROFILE_NOTE)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
