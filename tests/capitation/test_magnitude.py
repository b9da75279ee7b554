"""Amounts that look like the wrong unit draw a warning with the figures (capitation.model)."""

from __future__ import annotations

import warnings

import pytest

from capitation import Model
from tests.capitation.helpers import worked_model

COMPONENT = """
[[component]]
name = "core"
share = 1.0
weighted_population = { "pop" = 1.0 }
"""


def _run(folder, envelope: str) -> tuple[object, list[str]]:
    path = worked_model(folder, COMPONENT, envelope=envelope)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = Model.from_toml(path).run()
    return results, [str(w.message) for w in caught]


def test_an_envelope_typed_in_thousands_warns_with_the_figures_and_still_runs(tmp_path):
    # helpers.WORKED: 3 practices of 1,000 people. An envelope of 5,110 (meant as £5.11m) is
    # £5,110 / 3,000 = £1.70 a head, under £10.
    results, messages = _run(tmp_path, "5_110")
    assert messages == [
        "model.toml, key model.envelope_gbp: allocation per head in 2025/26 is £1.70 on "
        "average (£5,110.00 for 3,000 people), under £10 a head: is the envelope in pounds "
        "(not £m or £k)?"
    ]
    assert results.table("ICB")["allocation_gbp"].sum() == pytest.approx(5_110.0, abs=0.005)


def test_an_envelope_in_pence_warns_over_100000_a_head(tmp_path):
    # 3,000,000,000 for 3,000 people is £1,000,000 a head.
    _, messages = _run(tmp_path, "3_000_000_000")
    assert len(messages) == 1 and "is £1,000,000.00 on average" in messages[0]
    assert "over £100,000 a head" in messages[0]


@pytest.mark.parametrize("envelope", ["30_000", "300_000_000"])  # £10 and £100,000 a head
def test_plausible_envelopes_run_without_a_warning(tmp_path, envelope):
    _, messages = _run(tmp_path, envelope)
    assert messages == []
