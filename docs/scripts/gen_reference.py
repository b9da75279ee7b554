"""Write the reference pages when the site is built (run by mkdocs-gen-files).

Nothing here is typed by hand twice, so the pages cannot drift from the code:

- ``reference/model-file.md`` and ``reference/agreement-file.md``: the keys
  each reader accepts, found by asking the reader itself (each table of a
  valid document gets one unknown key, and the reader's "unknown key" error
  lists every key it accepts there), with what each key holds from the
  workbook schema the readers share (``capitation.excel.model_schema``). A
  key the reader accepts without a description here, or a description of a
  key it no longer accepts, stops the build.
- ``reference/columns.md``: every output column, from ``capitation.columns``.
- ``reference/cli.md``: the ``--help`` of every command.
- ``reference/api/*.md``: the Python API, one mkdocstrings entry per public name.
- ``changelog.md``: the repository's ``CHANGELOG.md``.

The functions return text, so the test suite calls them without building the site.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capitation.columns import TABLES, render_markdown
from capitation.errors import InputError
from capitation.excel.model_schema import CHOICES, FILES, LISTS, MODEL_SCHEMA, PER_YEAR, Schema
from capitation.model_file import parse_model
from capitation.persons.spec import ENGINES
from capitation.service_budget.budget_file import read_service_budget
from risk_share.agreement_file import agreement_from_dict
from risk_share.excel.agreement_schema import AGREEMENT_SCHEMA

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "zz_not_a_key"
_ACCEPTED = re.compile(r"expected one of: ([^)]*)\)")

# -- the model file ---------------------------------------------------------------------

#: Each table of the model file: (heading, anchor, schema section, path to it in a document).
MODEL_TABLES: list[tuple[str, str, str, tuple[str | int, ...]]] = [
    ("The document", "top", "", ()),
    ("[model]", "model", "model", ("model",)),
    ("[population]", "population", "population", ("population",)),
    ("[[component]]", "component", "component", ("component", 0)),
    ("[pace_of_change]", "pace_of_change", "pace_of_change", ("pace_of_change",)),
    ("[[risk_tier]]", "risk_tier", "risk_tier", ("risk_tier", 0)),
    ("[service_budget]", "service_budget", "service_budget", ("service_budget",)),
    ("[[service_budget.line]]", "service_budget-line", "line", ("service_budget", "line", 0)),
    ("[[service_budget.new_service]]", "service_budget-new_service", "new_service",
     ("service_budget", "new_service", 0)),
]

#: What each key holds, where the workbook schema cannot say (tables, lists of tables).
MODEL_HOLDS: dict[tuple[str, str], str] = {
    ("", "model"): "table",
    ("", "population"): "table",
    ("", "component"): "array of tables",
    ("", "pace_of_change"): "table",
    ("", "service_budget"): "table",
    ("", "opportunity"): "table",
    ("", "scenario"): "array of tables",
    ("", "risk_tier"): "array of tables",
    ("population", "file"): "file, or a table of year = file",
    ("population", "persons"): "file or folder",
    ("population", "person_id"): "text",
    ("population", "sex"): "text",
    ("population", "age"): "text",
    ("population", "risk_score"): "text",
    ("population", "risk_tier"): "text",
    ("population", "engine"): "one of " + ", ".join(f"`{e}`" for e in ENGINES),
    ("population", "dask_scheduler"): "text",
    ("population", "dask_workers"): "whole number",
    ("population", "names"): "table of level = column",
    ("component", "weighted_population"): "table of column = weight",
    ("component", "tier_weights"): "table of tier name = weight",
    ("risk_tier", "name"): "text",
    ("risk_tier", "from"): "fraction",
    ("risk_tier", "to"): "fraction",
    ("risk_tier", "weight"): "number",
    ("service_budget", "line"): "array of tables",
    ("service_budget", "new_service"): "array of tables",
}

MODEL_KEYS: dict[str, dict[str, str]] = {
    "": {
        "model": "Name, first year, envelope and need index convention. Always needed.",
        "population": "Who is counted and how practices group into levels.",
        "component": "One entry per part of the envelope (core services, primary medical "
                     "care, ...), each with its share or pot and how need is counted.",
        "pace_of_change": "Moves allocations from last year's baseline toward target "
                          "([method](../methods/pace-of-change.md)).",
        "risk_tier": "Bands of risk rank for person-level rows "
                     "([risk tiers](../methods/weighted-capitation.md#from-people)).",
        "service_budget": "A capitated service budget built from current spend "
                          "([method](../methods/service-budget.md)).",
        "opportunity": "Needs versus use: activity against need, funnel plots, peers and "
                       "the value opportunity ([method](../methods/needs-and-use.md)).",
        "scenario": "Named scenarios, each a set of overrides, for `capitation scenarios` "
                    "([scenarios](../methods/scenarios.md)).",
    },
    "model": {
        "name": "Name of the model, shown on results.",
        "year": 'First financial year, such as "2025/26".',
        "envelope_gbp": "Money to allocate, in pounds and whole pence. Needed when "
                        "components give `share`; with `pot_gbp` it may be left out (the "
                        "pots add up to it) or must equal their sum.",
        "need_index_convention": "How need indices of groups are printed: `toolkit` (full "
                                 "precision, the default) or `nhs_england` ([need "
                                 "index](../methods/need-index.md#two-conventions)).",
    },
    "population": {
        "file": "Practice table (CSV in UTF-8, or a workbook with `sheet`), one row per "
                "practice; with several years, a table of one file per year.",
        "sheet": "Sheet of `file` when it is a workbook.",
        "id": "Column of practice codes (on the person-level path: the persons' practice "
              "column; default `practice`).",
        "population": "Column of registered population, for per-head figures.",
        "levels": 'Grouping columns, innermost first; a list of columns is one level named '
                  'by joining them with "/" (`["ICB", "LAD"]` gives `ICB/LAD`).',
        "register": "NHS Digital GP register CSV by single year of age, in place of `file` "
                    "([counting from the register](../methods/weighted-capitation.md"
                    "#from-the-register)).",
        "practices": "Practice → level codes table, for the register and person-level paths.",
        "names": 'Optional: per level (`practice` or a level of `levels`), the column of '
                 "organisation names, shown beside the codes in every output "
                 '(`{ practice = "GP_Practice_Name", ICB = "ICBname" }`); a composite '
                 'level\'s names may name its inner part only (`"ICB/LAD" = "LTLA"`). '
                 "A code with two different names is an error; a missing name is blank. "
                 "From the practice table (`file`) only.",
        "persons": "Person-level rows: a Parquet file, a folder of Parquet parts, or a CSV "
                   "([counting people](../methods/weighted-capitation.md#from-people)).",
        "person_id": "Column of pseudonymous person ids (default `person_id`).",
        "sex": "Column of sex, M or F (default `sex`).",
        "age": "Column of age in years (default `age`).",
        "risk_score": "Column of risk scores (0 or more), ranked into the `[[risk_tier]]` "
                      "bands.",
        "risk_tier": "Instead of `risk_score`: a column naming each person's tier.",
        "engine": "`auto` (the default): one process (`pandas`) unless `dask_scheduler` is "
                  "given and the Parquet parts hold over 100 million persons; or `pandas` "
                  "or `dask` to choose.",
        "dask_scheduler": "Address of an existing Dask cluster (`tcp://HOST:8786`); "
                          "without it the run starts and closes a local one.",
        "dask_workers": "Worker processes of the local Dask cluster (default 2).",
    },
    "component": {
        "name": "Name of the component; its columns are `target_<name>_gbp` and "
                "`weighted_population_<name>`.",
        "share": "Fraction of `envelope_gbp` (all components' shares add up to 1).",
        "pot_gbp": "Instead of `share`: the component's pot in pounds (whole pence).",
        "weighted_population": 'A blend of columns of the practice table, column = weight, '
                               'such as `{ "Final WP" = 1.0 }`.',
        "multipliers": "Columns that multiply this component's blend only (market forces "
                       "factor, emergency ambulance cost adjustment).",
        "cost_weights": "Cost weights by sex and age band (columns `sex`, `age_from`, "
                        "`age_to`, `weight`), on the register and person-level paths.",
        "need_index": "Need index per practice (columns `practice`, `need_index`); every "
                      "practice must be there.",
        "tier_weights": "This component's own risk tier weights, overriding "
                        "`[[risk_tier]]`'s `weight`.",
    },
    "pace_of_change": {
        "level": "Level whose allocations are set (such as `ICB`).",
        "baseline": "Last year's allocation per organisation (columns: the level's name, "
                    "`baseline_gbp`).",
        "baseline_column": "Instead of `baseline`: a column of the practice table, summed "
                           "to the level.",
        "min_growth": "Least growth on baseline everyone gets (0.02 is 2%).",
        "max_growth": "Most growth on baseline (leave out for no cap).",
        "method": "`lp` (the fairest optimum, the default) or `rule` ([the two "
                  "methods](../methods/pace-of-change.md)).",
        "years": "Every year of a multi-year run, consecutive from `[model] year`; each "
                 "year starts from the year before's allocation.",
    },
    "risk_tier": {
        "name": "Name of the tier.",
        "from": "Top of the band, as a fraction of persons ranked by risk (0 is the "
                "highest risk).",
        "to": "Bottom of the band (the bands cover 0 to 1 without gaps or overlaps).",
        "weight": "The tier's weight, multiplying each person's cost weight.",
    },
    "service_budget": {
        "name": "The budget's title.",
        "baseline_year": 'Year of the baseline activity and prices, such as "2016/17".',
        "years": "Budget years, consecutive from the year after `baseline_year`.",
        "growth": "Demographic growth a year, compounding (a fraction).",
        "price_uplift": "Price uplift a year, compounding (a fraction).",
        "stranded_support": "Fraction of stranded cost the commissioner funds (0 to 1).",
        "line": "Existing service lines, one per provider and point of delivery.",
        "lines": "Instead of `line`: a CSV of lines with the same columns (a per-year "
                 "value as one column per year, `activity_change_2017_18`).",
        "new_service": "New services, costed per patient.",
        "new_services": "Instead of `new_service`: a CSV of new services.",
    },
    "line": {
        "provider": "Provider of the line.",
        "pod": "Point of delivery.",
        "activity": "Activity in the baseline year.",
        "price_gbp": "Price per unit of activity in the baseline year.",
        "fixed": "Fixed share of the line's cost (`fixed` + `semi_fixed` + `variable` = 1).",
        "semi_fixed": "Semi-fixed share of the line's cost.",
        "variable": "Variable share of the line's cost (released at once).",
        "fixed_release_years": "Years over which fixed cost is released (0: at once).",
        "semi_fixed_release_years": "Years over which semi-fixed cost is released.",
        "activity_change": "Planned change to grown activity (−0.25 is 25% fewer), "
                           "cumulative from the baseline.",
    },
    "new_service": {
        "provider": "Provider of the new service.",
        "name": "Name of the service.",
        "patients": "Patients a year.",
        "cost_per_patient_gbp": "Cost per patient, in each year's cash terms.",
    },
}


def _model_document() -> dict[str, Any]:
    """Return a small valid model file as parsed TOML (its files are made by the caller)."""
    return {
        "model": {"name": "reference", "year": "2025/26", "envelope_gbp": 1_000},
        "population": {"file": "practices.csv", "id": "practice", "population": "population",
                       "levels": ["ICB"]},
        "component": [{"name": "core", "share": 1.0, "weighted_population": {"WP": 1.0}}],
        "pace_of_change": {"level": "ICB", "baseline": "baselines.csv", "min_growth": 0.02},
        "service_budget": {
            "name": "MSK", "baseline_year": "2016/17", "years": ["2017/18"], "growth": 0.01,
            "price_uplift": 0.02, "stranded_support": 1.0,
            "line": [{"provider": "Acute trust", "pod": "Outpatient first", "activity": 100,
                      "price_gbp": 150.0, "fixed": 0.3, "semi_fixed": 0.2, "variable": 0.5,
                      "fixed_release_years": 3, "semi_fixed_release_years": 1,
                      "activity_change": -0.25}],
            "new_service": [{"provider": "Community MSK", "name": "Triage", "patients": 10,
                             "cost_per_patient_gbp": 120.0}],
        },
        "risk_tier": [{"name": "all", "from": 0.0, "to": 1.0, "weight": 1.0}],
    }


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def accepted_keys(parse: Callable[[dict[str, Any]], object], document: dict[str, Any],
                  path: tuple[str | int, ...]) -> list[str]:
    """Return the keys a reader accepts in one table, by giving it an unknown key there.

    Parameters
    ----------
    parse : callable
        The reader, given the whole document.
    document : dict
        A valid document (parsed TOML).
    path : tuple
        Where the table is in the document (keys, and list positions from 0).

    Returns
    -------
    list of str
        The keys the reader's "unknown key" error lists, sorted.
    """
    changed = copy.deepcopy(document)
    table = changed
    for part in path:
        table = table[part]
    table[UNKNOWN] = 1
    expected_key = f"{_dotted(path)}.{UNKNOWN}" if path else UNKNOWN
    try:
        parse(changed)
    except InputError as error:
        match = _ACCEPTED.search(str(error))
        if error.key == expected_key and match:
            return sorted(match.group(1).split(", "))
        raise RuntimeError(f"reading {expected_key} failed otherwise: {error}") from error
    raise RuntimeError(f"the reader accepted the unknown key {expected_key}")


def model_file_keys() -> dict[str, list[str]]:
    """Return the keys the model-file reader accepts, per table anchor."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for name in ("practices.csv", "baselines.csv"):
            (base / name).write_text("", encoding="utf-8")
        model = base / "model.toml"

        def parse(document: dict[str, Any]) -> object:
            document = dict(document)
            tiers = document.pop("risk_tier")
            budget = document.pop("service_budget")
            if UNKNOWN in str(tiers):  # the tiers are read before the population
                document["risk_tier"] = tiers
            read_service_budget(budget, base, model)
            return parse_model(document, model)

        return {anchor: accepted_keys(parse, _model_document(), path)
                for _, anchor, _, path in MODEL_TABLES}


