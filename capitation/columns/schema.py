"""The table of output columns: units, tables, Excel number formats and every :class:`Column`.

Read it through :mod:`capitation.columns` (``column``, ``label``,
``number_format``, ``unit``). An entry whose name holds a ``<placeholder>``
(``target_<component>_gbp``) is a pattern; its title holds the same
placeholder in braces (``Target: {component}``), filled in on lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "SCHEMA", "TABLES", "UNITS", "GENERAL", "MONEY_FORMAT", "POUNDS_FORMAT",
           "PERCENT_FORMAT", "RATE_FORMAT", "INDEX_FORMAT", "PEOPLE_FORMAT", "WHOLE_FORMAT",
           "NUMBER_FORMAT", "SUFFIX"]

#: The units a column may have, each with what its values mean.
UNITS: dict[str, str] = {
    "gbp": "pounds sterling (money columns end in `_gbp`)",
    "fraction": "a share, rate or change as a fraction: 0.3 means 30%",
    "index": "a ratio to an average: 1 is the average",
    "factor": "a multiplier applied to a quantity: 1.02 grows it by 2%",
    "persons": "people, counted or weighted",
    "activity": "units of activity (attendances, procedures, contacts)",
    "count": "a whole number of things (years, bands, scenarios)",
    "seconds": "elapsed time",
    "text": "a code, name or label",
    "flag": "true or false",
    "number": "a plain number without a unit (a z-score, a distance, a variance)",
}

#: Label suffix by unit: "Allocation" in pounds reads "Allocation (£)".
SUFFIX = {"gbp": " (£)", "fraction": " (%)"}

#: Excel number formats the workbooks use today (``General`` where they set none).
MONEY_FORMAT = "#,##0.00;-#,##0.00"
#: Money shown with the pound sign (the simulation workbook's sheets).
POUNDS_FORMAT = "£#,##0.00;-£#,##0.00"
PERCENT_FORMAT = "0.00%"
RATE_FORMAT = "0.00##%"
INDEX_FORMAT = "0.000000"
PEOPLE_FORMAT = "#,##0.00"
WHOLE_FORMAT = "#,##0"
NUMBER_FORMAT = "#,##0.######"
GENERAL = "General"

#: The output tables, each with where it comes from.
TABLES: dict[str, str] = {
    "level": "`results.table(level)`, one workbook sheet per level (`results.summary()` is part "
             "of the top level's)",
    "pace_of_change": "`results.pace_of_change` over several years (one row per year)",
    "pace_of_change_path": "`results.pace_of_change_path`, sheet `pace_of_change_path`",
    "budget_lines": "`results.budget_lines`, sheet `budget_lines`",
    "budget_bridge": "`results.budget_bridge`, sheet `budget_bridge`",
    "budget_waterfall": "the working beside each waterfall chart on sheet `budget_bridge`",
    "budget_by_provider": "`results.budget_by_provider`",
    "tiers": "`results.tiers`, sheet `tiers`",
    "opportunity": "`results.opportunity(reduction)`, sheet `opportunity`",
    "person_budgets": "`results.person_budgets(...)`",
    "needs_and_use": "`Opportunity.units` of `capitation.opportunity.value_opportunity` (one row "
                     "per unit and service)",
    "needs_and_use_summary": "`Opportunity.summary()` (one row per service)",
    "spend_decomposition": "`Opportunity.decomposition()`: the spend gap by access, intensity "
                           "and price",
    "activity_changes": "`Opportunity.activity_changes(realised, years)`: lines of a "
                        "`[service_budget]`",
    "peers": "`Peers.table` of `capitation.opportunity.find_peers`",
    "funnel": "`Funnel.units` of `capitation.opportunity.funnel`",
    "funnel_limits": "`Funnel.limits(denominators)`, the curves of a funnel plot",
    "agreement_summary": "`Agreement.summary()`: the pool's bands by party",
    "agreement_share": "`Agreement.share(pooled_variance_gbp)`",
    "settled_lines": "`Settlement.lines`, sheet `settled_lines` (with its working columns)",
    "parties": "`Settlement.parties`, sheet `parties` (with its working columns)",
    "agreement_terms": "sheet `agreement_terms`: the terms, the bands and the caps",
    "simulation_summary": "`Simulation.summary()`, sheet `summary` of `risk-share simulate --out`",
    "positions": "`Simulation.positions`, sheet `positions`",
    "calibration": "`Calibration.calibration`",
    "assumptions": "sheet `assumptions`: provenance and settings as text",
}


@dataclass(frozen=True)
class Column:
    """One output column.

    Attributes
    ----------
    name : str
        The column name (for a pattern entry of :data:`SCHEMA`, the pattern,
        such as ``target_<component>_gbp``; :func:`column` returns it with the
        name filled in).
    dtype : str
        ``float64``, ``int64``, ``bool`` or ``str``.
    unit : str
        One of :data:`UNITS`.
    title : str
        The words of the label, without the unit ("Allocation").
    number_format : str
        The Excel number format of the column's cells.
    description : str
        One line saying what the column holds.
    tables : tuple of str
        The tables of :data:`TABLES` that have the column.
    pattern : str or None
        The schema entry a filled-in pattern column came from; None otherwise.
    """

    name: str
    dtype: str
    unit: str
    title: str
    number_format: str
    description: str
    tables: tuple[str, ...]
    pattern: str | None = None

    @property
    def label(self) -> str:
        """The header a finance director reads: the title and the unit ("Allocation (£)")."""
        return self.title + SUFFIX.get(self.unit, "")


def _c(name: str, dtype: str, unit: str, title: str, number_format: str, tables: str,
       description: str) -> Column:
    return Column(name, dtype, unit, title, number_format, description, tuple(tables.split()))


_M, _P, _R, _N, _G = MONEY_FORMAT, PERCENT_FORMAT, RATE_FORMAT, NUMBER_FORMAT, GENERAL
_L = POUNDS_FORMAT

#: Every output column. Pattern entries hold ``<placeholder>`` parts.
SCHEMA: tuple[Column, ...] = (
    # Allocation: level tables (domain.md sections 2 to 5).
    _c("population", "float64", "persons", "Population", PEOPLE_FORMAT, "level",
       "Registered population"),
    _c("weighted_population", "float64", "persons", "Weighted population", PEOPLE_FORMAT, "level",
       "Target ÷ total target × total population"),
    _c("need_index", "float64", "index", "Need index", INDEX_FORMAT, "level",
       "Per-head target relative to the whole model (1 = average)"),
    _c("need_index_in_parent", "float64", "index", "Need index within parent", INDEX_FORMAT,
       "level", "Per-head target relative to the next level up (1 = average)"),
    _c("target_gbp", "float64", "gbp", "Target", _M, "level pace_of_change_path tiers",
       "Fair share of the envelope by need (a tier's: its share of the person budgets)"),
    _c("allocation_gbp", "float64", "gbp", "Allocation", _M, "level pace_of_change_path",
       "Money allocated (the target, moved by pace of change)"),
    _c("distance_from_target", "float64", "fraction", "Distance from target", _P,
       "level pace_of_change_path", "(allocation − target) ÷ target"),
    _c("allocation_per_head_gbp", "float64", "gbp", "Allocation per head", _M, "level",
       "Allocation ÷ population"),
    _c("baseline_gbp", "float64", "gbp", "Baseline", _M,
       "level pace_of_change_path budget_bridge",
       "Where the year starts: last year's allocation, or in the bridge the baseline spend"),
    _c("growth", "float64", "fraction", "Growth", _P, "level pace_of_change_path",
       "(allocation − baseline) ÷ baseline"),
    _c("baseline_distance_from_target", "float64", "fraction", "Baseline distance from target",
       _P, "level pace_of_change_path", "(baseline − target) ÷ target"),
    _c("weighted_population_<component>", "float64", "persons",
       "Weighted population: {component}", PEOPLE_FORMAT, "level",
       "The component's weighted population"),
    _c("target_<component>_gbp", "float64", "gbp", "Target: {component}", _M, "level",
       "The component's part of the target"),
    _c("<level>", "str", "text", "{level}", _G,
       "level pace_of_change_path needs_and_use spend_decomposition peers funnel",
       "Code of the organisation at this level (the index) or at a level above"),
    _c("year", "str", "text", "Year", _G,
       "pace_of_change pace_of_change_path budget_lines budget_bridge agreement_terms",
       'Financial year, such as "2025/26"'),
    # Pace of change over several years (domain.md section 5).
    _c("largest_shortfall", "float64", "fraction", "Largest shortfall", _P, "pace_of_change",
       "Largest distance below target after pace of change"),
    _c("total_shortfall_gbp", "float64", "gbp", "Total shortfall", _M, "pace_of_change",
       "Sum of the amounts below target after pace of change"),
    _c("status", "str", "text", "Solver status", _G, "pace_of_change",
       "How the optimisation ended (optimal, or the rule used)"),
    _c("build_seconds", "float64", "seconds", "Build time (s)", _G, "pace_of_change",
       "Time to build the optimisation"),
    _c("solve_seconds", "float64", "seconds", "Solve time (s)", _G, "pace_of_change",
       "Time to solve the optimisation"),
    # Capitated service budget (domain.md section 6).
    _c("provider", "str", "text", "Provider", _G,
       "budget_lines budget_by_provider activity_changes",
       "Provider of the service line"),
    _c("pod", "str", "text", "Point of delivery", _G, "budget_lines settled_lines activity_changes",
       "Point of delivery (in activity changes, the service)"),
    _c("kind", "str", "text", "Kind", _G, "budget_lines",
       "line (an existing service line) or new_service"),
    _c("year_number", "int64", "count", "Year number", _N, "budget_lines",
       "Years since the baseline (1 is the first budget year)"),
    _c("baseline_activity", "float64", "activity", "Baseline activity", _N, "budget_lines",
       "Activity in the baseline year"),
    _c("baseline_price_gbp", "float64", "gbp", "Baseline price", _M, "budget_lines",
       "Price per unit of activity in the baseline year"),
    _c("growth_factor", "float64", "factor", "Growth factor", _N, "budget_lines",
       "(1 + demographic growth) ^ year number"),
    _c("price_factor", "float64", "factor", "Price factor", _N, "budget_lines",
       "Product of (1 + price uplift) up to the year"),
    _c("grown_activity", "float64", "activity", "Grown activity", _N, "budget_lines",
       "Baseline activity × growth factor"),
    _c("activity_change", "float64", "fraction", "Activity change", _N, "budget_lines",
       "Planned change to grown activity"),
    _c("planned_activity", "float64", "activity", "Planned activity", _N,
       "budget_lines settled_lines", "Activity planned for the year"),
    _c("actual_activity", "float64", "activity", "Actual activity", _N, "settled_lines",
       "Activity delivered in the year"),
    _c("price_gbp", "float64", "gbp", "Price", _M,
       "budget_lines settled_lines budget_bridge activity_changes",
       "Price per unit of activity; in the bridge, the change due to price uplifts"),
    _c("baseline_value_gbp", "float64", "gbp", "Baseline value", _M, "budget_lines",
       "R(baseline activity × baseline price)"),
    _c("grown_value_gbp", "float64", "gbp", "Grown value", _M, "budget_lines",
       "R(grown activity × baseline price)"),
    _c("repriced_value_gbp", "float64", "gbp", "Repriced value", _M, "budget_lines",
       "R(grown activity × price)"),
    _c("planned_value_gbp", "float64", "gbp", "Planned value", _M, "budget_lines",
       "R(planned activity × price)"),
    _c("removed_value_gbp", "float64", "gbp", "Removed value", _M, "budget_lines",
       "Value of activity no longer bought: max(0, repriced − planned)"),
    _c("fixed", "float64", "fraction", "Fixed cost", _N, "budget_lines",
       "Fraction of the line's cost that is fixed"),
    _c("semi_fixed", "float64", "fraction", "Semi-fixed cost", _N, "budget_lines",
       "Fraction of the line's cost that is semi-fixed"),
    _c("variable", "float64", "fraction", "Variable cost", _N, "budget_lines",
       "Fraction of the line's cost that is variable"),
    _c("fixed_release_years", "float64", "count", "Fixed cost release (years)", _N,
       "budget_lines", "Years over which fixed cost is released (0: at once)"),
    _c("semi_fixed_release_years", "float64", "count", "Semi-fixed cost release (years)", _N,
       "budget_lines", "Years over which semi-fixed cost is released (0: at once)"),
    _c("release_fraction", "float64", "fraction", "Cost released", _N, "budget_lines",
       "Fraction of the removed value the provider has released by the year"),
    _c("released_cost_gbp", "float64", "gbp", "Released cost", _M, "budget_lines",
       "R(removed value × release fraction)"),
    _c("stranded_cost_gbp", "float64", "gbp", "Stranded cost", _M, "budget_lines",
       "Removed value the provider cannot yet shed"),
    _c("stranded_support", "float64", "fraction", "Stranded support", _N, "budget_lines",
       "Fraction of stranded cost the commissioner funds"),
    _c("support_gbp", "float64", "gbp", "Support", _M, "budget_lines",
       "R(stranded cost × stranded support)"),
    _c("budget_gbp", "float64", "gbp", "Budget", _M,
       "budget_lines budget_bridge person_budgets agreement_terms",
       "A line's planned value plus support; the year's total in the bridge; a person's "
       "budget; an agreement's pool budget"),
    _c("growth_gbp", "float64", "gbp", "Growth", _M, "budget_bridge",
       "Change due to demographic growth"),
    _c("activity_change_gbp", "float64", "gbp", "Activity change", _M, "budget_bridge",
       "Change due to planned activity changes"),
    _c("new_services_gbp", "float64", "gbp", "New services", _M, "budget_bridge",
       "Planned value of new services"),
    _c("stranded_support_gbp", "float64", "gbp", "Stranded support", _M, "budget_bridge",
       "Support for stranded cost"),
    _c("do_nothing_gbp", "float64", "gbp", "Do nothing", _M, "budget_bridge",
       "Baseline + growth + price: the budget without the planned changes"),
    _c("net_saving_gbp", "float64", "gbp", "Net saving", _M, "budget_bridge",
       "Do nothing − budget"),
    _c("lines_budget_gbp", "float64", "gbp", "Budget, sum of lines", _M, "budget_bridge",
       "Sum of the budget lines' budgets (a check on the bridge's budget)"),
    _c("step", "str", "text", "Step", _G, "budget_waterfall", "Step of the bridge"),
    _c("amount_gbp", "float64", "gbp", "Amount", _M, "budget_waterfall",
       "The step's amount"),
    _c("running_gbp", "float64", "gbp", "Running total", _M, "budget_waterfall",
       "Total after the step"),
    _c("base_gbp", "float64", "gbp", "Base", _M, "budget_waterfall",
       "Invisible bar under a step"),
    _c("total_gbp", "float64", "gbp", "Total", _M, "budget_waterfall",
       "Bar of the baseline or the budget"),
    _c("increase_gbp", "float64", "gbp", "Increase", _M, "budget_waterfall",
       "Bar of a step that adds"),
    _c("decrease_gbp", "float64", "gbp", "Decrease", _M, "budget_waterfall",
       "Bar of a step that takes away"),
    _c("<year>", "float64", "gbp", "{year}", _M, "budget_by_provider",
       "A provider's budget in the year"),
    # Person-level case mix (domain.md section 2.2).
    _c("tier", "str", "text", "Risk tier", _G, "tiers opportunity person_budgets",
       "Risk tier (band of risk rank)"),
    _c("persons", "int64", "persons", "Persons", WHOLE_FORMAT, "tiers", "People in the tier"),
    _c("population_share", "float64", "fraction", "Population share", _P, "tiers",
       "The tier's share of the persons"),
    _c("need_share", "float64", "fraction", "Need share", _P, "tiers opportunity",
       "The tier's share of the unrounded person budgets"),
    _c("target_per_head_gbp", "float64", "gbp", "Target per head", _M, "tiers",
       "Target ÷ persons"),
    _c("required_reduction_in_tier", "float64", "fraction", "Reduction needed in tier", _P,
       "opportunity", "Reduction the tier alone would need to save the system-wide cut"),
    _c("possible", "bool", "flag", "Possible", _G, "opportunity",
       "Whether the reduction needed is at most 100%"),
    _c("reduction", "float64", "fraction", "System-wide reduction", _P, "opportunity",
       "The cut analysed"),
    _c("cohort_50_share", "float64", "fraction", "Cohort with half the need", _P, "opportunity",
       "Smallest top-ranked fraction of persons whose need reaches half of the total"),
    _c("person_id", "int64", "text", "Person", _G, "person_budgets",
       "Pseudonymous person id, as the persons file gives it (whole numbers in the demo)"),
    _c("practice", "str", "text", "Practice", _G, "person_budgets", "The person's practice code"),
    _c("budget_<component>_gbp", "float64", "gbp", "Budget: {component}", _M, "person_budgets",
       "The person's budget from the component"),
    # Needs versus use (capitation.opportunity).
    _c("service", "str", "text", "Service", _G,
       "needs_and_use needs_and_use_summary spend_decomposition",
       "The service (emergency admissions, outpatient first attendances, ...)"),
    _c("observed", "float64", "activity", "Observed", _N, "needs_and_use needs_and_use_summary",
       "Activity observed"),
    _c("expected", "float64", "activity", "Expected", _N,
       "needs_and_use needs_and_use_summary funnel_limits",
       "Activity expected from need (weighted population share or indirect standardisation)"),
    _c("denominator", "float64", "count", "Denominator", _N, "funnel_limits",
       "The denominator of a proportion"),
    _c("ratio", "float64", "index", "Ratio", INDEX_FORMAT, "needs_and_use funnel",
       "Observed ÷ expected (a proportion's funnel: observed ÷ denominator)"),
    _c("ratio_lower_95", "float64", "index", "Ratio, lower 95% limit", INDEX_FORMAT,
       "needs_and_use", "Exact Poisson 95% interval of the ratio, lower end"),
    _c("ratio_upper_95", "float64", "index", "Ratio, upper 95% limit", INDEX_FORMAT,
       "needs_and_use", "Exact Poisson 95% interval of the ratio, upper end"),
    _c("z", "float64", "number", "z-score", _N, "needs_and_use funnel",
       "(y − target) ÷ s on the funnel's scale"),
    _c("z_adjusted", "float64", "number", "z-score, overdispersion-adjusted", _N,
       "needs_and_use funnel", "The z-score allowing for overdispersion (the z-score if none)"),
    _c("lower_95", "float64", "index", "Funnel lower 95% limit", INDEX_FORMAT,
       "needs_and_use funnel funnel_limits", "The funnel's lower 95% limit at the unit"),
    _c("upper_95", "float64", "index", "Funnel upper 95% limit", INDEX_FORMAT,
       "needs_and_use funnel funnel_limits", "The funnel's upper 95% limit at the unit"),
    _c("lower_998", "float64", "index", "Funnel lower 99.8% limit", INDEX_FORMAT,
       "needs_and_use funnel funnel_limits", "The funnel's lower 99.8% limit at the unit"),
    _c("upper_998", "float64", "index", "Funnel upper 99.8% limit", INDEX_FORMAT,
       "needs_and_use funnel funnel_limits", "The funnel's upper 99.8% limit at the unit"),
    _c("flag_95", "str", "text", "Outside 95% limits", _G, "needs_and_use funnel",
       'high, low or "" (within the 95% limits)'),
    _c("flag_998", "str", "text", "Outside 99.8% limits", _G, "needs_and_use funnel",
       'high, low or "" (within the 99.8% limits)'),
    _c("best_peers_ratio", "float64", "index", "Best peers' ratio", INDEX_FORMAT,
       "needs_and_use", "Mean ratio of the best (lowest-ratio) of the similar peers"),
    _c("peer_median_ratio", "float64", "index", "Peers' median ratio", INDEX_FORMAT,
       "needs_and_use", "Median ratio of the similar peers"),
    _c("lowest_quartile_ratio", "float64", "index", "Lowest quartile ratio", INDEX_FORMAT,
       "needs_and_use", "Lower quartile of the ratio across all units"),
    _c("benchmark_ratio", "float64", "index", "Benchmark ratio", INDEX_FORMAT, "needs_and_use",
       "The benchmark the opportunity is measured against"),
    _c("above_benchmark", "bool", "flag", "Above benchmark", _G, "needs_and_use",
       "Whether the ratio is above the benchmark (the unit carries opportunity)"),
    _c("opportunity_activity", "float64", "activity", "Opportunity (activity)", _N,
       "needs_and_use needs_and_use_summary activity_changes",
       "max(0, observed − benchmark ratio × expected)"),
    _c("unit_cost_gbp", "float64", "gbp", "Unit cost", _M, "needs_and_use",
       "Cost per activity: the unit's own (cost ÷ activity) or the given price"),
    _c("opportunity_gbp", "float64", "gbp", "Opportunity", _M,
       "needs_and_use needs_and_use_summary", "R(opportunity activity × unit cost)"),
    _c("units", "int64", "count", "Units", WHOLE_FORMAT, "needs_and_use_summary",
       "Units compared"),
    _c("units_above_benchmark", "int64", "count", "Units above benchmark", WHOLE_FORMAT,
       "needs_and_use_summary", "Units carrying opportunity"),
    _c("also_high_95", "int64", "count", "Of which high at 95%", WHOLE_FORMAT,
       "needs_and_use_summary", "Units carrying opportunity and above the funnel's 95% limit"),
    _c("also_high_998", "int64", "count", "Of which high at 99.8%", WHOLE_FORMAT,
       "needs_and_use_summary", "Units carrying opportunity and above the funnel's 99.8% limit"),
    _c("phi", "float64", "factor", "Overdispersion φ", _N, "needs_and_use_summary",
       "Mean squared trimmed z-score (above 1: overdispersed)"),
    _c("tau2", "float64", "number", "Between-unit variance τ²", _N, "needs_and_use_summary",
       "DerSimonian-Laird τ² on the funnel's scale"),
    _c("spend_gbp", "float64", "gbp", "Spend", _M, "spend_decomposition",
       "Spend on the service (cost)"),
    _c("benchmark_spend_gbp", "float64", "gbp", "Benchmark spend", _M, "spend_decomposition",
       "Benchmark ratio × expected × benchmark price; spend − gap"),
    _c("gap_gbp", "float64", "gbp", "Gap", _M, "spend_decomposition",
       "Spend − benchmark spend"),
    _c("access_effect_gbp", "float64", "gbp", "Access effect", _M, "spend_decomposition",
       "LMDI-I effect of patients against the benchmark's"),
    _c("intensity_effect_gbp", "float64", "gbp", "Intensity effect", _M, "spend_decomposition",
       "LMDI-I effect of activity per patient"),
    _c("price_effect_gbp", "float64", "gbp", "Price effect", _M, "spend_decomposition",
       "LMDI-I effect of cost per activity"),
    _c("activity", "float64", "activity", "Activity", _N, "activity_changes",
       "Activity now, the line's baseline"),
    _c("activity_change_<when>", "float64", "fraction", "Activity change, {when}", _N,
       "activity_changes", "Planned change to activity by the year, cumulative"),
    _c("peer_<k>", "str", "text", "Peer {k}", _G, "peers", "The k-th most similar unit"),
    _c("distance_<k>", "float64", "number", "Distance {k}", _N, "peers",
       "Mahalanobis distance to the k-th most similar unit"),
    # Risk share: agreement (domain.md sections 7 and 8).
    _c("side", "str", "text", "Side", _G, "agreement_summary agreement_terms",
       "loss (overspend) or gain (saving)"),
    _c("band", "int64", "count", "Band", _G, "agreement_summary agreement_terms",
       "Band number on its side, from 1"),
    _c("from_gbp", "float64", "gbp", "From", _M, "agreement_summary",
       "Pooled variance where the band starts"),
    _c("upto_gbp", "float64", "gbp", "Up to", _M, "agreement_summary",
       "Pooled variance where the band ends (blank: unbounded)"),
    _c("<party>", "float64", "fraction", "{party}", _R, "agreement_summary",
       "The party's share of the band"),
    _c("party", "str", "text", "Party", _G,
       "agreement_share settled_lines parties agreement_terms simulation_summary calibration",
       "Party to the agreement"),
    _c("share_gbp", "float64", "gbp", "Share", _M, "agreement_share",
       "The party's share of the pooled variance (positive = loss)"),
    # Risk share: settlement.
    _c("line", "int64", "count", "Line", _G, "settled_lines", "Plan line number"),
    _c("fixed", "bool", "flag", "Fixed line", _G, "settled_lines",
       "Whether the line is paid at plan whatever the activity"),
    _c("planned_gbp", "float64", "gbp", "Planned", _M, "settled_lines",
       "R(planned activity × price)"),
    _c("actual_gbp", "float64", "gbp", "Actual", _M, "settled_lines",
       "R(actual activity × price)"),
    _c("variance_gbp", "float64", "gbp", "Variance", _M, "settled_lines",
       "Actual − planned (positive = overspend)"),
    _c("rate_rule", "str", "text", "Rate rule", _G, "settled_lines",
       "The marginal rate entry that applies to the line"),
    _c("tolerance_gbp", "float64", "gbp", "Tolerance", _M, "settled_lines",
       "Variance within which no marginal payment is made"),
    _c("marginal_rate", "float64", "fraction", "Marginal rate", _R, "settled_lines",
       "Fraction of the excess variance paid"),
    _c("marginal_payment_gbp", "float64", "gbp", "Marginal payment", _M, "settled_lines",
       "R(marginal rate × excess)"),
    _c("above_plan", "float64", "fraction", "Rate above plan", _R, "settled_lines",
       "Marginal rate on activity above plan"),
    _c("below_plan", "float64", "fraction", "Rate below plan", _R, "settled_lines",
       "Marginal rate on activity below plan"),
    _c("tolerance", "float64", "fraction", "Tolerance", _R, "settled_lines",
       "Tolerance as a fraction of the planned value"),
    _c("excess_gbp", "float64", "gbp", "Excess", _M, "settled_lines",
       "Variance beyond the tolerance, with its sign"),
    _c("variance_before_pool_gbp", "float64", "gbp", "Variance before pool", _M, "parties",
       "What the party holds after the marginal rates (positive = loss)"),
    _c("pool_share_gbp", "float64", "gbp", "Pool share", _M, "parties",
       "The party's share of the pooled variance (positive = loss)"),
    _c("final_position_gbp", "float64", "gbp", "Final position", _M, "parties",
       "Variance before pool + pool share (positive = loss)"),
    _c("pool_transfer_gbp", "float64", "gbp", "Pool transfer", _M, "parties",
       "Final position − variance before pool (positive = a payment into the pool, negative = "
       "a payment from it); transfers add up to zero"),
    _c("<side>_band_<k>_gbp", "float64", "gbp", "Band {k}, {side}", _M, "parties",
       "The party's share of the band's slice"),
    _c("band_share_gbp", "float64", "gbp", "Band shares", _M, "parties",
       "Sum of the party's band shares, before caps"),
    _c("unrounded_pool_share_gbp", "float64", "gbp", "Pool share before rounding", _M, "parties",
       "Pool share after caps, before largest-remainder rounding"),
    _c("name", "str", "text", "Agreement", _G, "agreement_terms", "Name of the agreement"),
    _c("commissioner", "str", "text", "Commissioner", _G, "agreement_terms",
       "Pays the plan; holds the pooled variance before sharing"),
    _c("residual", "str", "text", "Residual party", _G, "agreement_terms",
       "Takes what a capped party cannot"),
    _c("mode", "str", "text", "Pool mode", _G, "agreement_terms", "corridor or first_dollar"),
    _c("pooled_variance_gbp", "float64", "gbp", "Pooled variance", _M, "agreement_terms",
       "Sum of the marginal payments (positive = loss)"),
    _c("upto", "float64", "fraction", "Band up to", _R, "agreement_terms",
       "Band bound as a fraction of the pool budget (blank: unbounded)"),
    _c("lower_gbp", "float64", "gbp", "Lower bound", _M, "agreement_terms",
       "Pooled variance where the band starts"),
    _c("upper_gbp", "float64", "gbp", "Upper bound", _M, "agreement_terms",
       "Pooled variance where the band ends (blank: unbounded)"),
    _c("slice_gbp", "float64", "gbp", "Slice", _M, "agreement_terms",
       "Part of the pooled variance in the band"),
    _c("share:<party>", "float64", "fraction", "Share: {party}", _R, "agreement_terms",
       "The party's share of the band"),
    _c("max_loss", "float64", "fraction", "Loss cap", _R, "agreement_terms",
       "Cap on the party's loss as a fraction of the pool budget"),
    _c("max_gain", "float64", "fraction", "Gain collar", _R, "agreement_terms",
       "Collar on the party's gain as a fraction of the pool budget"),
    _c("loss_cap_gbp", "float64", "gbp", "Loss cap", _M, "agreement_terms",
       "Cap on the party's loss"),
    _c("gain_collar_gbp", "float64", "gbp", "Gain collar", _M, "agreement_terms",
       "Collar on the party's gain"),
    # Risk share: simulation and calibration (domain.md sections 9 and 10).
    _c("mean_gbp", "float64", "gbp", "Mean", _L, "simulation_summary",
       "Mean final position (positive = loss)"),
    _c("sd_gbp", "float64", "gbp", "Standard deviation", _L, "simulation_summary",
       "Standard deviation of the final position"),
    _c("p5_gbp", "float64", "gbp", "5th percentile", _L, "simulation_summary",
       "5th percentile of the final position"),
    _c("p50_gbp", "float64", "gbp", "Median", _L, "simulation_summary",
       "Median final position"),
    _c("p95_gbp", "float64", "gbp", "95th percentile", _L, "simulation_summary",
       "95th percentile of the final position"),
    _c("p_loss", "float64", "fraction", "Chance of a loss", _P, "simulation_summary",
       "Share of scenarios in which the party makes a loss (a final position above zero)"),
    _c("var95_gbp", "float64", "gbp", "Value at risk (95%)", _L, "simulation_summary",
       "The ⌈0.95n⌉-th smallest final position"),
    _c("cvar95_gbp", "float64", "gbp", "Expected loss beyond the 95th percentile", _L,
       "simulation_summary", "CVaR at 95%: mean of the worst 5% of final positions"),
    _c("scenario", "int64", "count", "Scenario", WHOLE_FORMAT, "positions",
       "Scenario number, from 1"),
    _c("<party>", "float64", "gbp", "{party}", _L, "positions",
       "The party's final position in the scenario (positive = loss)"),
    _c("influence", "float64", "fraction", "Influence", _P, "calibration",
       "The party's influence over the drivers of the risk"),
    _c("share", "float64", "fraction", "Calibrated share", _P, "calibration",
       "The party's calibrated share of the pool"),
    _c("appetite_gbp", "float64", "gbp", "Risk appetite", _M, "calibration",
       "The CVaR the party can bear"),
    _c("cvar_before_gbp", "float64", "gbp", "CVaR before calibration", _M, "calibration",
       "The party's CVaR with the agreement's shares"),
    _c("cvar_after_gbp", "float64", "gbp", "CVaR after calibration", _M, "calibration",
       "The party's CVaR with the calibrated shares"),
    # Assumptions sheet.
    _c("item", "str", "text", "Item", _G, "assumptions", "What the row records"),
    _c("value", "str", "text", "Value", _G, "assumptions", "The value, as text"),
)

