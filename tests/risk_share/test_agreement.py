"""Reading and validating agreements: every error names the TOML key."""

from __future__ import annotations

import pytest

from risk_share import Agreement, InputError


def test_example_file_reads():
    ag = Agreement.from_toml("models/msk_agreement.toml")
    assert ag.commissioner == "CCG"
    assert ag.party_names == ["CCG", "Acute trust", "Community MSK"]
    assert ag.residual == "CCG"
    assert ag.mode == "corridor"
    assert ag.budget_gbp == 40_000_000
    assert [b.upto for b in ag.loss_bands] == [0.01, None]
    assert dict(ag.gain_bands[1].shares) == {"CCG": 0.5, "Acute trust": 0.3, "Community MSK": 0.2}
    caps, collars = ag.caps_gbp()
    assert caps.tolist() == [float("inf"), 800_000.0, float("inf")]
    assert collars.tolist() == [float("inf"), 800_000.0, float("inf")]
    assert [(r.party, r.pod) for r in ag.marginal_rates] == [
        ("Acute trust", "*"),
        ("Acute trust", "Elective inpatient"),
        ("Acute trust", "Day case"),
    ]


def test_residual_defaults_to_the_commissioner(issue_dict):
    data = issue_dict()
    del data["pool"]["residual"]
    assert Agreement.from_dict(data).residual == "CCG"


def test_agreement_is_immutable(agreement):
    with pytest.raises(AttributeError):
        agreement.mode = "first_dollar"
    with pytest.raises(TypeError):
        agreement.loss_bands[0].shares["CCG"] = 0.5


def _set(path, value):
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path):
    def change(data):
        target = data
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


BAD = [
    # (what, change to the issue's agreement, key named, message fragment)
    (
        "shares not summing to 1",
        _set(("pool", "loss_band", 1, "shares", "CCG"), 0.5),
        "pool.loss_band[2].shares",
        "add up to 1.1, not 1",
    ),
    (
        "unknown party in shares",
        _set(("pool", "gain_band", 1, "shares", "GP federation"), 0.0),
        'pool.gain_band[2].shares."GP federation"',
        "is not a [[party]]",
    ),
    (
        "bands out of order",
        _set(
            ("pool", "loss_band"),
            [
                {"upto": 0.02, "shares": {"CCG": 1.0}},
                {"upto": 0.01, "shares": {"CCG": 1.0}},
                {"shares": {"CCG": 1.0}},
            ],
        ),
        "pool.loss_band[2].upto",
        "increasing order",
    ),
    (
        "bands overlapping",
        _set(
            ("pool", "gain_band"),
            [
                {"upto": 0.01, "shares": {"CCG": 1.0}},
                {"upto": 0.01, "shares": {"CCG": 1.0}},
                {"shares": {"CCG": 1.0}},
            ],
        ),
        "pool.gain_band[2].upto",
        "without overlapping",
    ),
    (
        "unbounded band before the last",
        _set(("pool", "loss_band", 0), {"shares": {"CCG": 1.0}}),
        "pool.loss_band[1].upto",
        "only the last band may omit upto",
    ),
    (
        "last band bounded",
        _set(("pool", "loss_band", 1, "upto"), 0.05),
        "pool.loss_band[2].upto",
        "the last band must have no upto",
    ),
    ("no gain bands", _set(("pool", "gain_band"), []), "pool.gain_band", "at least one"),
    (
        "residual capped",
        _set(("pool", "residual"), "Acute trust"),
        "pool.residual",
        "residual party",
    ),
    (
        "residual unknown",
        _set(("pool", "residual"), "NHS England"),
        "pool.residual",
        "is not a [[party]]",
    ),
    (
        "negative rate",
        _set(("marginal_rate", 1, "below_plan"), -0.3),
        "marginal_rate[2].below_plan",
        "-0.3 is below 0 (must be between 0 and 1)",
    ),
    (
        "negative tolerance",
        _set(("marginal_rate", 0, "tolerance"), -0.01),
        "marginal_rate[1].tolerance",
        "-0.01 is below 0 (must be between 0 and 1)",
    ),
    (
        "rate naming the commissioner",
        _set(("marginal_rate", 0, "party"), "CCG"),
        "marginal_rate[1].party",
        "is the commissioner",
    ),
    (
        "rate naming an unknown party",
        _set(("marginal_rate", 0, "party"), "Hospice"),
        "marginal_rate[1].party",
        "is not a [[party]]",
    ),
    (
        "two equally specific rates",
        _set(("marginal_rate", 2, "pod"), "Emergency"),
        "marginal_rate[3]",
        "two equally specific rates",
    ),
    ("two star rates", _set(("marginal_rate", 1, "pod"), "*"), "marginal_rate[2]", "every POD"),
    (
        "commissioner not a party",
        _set(("agreement", "commissioner"), "ICB"),
        "agreement.commissioner",
        "is not a [[party]]",
    ),
    ("unknown mode", _set(("pool", "mode"), "stop_loss"), "pool.mode", "corridor, first_dollar"),
    ("unknown key", _set(("party", 1, "max_los"), 0.02), "party[2].max_los", "unknown key"),
    ("cap twice", _set(("party", 1, "max_loss_gbp"), 800_000), "party[2].max_loss_gbp", "not both"),
    ("negative cap", _set(("party", 1, "max_gain"), -0.02), "party[2].max_gain",
     "-0.02 is below 0 (must be between 0 and 1)"),
    ("duplicate party", _set(("party", 2, "name"), "CCG"), "party[3].name", "already party[1]"),
    (
        "text for a number",
        _set(("pool", "budget_gbp"), "40m"),
        "pool.budget_gbp",
        "expected a number",
    ),
    ("zero budget", _set(("pool", "budget_gbp"), 0), "pool.budget_gbp",
     "0 is not above 0 (must be above 0)"),
    (
        "missing commissioner",
        _delete(("agreement", "commissioner")),
        "agreement.commissioner",
        "is missing",
    ),
    (
        "missing shares",
        _delete(("pool", "loss_band", 0, "shares")),
        "pool.loss_band[1].shares",
        "is missing",
    ),
]