def _holds(schema: Schema, section: str, key: str, overrides: dict[tuple[str, str], str],
           per_year: dict[str, set[str]], files: dict[str, set[str]],
           choices: dict[tuple[str, str], tuple[str, ...]]) -> str:
    if (section, key) in overrides:
        return overrides[(section, key)]
    if (section, key) in choices:
        return "one of " + ", ".join(f"`{c}`" for c in choices[(section, key)])
    if key in files.get(section, ()):
        return "file"
    kind = schema.kind_of(section, key)
    if kind == "any":
        raise RuntimeError(f"say what {section}.{key} holds (the workbook schema does not)")
    if key in LISTS:
        return f"list of {kind}"
    if key in per_year.get(section, ()):
        return f"{kind}, or a list of one per year"
    return kind


def _check_described(found: dict[str, list[str]], described: dict[str, dict[str, str]],
                     sections: dict[str, str], what: str) -> None:
    for anchor, keys in found.items():
        given = described[sections[anchor]]
        missing = sorted(set(keys) - set(given))
        stale = sorted(set(given) - set(keys))
        if missing or stale:
            raise RuntimeError(
                f"the {what} reference is out of date for {anchor}: "
                f"accepted but not described {missing}; described but not accepted {stale}")


def model_file_page() -> str:
    """Return the model file reference page (Markdown)."""
    found = model_file_keys()
    sections = {anchor: section for _, anchor, section, _ in MODEL_TABLES}
    _check_described(found, MODEL_KEYS, sections, "model file")
    out = [
        "# Model file keys",
        "",
        "Every key the model-file reader accepts, table by table. This page is generated",
        "when the site is built, by asking the reader itself which keys it accepts, so it",
        "cannot fall behind the code. A key the reader does not know is refused with the",
        "file, the key and the keys it expected. What a key holds follows the model",
        "workbook (`capitation export`), where each key of a table is a row.",
        "",
        "Paths are relative to the model file. Fractions are written as fractions: 0.02",
        "is 2%. Money is in pounds (keys ending `_gbp`). A number or a list of one per",
        "year is one value for every year, or one value per year of the run.",
        "How to write one: [writing a model file](../how-to/model-file.md).",
        "",
    ]
    for heading, anchor, section, _ in MODEL_TABLES:
        out += [f"## `{heading}` {{#{anchor}}}" if section else f"## {heading} {{#{anchor}}}",
                "", "| key | holds | what it is |", "|---|---|---|"]
        for key in found[anchor]:
            holds = _holds(MODEL_SCHEMA, section, key, MODEL_HOLDS, PER_YEAR, FILES, CHOICES)
            out.append(f"| `{key}` | {holds} | {MODEL_KEYS[section][key]} |")
        out.append("")
    return "\n".join(out)


