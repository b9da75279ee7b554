"""The public API is pinned: adding or dropping a name is a deliberate change."""

import inspect

import capitation

EXPECTED_CAPITATION_API = [
    "Allocation",
    "Component",
    "InputError",
    "Model",
    "NeedsFormula",
    "Pace",
    "Population",
    "PopulationSource",
    "PracticeTable",
    "RegisterPopulation",
    "Results",
    "SolverError",
    "allocate",
    "compare",
    "read_results",
]


def test_capitation_public_api():
    assert sorted(capitation.__all__) == sorted(EXPECTED_CAPITATION_API)
    for name in EXPECTED_CAPITATION_API:
        assert hasattr(capitation, name)


def test_input_error_is_value_error():
    assert issubclass(capitation.InputError, ValueError)


def test_model_api_shape():
    assert callable(capitation.Model.from_toml)
    assert callable(capitation.Model.from_excel)
    assert callable(capitation.Model.run)
    assert callable(capitation.Results.table)
    assert callable(capitation.Results.to_excel)


def test_allocate_signature():
    signature = inspect.signature(capitation.allocate)
    assert [(p.name, p.kind.name, p.default) for p in signature.parameters.values()] == [
        ("population", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("formula", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("envelope_gbp", "POSITIONAL_OR_KEYWORD", None),
        ("pace", "POSITIONAL_OR_KEYWORD", None),
        ("convention", "POSITIONAL_OR_KEYWORD", "toolkit"),
    ]
    pace = inspect.signature(capitation.Pace).parameters
    assert [(p.name, p.default) for p in pace.values()] == [
        ("level", inspect.Parameter.empty), ("baseline_gbp", inspect.Parameter.empty),
        ("min_growth", inspect.Parameter.empty), ("max_growth", None), ("method", "lp")]
    assert list(inspect.signature(capitation.Allocation.table).parameters) == ["self", "level"]
    assert isinstance(capitation.Allocation.pace_of_change, property)
    population = inspect.signature(capitation.Population.from_frame).parameters
    assert list(population) == ["frame", "id", "population", "levels", "columns", "names"]


EXPECTED_OPPORTUNITY_API = [
    "ACTIVITY_COLUMNS",
    "Activity",
    "BENCHMARKS",
    "FUNNEL_COLUMNS",
    "Funnel",
    "NeedsAndUse",
    "Opportunity",
    "OpportunitySpec",
    "Peers",
    "SYNTHETIC_SERVICES",
    "expected_by_age_sex",
    "expected_by_weighted_population",
    "find_peers",
    "funnel",
    "lmdi",
    "log_mean",
    "peer_benchmarks",
    "poisson_interval",
    "population_by_age_band",
    "read_activity",
    "reference_rates",
    "spend_decomposition",
    "standardised_ratios",
    "synthetic_activity",
    "value_opportunity",
]


def test_opportunity_public_api():
    import capitation.opportunity as opportunity

    assert sorted(opportunity.__all__) == sorted(EXPECTED_OPPORTUNITY_API)
    for name in EXPECTED_OPPORTUNITY_API:
        assert hasattr(opportunity, name)
    signature = inspect.signature(opportunity.funnel)
    assert [(p.name, p.default) for p in signature.parameters.values()] == [
        ("observed", inspect.Parameter.empty), ("expected", inspect.Parameter.empty),
        ("kind", "ratio"), ("method", None), ("overdispersion", True), ("trim", 0.10)]
    assert list(opportunity.FUNNEL_COLUMNS) == [
        "ratio", "z", "z_adjusted", "lower_95", "upper_95", "lower_998", "upper_998",
        "flag_95", "flag_998"]
    changes = inspect.signature(opportunity.Opportunity.activity_changes).parameters
    assert [(p.name, p.default) for p in changes.values()] == [
        ("self", inspect.Parameter.empty), ("realised", 0.5), ("years", 3)]
