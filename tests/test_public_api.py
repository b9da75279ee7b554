"""The public API is pinned: adding or dropping a name is a deliberate change."""

import capitation

EXPECTED_CAPITATION_API = [
    "Component",
    "InputError",
    "Model",
    "NeedsFormula",
    "Population",
    "Results",
    "SolverError",
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