# -- the agreement file -----------------------------------------------------------------

AGREEMENT_TABLES: list[tuple[str, str, str, tuple[str | int, ...]]] = [
    ("The document", "top", "", ()),
    ("[agreement]", "agreement", "agreement", ("agreement",)),
    ("[[party]]", "party", "party", ("party", 0)),
    ("[pool]", "pool", "pool", ("pool",)),
    ("[[pool.loss_band]]", "pool-loss_band", "loss_band", ("pool", "loss_band", 0)),
    ("[[pool.gain_band]]", "pool-gain_band", "gain_band", ("pool", "gain_band", 0)),
    ("[[marginal_rate]]", "marginal_rate", "marginal_rate", ("marginal_rate", 0)),
]

AGREEMENT_HOLDS: dict[tuple[str, str], str] = {
    ("", "agreement"): "table",
    ("", "party"): "array of tables",
    ("", "pool"): "table",
    ("", "marginal_rate"): "array of tables",
    ("pool", "loss_band"): "array of tables",
    ("pool", "gain_band"): "array of tables",
    ("loss_band", "shares"): "table of party = fraction",
    ("gain_band", "shares"): "table of party = fraction",
}

AGREEMENT_KEYS: dict[str, dict[str, str]] = {
    "": {
        "agreement": "Name, year and commissioner. Always needed.",
        "party": "One entry per party to the agreement, the commissioner included.",
        "pool": "The system risk/reward pool. Always needed.",
        "marginal_rate": "Rates per party and point of delivery; a line with no rate is a "
                         "block ([marginal rates](../methods/marginal-rates.md)).",
    },
    "agreement": {
        "name": "Title of the agreement.",
        "year": 'Financial year, such as "2018/19".',
        "commissioner": "The party that pays the plan and holds the pooled variance before "
                        "it is shared.",
    },
    "party": {
        "name": "The party's name.",
        "influence": "The party's influence over the drivers of the risk (influences add "
                     "up to 1), used by [share calibration](../methods/calibration.md).",
        "max_loss": "Cap on the party's loss share, as a fraction of the pool budget.",
        "max_gain": "Collar on the party's gain share, as a fraction of the pool budget.",
        "max_loss_gbp": "Instead of `max_loss`: the cap in pounds.",
        "max_gain_gbp": "Instead of `max_gain`: the collar in pounds.",
    },
    "pool": {
        "budget_gbp": "Pool budget in pounds; band bounds and cap fractions refer to it.",
        "mode": "`corridor` (each slice at its own band's shares) or `first_dollar` (all "
                "of it at the shares of the band it falls in).",
        "residual": "The party that takes what a capped party cannot (default: the "
                    "commissioner); it may have no cap.",
        "loss_band": "Bands for an overspend, in order.",
        "gain_band": "Bands for a saving, in order.",
    },
    "loss_band": {
        "upto": "Upper bound of the band as a fraction of the pool budget; the last band "
                "has none.",
        "shares": "Each party's share of the band (fractions adding up to 1; a party not "
                  "named gets 0).",
    },
    "gain_band": {
        "upto": "Upper bound of the band as a fraction of the pool budget; the last band "
                "has none.",
        "shares": "Each party's share of the band (fractions adding up to 1).",
    },
    "marginal_rate": {
        "party": "The provider the rate applies to.",
        "pod": 'Point of delivery, or `"*"` for every other point of delivery of the party.',
        "above_plan": "Fraction of the value of activity above plan the commissioner pays.",
        "below_plan": "Fraction of the value of activity below plan the provider returns.",
        "tolerance": "Variance within which nothing changes hands, as a fraction of the "
                     "planned value (default 0).",
    },
}