@pytest.mark.parametrize(
    ("change", "key", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_agreement_names_the_key(issue_dict, change, key, fragment):
    data = issue_dict()
    change(data)
    with pytest.raises(InputError) as caught:
        Agreement.from_dict(data)
    assert caught.value.key == key
    assert fragment in str(caught.value)
    assert f"key {key}: " in str(caught.value)


def test_bad_file_names_the_file_and_key(tmp_path):
    text = (
        open("models/msk_agreement.toml")
        .read()
        .replace(
            'shares = { CCG = 0.4, "Acute trust" = 0.4, "Community MSK" = 0.2 }',
            'shares = { CCG = 0.4, "Acute trust" = 0.4, "Community MSK" = 0.1 }',
        )
    )
    path = tmp_path / "bad_agreement.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        Agreement.from_toml(path)
    assert str(caught.value) == (
        "bad_agreement.toml, key pool.loss_band[2].shares: shares add up to 0.9, not 1"
    )


def test_not_toml_and_missing_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[agreement\nname = ")
    with pytest.raises(InputError, match=r"^broken.toml: is not valid TOML"):
        Agreement.from_toml(path)
    with pytest.raises(InputError, match="not found"):
        Agreement.from_toml(tmp_path / "absent.toml")


def test_shares_within_tolerance_are_rescaled(issue_dict):
    data = issue_dict()
    data["pool"]["loss_band"][1]["shares"] = {
        "CCG": 0.3333333333,
        "Acute trust": 0.3333333333,
        "Community MSK": 0.3333333334,
    }
    ag = Agreement.from_dict(data)
    assert sum(ag.loss_bands[1].shares.values()) == pytest.approx(1.0, abs=1e-15)
