"""The documentation site: its worked examples against the toolkit, its reference, its build.

The methods pages carry worked examples; each test here reads an example's
inputs and figures from the page (its tables, its TOML blocks, its figures in
bold) and recomputes them with the toolkit, so a page and the code cannot
disagree. The reference page of model-file keys is compared with the keys the
readers accept. The strict build (warnings are errors, notebooks executed) and
a deliberately broken link in a scratch copy are slow tests: ``make test``
runs them.
"""

from __future__ import annotations

import math
import os
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import risk_share
from capitation import Component, InputError, Model, NeedsFormula, Pace, Population, allocate
from capitation.model_file import read_model_file
from capitation.rounding import half_up, largest_remainder, round_pence
from capitation.service_budget.budget import build_budget
from capitation.service_budget.budget_file import read_service_budget

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MINUS = "\u2212"


# -- reading a page ---------------------------------------------------------------------

def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def section(text: str, anchor: str) -> str:
    """The part of a page under the heading with ``{#anchor}``, up to the next heading
    of the same or a higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        heading = re.match(r"^(#+) .*\{#" + re.escape(anchor) + r"\}\s*$", line)
        if heading:
            level = len(heading.group(1))
            end = next((j for j in range(i + 1, len(lines))
                        if re.match(rf"^#{{1,{level}}} ", lines[j])), len(lines))
            return "\n".join(lines[i + 1:end])
    raise AssertionError(f"no heading {{#{anchor}}}")


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in ``text``, as rows of header → cell text."""
    found, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif block:
            header, rows = block[0], block[2:]
            found.append([dict(zip(header, row, strict=True)) for row in rows])
            block = []
    return found


def table(text: str, anchor: str, index: int = 0) -> list[dict[str, str]]:
    return tables(section(text, anchor))[index]