def _agreement_document() -> dict[str, Any]:
    shares = {"CCG": 0.5, "Acute trust": 0.5}
    return {
        "agreement": {"name": "reference", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": "CCG"}, {"name": "Acute trust"}],
        "pool": {"budget_gbp": 1_000_000, "mode": "corridor",
                 "loss_band": [{"shares": dict(shares)}],
                 "gain_band": [{"shares": dict(shares)}]},
        "marginal_rate": [{"party": "Acute trust", "pod": "*", "above_plan": 0.2,
                           "below_plan": 0.2}],
    }


def agreement_file_keys() -> dict[str, list[str]]:
    """Return the keys the agreement reader accepts, per table anchor."""
    return {anchor: accepted_keys(agreement_from_dict, _agreement_document(), path)
            for _, anchor, _, path in AGREEMENT_TABLES}


def agreement_file_page() -> str:
    """Return the agreement file reference page (Markdown)."""
    found = agreement_file_keys()
    sections = {anchor: section for _, anchor, section, _ in AGREEMENT_TABLES}
    _check_described(found, AGREEMENT_KEYS, sections, "agreement file")
    out = [
        "# Agreement file keys",
        "",
        "Every key the risk share agreement reader accepts (`Agreement.from_toml`,",
        "`risk-share settle AGREEMENT.toml`), table by table, generated when the site is",
        "built by asking the reader which keys it accepts. The agreement workbook",
        "(`risk-share export`) holds the same keys, one sheet per table.",
        "The methods: [marginal rates](../methods/marginal-rates.md), [the risk/reward",
        "pool](../methods/risk-reward-pool.md) and [settlement](../methods/settlement.md).",
        "",
    ]
    for heading, anchor, section, _ in AGREEMENT_TABLES:
        out += [f"## `{heading}` {{#{anchor}}}" if section else f"## {heading} {{#{anchor}}}",
                "", "| key | holds | what it is |", "|---|---|---|"]
        for key in found[anchor]:
            holds = _holds(AGREEMENT_SCHEMA, section, key, AGREEMENT_HOLDS, {}, {},
                           dict(AGREEMENT_SCHEMA.choices))
            out.append(f"| `{key}` | {holds} | {AGREEMENT_KEYS[section][key]} |")
        out.append("")
    return "\n".join(out)


# -- output columns ---------------------------------------------------------------------

def columns_page() -> str:
    """Return the output columns reference page (Markdown), from ``capitation.columns``."""
    out = [
        "# Output columns",
        "",
        "Every column the toolkit writes, table by table, from the one column schema the",
        "writers, the terminal summaries and the charts read (`capitation.columns`). Units:",
        "`gbp` is pounds, `fraction` is a fraction (0.02 is 2%), `index` is 1 at the",
        "average. A name with a part in angle brackets stands for several columns",
        "(`target_<component>_gbp` is `target_core_gbp`, ...).",
        "",
    ]
    for table, where in TABLES.items():
        out += [f"## `{table}` {{#{table}}}", "", where[0].upper() + where[1:] + ".", "",
                render_markdown(table).rstrip(), ""]
    return "\n".join(out)


# -- the command line -------------------------------------------------------------------

def _help(main: Callable[[list[str]], object], argv: list[str]) -> str:
    text = io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
        main([*argv, "--help"])
    return text.getvalue().rstrip()


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:  # argparse keeps its subcommands here
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def cli_page() -> str:
    """Return the command line reference page (Markdown): every command's ``--help``."""
    from capitation.cli import _parser as capitation_parser
    from capitation.cli import main as capitation_main
    from risk_share.cli import main as risk_share_main
    from risk_share.cli import parser as risk_share_parser

    os.environ["COLUMNS"] = "88"  # argparse wraps help text to the terminal's width
    out = [
        "# Command line",
        "",
        "Two commands are installed with the toolkit: `capitation` (allocations and",
        "service budgets) and `risk-share` (settlements and simulations). Where the",
        "scripts folder is not on the PATH, `python -m capitation` and `python -m",
        "risk_share` do the same. Bad input prints one message naming the file, key,",
        "sheet, cell or row, exits with status 2 and writes nothing. The text below is",
        "each command's `--help`, captured when the site was built.",
        "",
    ]
    for prog, main, parser in (("capitation", capitation_main, capitation_parser()),
                               ("risk-share", risk_share_main, risk_share_parser())):
        out += [f"## `{prog}` {{#{prog}}}", "", "```text", _help(main, []), "```", ""]
        for command in _subcommands(parser):
            out += [f"### `{prog} {command}` {{#{prog}-{command}}}", "", "```text",
                    _help(main, [command]), "```", ""]
    return "\n".join(out)


# -- the Python API ---------------------------------------------------------------------

API_PAGES = {
    "capitation": ("capitation", "The allocation toolkit's public names "
                                 "(`from capitation import ...`)."),
    "risk_share": ("risk_share", "The risk share toolkit's public names "
                                 "(`import risk_share`)."),
    "testing": ("capitation.testing", "Checks for your own tests of results."),
    "plots": ("capitation.plots", "Charts drawn from results (matplotlib figures)."),
    "risk_share_plots": ("risk_share.plots", "Charts of an agreement, a simulation and a "
                                             "calibration."),
}


def api_page(module_name: str, about: str) -> str:
    """Return one API page: an mkdocstrings entry per name in the module's ``__all__``."""
    import importlib

    module = importlib.import_module(module_name)
    out = [f"# `{module_name}`", "", about, ""]
    for name in module.__all__:
        out += [f"::: {module_name}.{name}", ""]
    return "\n".join(out)


def pages() -> dict[str, str]:
    """Return every generated page: path in the site → Markdown."""
    out = {
        "reference/model-file.md": model_file_page(),
        "reference/agreement-file.md": agreement_file_page(),
        "reference/columns.md": columns_page(),
        "reference/cli.md": cli_page(),
    }
    for page, (module_name, about) in API_PAGES.items():
        out[f"reference/api/{page}.md"] = api_page(module_name, about)
    out["changelog.md"] = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return out


def _write_pages() -> None:
    import mkdocs_gen_files

    for path, text in pages().items():
        with mkdocs_gen_files.open(path, "w") as page:
            page.write(text + "\n")


if __name__ in ("<run_path>", "__main__"):  # mkdocs-gen-files runs this file
    _write_pages()
