"""The public API of risk_share is pinned: adding or dropping a name is a deliberate change."""

import risk_share

EXPECTED_PUBLIC_API = [
    "Agreement",
    "Band",
    "InputError",
    "MarginalRate",
    "Party",
    "Settlement",
    "Simulation",
    "SolverError",
    "calibrate",
    "compare",
    "plan_lines_from_budget",
    "read_settlement",
]


def test_public_api_is_pinned():
    assert sorted(risk_share.__all__) == sorted(EXPECTED_PUBLIC_API)
    for name in EXPECTED_PUBLIC_API:
        assert hasattr(risk_share, name), name


def test_agreement_methods_of_the_issue():
    for method in ("from_toml", "share", "settle", "simulate"):
        assert callable(getattr(risk_share.Agreement, method))
    assert callable(risk_share.Simulation.summary)