def code_block(text: str, language: str) -> str:
    blocks = re.findall(r"^```" + language + r"\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"expected one {language} block, found {len(blocks)}"
    return blocks[0]


def number(cell: str) -> float:
    """A figure as the pages print it: 1,234.56, −4.1667%, +6.25%, £7,500,000.00."""
    text = cell.replace(MINUS, "-").replace(",", "").replace("£", "").replace("*", "").strip()
    if text.endswith("%"):
        return float(text[:-1]) / 100
    return float(text)


def decimals(cell: str) -> int:
    text = cell.rstrip("%")
    return len(text.split(".")[1]) if "." in text else 0


def assert_figure(cell: str, value: float, what: str) -> None:
    """The printed figure is the value to the digits printed (money: to the penny)."""
    places = decimals(cell) + (2 if cell.endswith("%") else 0)
    tolerance = 0.5 * 10.0 ** -places + 1e-9 * max(1.0, abs(value))
    assert abs(number(cell) - value) <= tolerance, f"{what}: page {cell}, toolkit {value!r}"


def assert_money(cell: str, value_gbp: float, what: str) -> None:
    shown = f"{value_gbp:,.2f}".replace("-", MINUS)
    assert cell.lstrip("£+").replace("*", "") == shown, f"{what}: page {cell}, toolkit {shown}"


def flat(text: str) -> str:
    return " ".join(text.split())


def figure_after(text: str, label: str) -> str:
    """The last figure of the clause after ``label`` (up to ; ( or a full stop): the result
    of ``s* = 1 − 75.6 / 80 = 0.055``."""
    match = re.search(re.escape(label) + r"(.*?)(?:;|\(|\.\s|\.$|$)", flat(text))
    assert match, f"no {label!r} in the text"
    figures = re.findall(r"[−-]?£?\d[\d,]*(?:\.\d+)?", match.group(1))
    assert figures, f"no figure after {label!r}"
    return figures[-1]


# -- weighted capitation and need index -------------------------------------------------

def register_example(tmp_path: Path, need_index: bool) -> Model:
    folder = tmp_path / ("with" if need_index else "without")
    shutil.copytree(ROOT / "models" / "register_example", folder)
    if not need_index:
        model = folder / "model.toml"
        model.write_text(model.read_text().replace('need_index = "need_core.csv"\n', ""))
    return Model.from_toml(folder / "model.toml")


def test_weighted_capitation_three_practices(tmp_path):
    text = page("methods/weighted-capitation.md")
    rows = table(text, "worked-example-three-practices")
    results = register_example(tmp_path, need_index=False).run()
    practice = results.table("practice")
    register = pd.read_csv(ROOT / "models" / "register_example" / "register.csv")
    register = register[register["AGE"] != "ALL"]
    age = pd.to_numeric(register["AGE"].str.replace("95+", "95", regex=False))
    young = register[age < 65].groupby("ORG_CODE")["NUMBER_OF_PATIENTS"].sum()
    old = register[age >= 65].groupby("ORG_CODE")["NUMBER_OF_PATIENTS"].sum()
    x = practice["weighted_population_core"]
    for row in rows[:3]:
        p = row["practice"]
        assert number(row["aged 0-64"]) == young[p] and number(row["aged 65+"]) == old[p]
        assert number(row["population"]) == practice.loc[p, "population"]
        assert number(row["X"]) == x[p]
        assert_figure(row["target (unrounded)"], 3_000_000 * x[p] / x.sum(), f"{p} unrounded")
        assert_money(row["target_gbp"], practice.loc[p, "target_gbp"], f"{p} target")
        assert_figure(row["need index"], practice.loc[p, "need_index"], f"{p} need index")
    total = rows[3]
    assert number(total["X"]) == x.sum()
    assert_money(total["target_gbp"], practice["target_gbp"].sum(), "total target")
    # The weighted population reported (P1's 913.04) and the need index of 1.1 for P3.
    reported = section(text, "the-weighted-population-reported")
    assert_figure(figure_after(reported, "its weighted population is"),
                  practice.loc["P1", "weighted_population"], "P1 weighted population")
    with_need = register_example(tmp_path, need_index=True).run().table("practice")
    sentence = flat(section(text, "worked-example-three-practices")).split("With a need index")[1]
    for code in ("P1", "P2", "P3"):
        assert f"£{with_need.loc[code, 'target_gbp']:,.2f}" in sentence, code


def test_risk_tiers_and_opportunity(tmp_path):
    text = page("methods/weighted-capitation.md")
    rows = table(text, "worked-example-tiers")
    n = int(re.search(r"(\d[\d,]*) people with distinct risk scores",
                      flat(section(text, "worked-example-tiers"))).group(1).replace(",", ""))
    persons = pd.DataFrame({"person_id": np.arange(1, n + 1), "practice": "P1",
                            "sex": np.where(np.arange(n) % 2, "F", "M"), "age": 40,
                            "risk_score": np.linspace(1.0, 0.0, n)})
    persons.to_csv(tmp_path / "persons.csv", index=False)
    (tmp_path / "practices.csv").write_text("practice,ICB\nP1,I1\n")
    tiers = "".join(f'[[risk_tier]]\nname = "{r["tier"]}"\nfrom = {r["from"]}\nto = {r["to"]}\n'
                    f'weight = {r["weight"]}\n\n' for r in rows)
    (tmp_path / "model.toml").write_text(
        '[model]\nname = "tiers"\nyear = "2025/26"\nenvelope_gbp = 1_000_000\n\n'
        '[population]\npersons = "persons.csv"\npractices = "practices.csv"\n'
        'risk_score = "risk_score"\nlevels = ["ICB"]\n\n' + tiers +
        '[[component]]\nname = "core"\nshare = 1.0\n')
    results = Model.from_toml(tmp_path / "model.toml").run()
    shares = results.tiers.set_index("tier") if "tier" in results.tiers else results.tiers
    needed = results.opportunity(reduction=0.10).tiers
    needed = needed.set_index("tier") if "tier" in needed else needed
    for row in rows:
        tier = row["tier"]
        assert number(row["persons"]) == shares.loc[tier, "persons"]
        assert_figure(row["need share"], shares.loc[tier, "need_share"], f"{tier} need share")
        assert_figure(row["reduction needed for a 10% cut"],
                      needed.loc[tier, "required_reduction_in_tier"], f"{tier} reduction")


def test_need_index_check_figures(tmp_path):
    # The 2025/26 file, Final WP only, need_index_convention = "nhs_england".
    text = section(page("methods/need-index.md"), "check-figure")
    body = (ROOT / "models" / "demo.toml").read_text().replace('"toolkit"', '"nhs_england"')
    body = body.replace("../capitation", str(ROOT / "capitation")).replace(
        "share = 0.9", "share = 1.0").split('[[component]]\nname = "primary')[0]
    body = body.replace('baseline = "demo_baselines.csv"',
                        f'baseline = "{ROOT / "models" / "demo_baselines.csv"}"')
    (tmp_path / "ne.toml").write_text(body)
    qwo = Model.from_toml(tmp_path / "ne.toml").run().table("ICB").loc["QWO"]
    bold = [number(b) for b in re.findall(r"\*\*([\d,.]+)\*\*", text)]
    assert bold[0] == half_up(qwo["population"])  # whole people, halves up
    assert bold[1] == half_up(qwo["weighted_population"])
    assert bold[2] == qwo["need_index"]
    # The group of four practices: the toolkit's nhs_england rounding of the page's sums.
    from capitation.level_tables import _nhs_england_indices

    group = re.search(r"population of ([\d,]+) and weighted population of ([\d,]+)",
                      flat(text))
    pop, wp = number(group.group(1)), number(group.group(2))
    _, in_parent = _nhs_england_indices(pd.Index(["G"]), np.array([wp]), np.array([pop]),
                                        np.array([bold[1]]), np.array([bold[0]]), "group")
    assert bold[3] == in_parent[0]


# -- rounding ---------------------------------------------------------------------------

def test_rounding_to_pence_examples():
    text = flat(section(page("methods/index.md"), "rounding-to-pence"))
    examples = re.findall(r"R\(([−\d,]+\.\d+)\) = ([−\d,]+\.\d+)", text)
    assert len(examples) == 2
    for given, shown in examples:
        assert round_pence(number(given)) == round(number(shown) * 100)
    given, shown = re.search(r"that ([\d,]+\.\d+) always gives ([\d,]+\.\d+)", text).groups()
    assert round_pence(number(given)) == round(number(shown) * 100)


def test_largest_remainder_example():
    text = page("methods/rounding.md")
    rows = table(text, "worked-example")[:3]
    amounts = pd.Series([1.0, 2.0, 3.0], index=[r["code"] for r in rows]) / 6 * 10
    rounded = largest_remainder(amounts, total_pence=1_000)
    for row in rows:
        assert_figure(row["exact (pence)"], amounts[row["code"]] * 100, row["code"])
        assert number(row["rounded (pence)"]) == rounded[row["code"]], row["code"]


# -- pace of change ---------------------------------------------------------------------

def paced(targets: list[float], envelope: float, baselines: pd.Series, min_growth: float,
          max_growth: float | None = None, method: str = "lp"):
    """Three organisations whose targets are in the page's ratio, allocated with pace."""
    codes = list(baselines.index)
    frame = pd.DataFrame({"code": codes, "ICB": codes, "pop": 1_000.0, "WP": targets})
    population = Population.from_frame(frame, id="code", population="pop", levels=["ICB"],
                                       columns=["WP"])
    formula = NeedsFormula((Component("core", share=1.0, blend={"WP": 1.0}),))
    return allocate(population, formula, envelope_gbp=envelope,
                    pace=Pace(level="ICB", baseline_gbp=baselines, min_growth=min_growth,
                              max_growth=max_growth, method=method))


def _example_inputs(rows: list[dict[str, str]], column: str) -> pd.Series:
    return pd.Series([number(r[column]) for r in rows], index=[r["org"] for r in rows])


def test_pace_of_change_year_1_and_year_2():
    text = page("methods/pace-of-change.md")
    rows = table(text, "worked-example-year-1")
    intro = flat(section(text, "worked-example-year-1"))
    envelope = number(re.search(r"Envelope (£[\d,]+)", intro).group(1))
    min_growth = number(re.search(r"minimum growth ([\d.]+%)", intro).group(1))
    year_1 = paced(list(_example_inputs(rows, "target")), envelope,
                   _example_inputs(rows, "baseline"), min_growth)
    icb = year_1.table("ICB")
    for row in rows:
        org = row["org"]
        assert_money(row["target"], icb.loc[org, "target_gbp"], f"{org} target")
        floor = math.ceil(round(number(row["baseline"]) * (1 + min_growth) * 100, 6)) / 100
        assert_money(row["floor"], floor, f"{org} floor")
        assert icb.loc[org, "allocation_gbp"] >= floor
        assert_money(row["allocation"], icb.loc[org, "allocation_gbp"], f"{org} allocation")
        assert_figure(row["growth"], icb.loc[org, "growth"], f"{org} growth")
        assert_figure(row["DfT"], icb.loc[org, "distance_from_target"], f"{org} DfT")
    outcome = year_1.pace_of_change
    assert_figure(figure_after(intro, "s* ="), outcome.largest_shortfall, "s*")
    assert_money(figure_after(intro, "U* ="), outcome.total_shortfall_gbp, "U*")

    rows_2 = table(text, "worked-example-year-2")
    intro_2 = flat(section(text, "worked-example-year-2"))
    envelope_2 = number(re.search(r"Envelope (£[\d,]+)", intro_2).group(1))
    baselines_2 = icb["allocation_gbp"]  # year 2 starts from year 1's allocation
    for row in rows_2:
        assert_money(row["baseline"], baselines_2[row["org"]], f"{row['org']} baseline")
    year_2 = paced(list(_example_inputs(rows_2, "target")), envelope_2, baselines_2,
                   min_growth)
    icb_2 = year_2.table("ICB")
    for row in rows_2:
        org = row["org"]
        floor = math.ceil(round(number(row["baseline"]) * (1 + min_growth) * 100, 6)) / 100
        assert_money(row["floor"], floor, f"{org} floor")
        assert_money(row["allocation"], icb_2.loc[org, "allocation_gbp"], f"{org} allocation")
    assert_figure(figure_after(intro_2, "s* ="), year_2.pace_of_change.largest_shortfall,
                  "s* year 2")
    assert_money(figure_after(intro_2, "U* ="), year_2.pace_of_change.total_shortfall_gbp,
                 "U* year 2")


def test_pace_of_change_cap_and_rule():
    text = page("methods/pace-of-change.md")
    rows = table(text, "worked-example-year-1")
    targets, baselines = list(_example_inputs(rows, "target")), _example_inputs(rows, "baseline")
    capped_text = flat(section(text, "worked-example-cap"))
    max_growth = number(re.search(r"maximum growth of ([\d.]+%)", capped_text).group(1))
    capped = paced(targets, 300_000_000, baselines, 0.02, max_growth=max_growth)
    icb = capped.table("ICB")
    for row in table(text, "worked-example-cap"):
        org = row["org"]
        cap = math.floor(round(number(row["cap"]) * 100, 6)) / 100
        assert_money(row["cap"], math.floor(round(baselines[org] * (1 + max_growth) * 100, 6))
                     / 100, f"{org} cap")
        assert icb.loc[org, "allocation_gbp"] <= cap
        assert_money(row["allocation"], icb.loc[org, "allocation_gbp"], f"{org} capped")
    assert_figure(figure_after(capped_text, "s* ="), capped.pace_of_change.largest_shortfall,
                  "s* capped")
    assert_money(figure_after(capped_text, "U* ="), capped.pace_of_change.total_shortfall_gbp,
                 "U* capped")

    rule = paced(targets, 300_000_000, baselines, 0.02, method="rule").table("ICB")
    for row in table(text, "the-rule"):
        org = row["org"]
        assert_money(row["allocation"], rule.loc[org, "allocation_gbp"], f"{org} rule")
        assert_figure(row["DfT"], rule.loc[org, "distance_from_target"], f"{org} rule DfT")


# -- capitated service budget -----------------------------------------------------------

def test_service_budget_lines_and_bridge(tmp_path):
    text = page("methods/service-budget.md")
    inputs = tomllib.loads(code_block(section(text, "worked-example"), "toml"))
    budget = build_budget(read_service_budget(inputs["service_budget"], tmp_path,
                                              tmp_path / "example.toml"))
    lines = budget.budget_lines
    existing = lines[lines["kind"] == "line"].set_index(["year", "pod"])
    columns = {"grown activity": "grown_activity", "planned activity": "planned_activity",
               "price": "price_gbp", "release": "release_fraction"}
    money = {"planned value": "planned_value_gbp", "removed": "removed_value_gbp",
             "released": "released_cost_gbp", "stranded": "stranded_cost_gbp",
             "support": "support_gbp", "budget": "budget_gbp"}
    rows = table(text, "worked-example-lines")
    assert len(rows) == len(existing)
    for row in rows:
        line = existing.loc[(row["year"], row["POD"])]
        for header, name in columns.items():
            assert_figure(row[header], line[name], f"{row['year']} {row['POD']} {header}")
        for header, name in money.items():
            assert_money(row[header], line[name], f"{row['year']} {row['POD']} {header}")
    new = lines[lines["kind"] == "new_service"]["budget_gbp"]
    shown = re.search(r"new service's budgets are (.*?)\.\s", flat(text)).group(1)
    assert [f"£{v:,.2f}" for v in new] == re.findall(r"£[\d,]+\.\d\d", shown)

    bridge = budget.budget_bridge
    bridge = bridge.set_index("year") if "year" in bridge.columns else bridge
    for row in table(text, "worked-example-bridge"):
        for header, cell in row.items():
            if header != "year":
                assert_money(cell, bridge.loc[row["year"], f"{header}_gbp"],
                             f"{row['year']} {header}")
    assert "−£701,500.00 in 2017/18" in flat(text)
    assert bridge.loc["2017/18", "net_saving_gbp"] == -701_500.00


# -- marginal rates, pool, settlement ---------------------------------------------------

def example_agreement(mode: str | None = None) -> risk_share.Agreement:
    """The pool page's agreement with the marginal rates page's rates, both read from the pages."""
    pool = code_block(section(page("methods/risk-reward-pool.md"), "the-example-agreement"),
                      "toml")
    rates = code_block(section(page("methods/marginal-rates.md"), "worked-example"), "toml")
    data = tomllib.loads(pool + "\n" + rates)
    if mode is not None:
        data["pool"]["mode"] = mode
    return risk_share.Agreement.from_dict(data)


def example_lines() -> tuple[list[dict[str, str]], pd.DataFrame]:
    rows = table(page("methods/marginal-rates.md"), "worked-example")
    lines = pd.DataFrame({"party": [r["party"] for r in rows], "pod": [r["POD"] for r in rows],
                          "planned_activity": [number(r["planned"]) for r in rows],
                          "actual_activity": [number(r["actual"]) for r in rows],
                          "price_gbp": [number(r["price"]) for r in rows]})
    return rows, lines


def test_marginal_rates_example():
    rows, lines = example_lines()
    settled = example_agreement().settle(lines).lines
    for row, (_, line) in zip(rows, settled.iterrows(), strict=True):
        what = f"{row['party']} {row['POD']}"
        for header, name in (("planned_gbp", "planned_gbp"), ("actual_gbp", "actual_gbp"),
                             ("v", "variance_gbp"), ("m", "marginal_payment_gbp")):
            assert_money(row[header], line[name], f"{what} {header}")
        assert number(row["rate"]) == line["marginal_rate"], what


def test_pool_examples():
    for row in table(page("methods/risk-reward-pool.md"), "worked-examples"):
        shares = example_agreement(mode=row["mode"]).share(number(row["V"]))
        for party in ("CCG", "Acute trust", "Community MSK"):
            assert_money(row[party], shares[party], f"V {row['V']} {row['mode']} {party}")


def test_settlement_example():
    text = page("methods/settlement.md")
    _, lines = example_lines()
    settlement = example_agreement().settle(lines)
    worked = flat(section(text, "worked-example"))
    pooled = re.search(r"V = [^*]*\*\*(£[\d,]+\.\d\d)\*\*", worked).group(1)
    assert_money(pooled, settlement.pooled_variance_gbp, "pooled variance")
    assert settlement.pooled_variance_gbp == 629_700.00
    parties = settlement.parties
    rows = table(text, "worked-example")
    assert [r["party"] for r in rows] == list(parties.index)
    for row in rows:
        for header in ("variance_before_pool", "pool_share", "final_position", "pool_transfer"):
            assert_money(row[header], parties.loc[row["party"], f"{header}_gbp"],
                         f"{row['party']} {header}")
    total = re.search(r"add up to \*\*(£[\d,]+\.\d\d)\*\*", worked).group(1)
    assert_money(total, parties["final_position_gbp"].sum(), "final positions")
    assert parties["pool_transfer_gbp"].sum() == 0


# -- Monte Carlo and calibration --------------------------------------------------------

def influence_agreement() -> risk_share.Agreement:
    # The Monte Carlo page's agreement: one loss band and one gain band, both shared by
    # influence CCG 0.3, Acute trust 0.5, Community MSK 0.2; pool budget £40m.
    influence = {"CCG": 0.3, "Acute trust": 0.5, "Community MSK": 0.2}
    text = flat(section(page("methods/monte-carlo.md"), "worked-example"))
    for party, share in influence.items():
        assert f"{party} {share}" in text
    assert "pool budget £40m" in text
    return risk_share.Agreement.from_dict({
        "agreement": {"name": "example", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": p, "influence": i} for p, i in influence.items()],
        "pool": {"budget_gbp": 40_000_000, "mode": "corridor",
                 "loss_band": [{"shares": dict(influence)}],
                 "gain_band": [{"shares": dict(influence)}]},
    })


def scenarios_gbp() -> np.ndarray:
    text = flat(section(page("methods/monte-carlo.md"), "worked-example"))
    listed = re.search(r"in £m: (.*?) under an agreement", text).group(1)
    values = [number(v) for v in re.findall(r"[−-]?\d+(?:\.\d+)?", listed)]
    assert len(values) == 20
    return np.array(values) * 1e6


def test_monte_carlo_summary_example():
    agreement = influence_agreement()
    summary = risk_share.Simulation.from_variances(agreement, scenarios_gbp()).summary()
    for row in table(page("methods/monte-carlo.md"), "worked-example"):
        party = row["party"]
        for header in ("mean", "p5", "p50", "p95", "var95", "cvar95"):
            assert_money(row[header], summary.loc[party, f"{header}_gbp"], f"{party} {header}")
        assert_figure(row["p_loss"], summary.loc[party, "p_loss"], f"{party} p_loss")


def test_calibration_example():
    agreement = influence_agreement()
    simulation = risk_share.Simulation.from_variances(agreement, scenarios_gbp())
    text = page("methods/calibration.md")
    rows = table(text, "worked-example")
    appetite = {r["party"]: number(r["appetite"]) for r in rows if r["appetite"]}
    calibrated = risk_share.calibrate(agreement, simulation, appetite=appetite).calibration
    for row in rows:
        party = row["party"]
        assert number(row["influence"]) == calibrated.loc[party, "influence"]
        assert_figure(row["share"], calibrated.loc[party, "share"], f"{party} share")
        for header in ("cvar_before", "cvar_after"):
            assert_money(row[header], round_pence(calibrated.loc[party, f"{header}_gbp"]) / 100,
                         f"{party} {header}")
    theta = number(re.search(r"\*\*θ\* = (\d+(?:\.\d+)?)\*\*", text).group(1))
    unconstrained = calibrated.drop(index=list(appetite))
    np.testing.assert_allclose(unconstrained["share"] / unconstrained["influence"], theta,
                               rtol=1e-7)


# -- the how-to code runs ---------------------------------------------------------------

def test_first_allocation_of_your_own_icb(tmp_path, monkeypatch):
    from capitation.cli import main

    text = section(page("getting-started.md"), "your-own-icb")
    monkeypatch.chdir(tmp_path)
    exec(code_block(text, "python"), {})
    model = tomllib.loads(code_block(text, "toml"))
    (tmp_path / "west_yorkshire.toml").write_text(code_block(text, "toml"), encoding="utf-8")
    assert main(["run", "west_yorkshire.toml", "--quiet"]) == 0
    results = Model.from_toml(tmp_path / "west_yorkshire.toml").run()
    places = results.table("LAD")
    assert int(round_pence(places["target_gbp"].to_numpy()).sum()) == round_pence(
        model["model"]["envelope_gbp"])
    assert set(results.table("practice")["LAD"]) == set(places.index)
    assert (tmp_path / "west_yorkshire_results.xlsx").is_file()


def test_reading_a_results_workbook(tmp_path, monkeypatch):
    from capitation.cli import main

    text = page("how-to/reading-results.md")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--quiet"]) == 0
    namespace: dict = {}
    for anchor in ("pandas", "openpyxl"):
        for block in re.findall(r"^```python\n(.*?)^```", section(text, anchor),
                                re.MULTILINE | re.DOTALL):
            exec(block, namespace)
    assert namespace["assumptions"]["package version"]
    assert set(namespace["table"]) == set(namespace["icb"].index)


# -- the reference pages ----------------------------------------------------------------

@pytest.fixture(scope="module")
def generator() -> dict:
    return runpy.run_path(str(DOCS / "scripts" / "gen_reference.py"), run_name="docs_reference")


def listed_keys(markdown: str) -> dict[str, set[str]]:
    """Heading anchor → the keys in the first column of its table."""
    out: dict[str, set[str]] = {}
    for anchor in re.findall(r"^## .*\{#([\w-]+)\}$", markdown, re.MULTILINE):
        out[anchor] = {re.match(r"`(.+)`", row["key"]).group(1)
                       for row in table(markdown, anchor)}
    return out


def refused_with(path: Path, read) -> list[str]:
    """The keys an "unknown key" error of ``read(path)`` says were expected."""
    with pytest.raises(InputError) as caught:
        read(path)
    message = str(caught.value)
    assert "unknown key" in message and "zz_unknown" in message, message
    return sorted(re.search(r"expected one of: ([^)]*)\)", message).group(1).split(", "))


# Each table of the model file → a line that puts an unknown key in it, in a small
# model file written below (the register example's files are beside it).
MODEL_FILE = """
[model]
name = "keys"
year = "2025/26"
envelope_gbp = 3_000_000
{model}
[population]
register = "register.csv"
practices = "practices.csv"
levels = ["ICB"]
{population}
[[component]]
name = "core"
share = 1.0
cost_weights = "weights_core.csv"
{component}
[pace_of_change]
level = "ICB"
baseline_column = "population"
min_growth = 0.02
{pace_of_change}
"""


def test_model_file_reference_lists_every_key_the_reader_accepts(generator, tmp_path):
    listed = listed_keys(generator["model_file_page"]())
    shutil.copytree(ROOT / "models" / "register_example", tmp_path, dirs_exist_ok=True)
    slots = {"model": "", "population": "", "component": "", "pace_of_change": ""}
    for anchor in slots:
        model = tmp_path / f"{anchor}.toml"
        model.write_text(MODEL_FILE.format(**{**slots, anchor: "zz_unknown = 1"}))
        assert set(refused_with(model, read_model_file)) == listed[anchor], anchor
    model = tmp_path / "top.toml"
    model.write_text(MODEL_FILE.format(**slots) + "\n[zz_unknown]\n")
    assert set(refused_with(model, read_model_file)) == listed["top"]
    tiers = tmp_path / "tiers.toml"
    tiers.write_text(MODEL_FILE.format(**slots) + '\n[[risk_tier]]\nname = "all"\nfrom = 0.0\n'
                     'to = 1.0\nweight = 1.0\nzz_unknown = 1\n')
    assert set(refused_with(tiers, read_model_file)) == listed["risk_tier"]
    # The service budget's tables, through a whole run of the MSK model file.
    msk = (ROOT / "models" / "msk.toml").read_text()
    for anchor, after in (("service_budget", "[service_budget]\n"),
                          ("service_budget-line", "[[service_budget.line]]\n"),
                          ("service_budget-new_service", "[[service_budget.new_service]]\n")):
        model = tmp_path / f"{anchor}.toml"
        model.write_text(msk.replace(after, after + "zz_unknown = 1\n", 1))
        assert set(refused_with(model, lambda p: Model.from_toml(p).run())) == listed[anchor]
    assert set(listed) == {"top", "model", "population", "component", "pace_of_change",
                           "risk_tier", "service_budget", "service_budget-line",
                           "service_budget-new_service"}


def test_agreement_file_reference_lists_every_key_the_reader_accepts(generator, tmp_path):
    listed = listed_keys(generator["agreement_file_page"]())
    text = (ROOT / "models" / "msk_agreement.toml").read_text()
    for anchor, after in (("agreement", "[agreement]\n"), ("party", "[[party]]\n"),
                          ("pool", "[pool]\n"), ("pool-loss_band", "[[pool.loss_band]]\n"),
                          ("pool-gain_band", "[[pool.gain_band]]\n"),
                          ("marginal_rate", "[[marginal_rate]]\n")):
        path = tmp_path / f"{anchor}.toml"
        path.write_text(text.replace(after, after + "zz_unknown = 1\n", 1))
        assert set(refused_with(path, risk_share.Agreement.from_toml)) == listed[anchor], anchor
    path = tmp_path / "top.toml"
    path.write_text("zz_unknown = 1\n" + text)
    assert set(refused_with(path, risk_share.Agreement.from_toml)) == listed["top"]


def test_columns_reference_lists_every_table(generator):
    from capitation.columns import TABLES, columns_of

    markdown = generator["columns_page"]()
    for name in TABLES:
        block = section(markdown, name)
        for column in columns_of(name):
            assert f"| `{column.name}` |" in block, (name, column.name)


def test_cli_reference_has_every_command(generator):
    markdown = generator["cli_page"]()
    for command in ("run", "export", "demo", "synth-persons"):
        assert f"usage: capitation {command}" in markdown
    for command in ("settle", "simulate", "export"):
        assert f"usage: risk-share {command}" in markdown


def test_pages_never_point_outside_the_project():
    for path in [ROOT / "mkdocs.yml", ROOT / "CHANGELOG.md", *DOCS.rglob("*.md"),
                 *DOCS.rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "domain" + ".md" not in text and "../" + "shared" not in text, path


# -- building the site ------------------------------------------------------------------

def _build(config: Path, site: Path, execute: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISABLE_MKDOCS_2_WARNING": "true", "NO_MKDOCS_2_WARNING": "1",
           "CAPITATION_DOCS_EXECUTE": "1" if execute else "0"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(config), "--site-dir", str(site)], cwd=config.parent, env=env,
                          capture_output=True, text=True, timeout=1_800)


@pytest.mark.slow
def test_strict_build_with_executed_notebooks(tmp_path):
    done = _build(ROOT / "mkdocs.yml", tmp_path / "site", execute=True)
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    for name in ("methods/pace-of-change.html", "reference/model-file.html",
                 "reference/columns.html", "reference/cli.html", "reference/api/capitation.html",
                 "notebooks/01_allocation.html", "glossary.html", "changelog.html"):
        assert (site / name).is_file(), name
    # The notebooks ran: their outputs (a table of ICBs) are in the page.
    assert "QWO" in (site / "notebooks" / "01_allocation.html").read_text(encoding="utf-8")
    assert "::: capitation" not in (site / "reference/api/capitation.html").read_text(
        encoding="utf-8")


def _scratch_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "scratch"
    copy.mkdir()
    for name in ("docs", "notebooks"):
        shutil.copytree(ROOT / name, copy / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("mkdocs.yml", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


@pytest.mark.slow
@pytest.mark.parametrize(("link", "complaint"), [
    ("[a page that is not there](no-such-page.md)", "no-such-page.md"),
    ("[an anchor that is not there](pace-of-change.md#no-such-anchor)", "no-such-anchor"),
])
def test_strict_build_fails_on_a_broken_link(tmp_path, link, complaint):
    copy = _scratch_copy(tmp_path)
    rounding = copy / "docs" / "methods" / "rounding.md"
    rounding.write_text(rounding.read_text(encoding="utf-8") + f"\nSee {link}.\n",
                        encoding="utf-8")
    done = _build(copy / "mkdocs.yml", tmp_path / "site", execute=False)
    assert done.returncode != 0
    assert complaint in done.stdout + done.stderr


def test_no_file_cites_the_internal_design_document():
    # The methods guide (docs/methods) is the project's own account of every method: code,
    # tests, notebooks, models and templates cite its pages, never a document users lack.
    import zipfile

    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    needle = ("domain" + ".md").encode()
    citing = []
    for name in listed:
        path = ROOT / name
        if not path.is_file():
            continue
        if path.suffix == ".xlsx":
            try:
                with zipfile.ZipFile(path) as book:
                    if any(needle in book.read(part) for part in book.namelist()):
                        citing.append(name)
            except (zipfile.BadZipFile, OSError):  # damaged on purpose (tests/bad_inputs)
                continue
        elif needle in path.read_bytes():
            citing.append(name)
    assert citing == []


def test_reference_pages_show_sphinx_roles_as_code():
    """Docstrings name functions with Sphinx roles; the site shows them as code, not as typed."""
    import griffe

    roles = runpy.run_path(str(DOCS / "scripts" / "griffe_roles.py"), run_name="docs_roles")
    plain = roles["plain"]
    assert plain("calls :func:`allocate` once") == "calls `allocate` once"
    assert plain(":class:`~capitation.sources.PracticeTable`") == "`PracticeTable`"
    assert plain(":py:meth:`capitation.Model.run`") == "`capitation.Model.run`"
    assert plain(":func:`the run <capitation.Model.run>`") == "the run (`capitation.Model.run`)"
    # Through Griffe, as mkdocstrings loads the package (the option in mkdocs.yml).
    extensions = griffe.load_extensions(f"{DOCS / 'scripts' / 'griffe_roles.py'}:SphinxRoles")
    package = griffe.load("capitation", search_paths=[str(DOCS.parent)], extensions=extensions)
    text = package["allocation"].docstring.value
    assert "`allocate` is the central step" in text
    assert ":func:" not in text and ":class:" not in text
    assert "griffe_roles.py:SphinxRoles" in (DOCS.parent / "mkdocs.yml").read_text()
