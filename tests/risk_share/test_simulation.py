"""Monte Carlo of outturns (docs/methods/monte-carlo.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk_share import InputError, Simulation
from risk_share.simulation import correlation_factor, multipliers


@pytest.fixture
def plan(settlement_lines):
    """docs/methods/settlement.md's lines as a plan, the triage line fixed."""
    lines = settlement_lines.drop(columns="actual_activity")
    lines["fixed"] = [False, False, False, True, False]
    return lines


def settle_by_hand(agreement, plan, n, seed, cv, matrix, distribution):
    """Draw as docs/methods/monte-carlo.md says, then settle each scenario.

    Each scenario is settled with the scalar settlement.
    """
    varying = ~plan["fixed"].to_numpy()
    epsilon = np.random.default_rng(seed).standard_normal((n, varying.sum()))
    try:
        factor = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(matrix)
        factor = vectors * np.sqrt(np.maximum(values, 0))
    z = epsilon @ factor.T
    cv = np.broadcast_to(np.asarray(cv, dtype=float), (len(plan),))[varying]
    if distribution == "lognormal":
        s2 = np.log(1 + cv**2)
        x = np.exp(np.sqrt(s2) * z - s2 / 2)
    else:
        x = np.maximum(0, 1 + cv * z)
    rows = []
    for j in range(n):  # the reference: one scalar settlement per scenario
        lines = plan.copy()
        actual = lines["planned_activity"].to_numpy(dtype=float).copy()
        actual[varying] = actual[varying] * x[j]
        lines["actual_activity"] = actual
        rows.append(agreement.settle(lines).parties["final_position_gbp"].to_numpy())
    return np.array(rows)


@pytest.mark.parametrize(
    ("correlation", "distribution", "cv"),
    [
        (0.3, "lognormal", 0.05),  # Cholesky
        (1.0, "lognormal", 0.05),  # singular: Cholesky fails, eigh
        (0.0, "normal", [0.02, 0.10, 0.05, 0.0, 0.20]),  # cv per plan line
    ],
)
def test_vectorised_simulation_matches_scalar_settlements(
    agreement, plan, correlation, distribution, cv
):
    n = 40
    sim = agreement.simulate(
        plan, n=n, cv=cv, correlation=correlation, seed=2026, distribution=distribution
    )
    m = 4
    matrix = np.full((m, m), correlation) + (1 - correlation) * np.eye(m)
    expected = settle_by_hand(agreement, plan, n, 2026, cv, matrix, distribution)
    np.testing.assert_array_equal(sim.positions.to_numpy(), expected)
    assert sim.positions.index.name == "scenario"
    assert sim.positions.index[0] == 1
    # The positions are kept + pool share, and pool shares add up to V.
    shares = sim.positions - sim.kept_gbp
    np.testing.assert_allclose(shares.sum(axis=1), sim.pooled_variance_gbp, atol=1e-6)
    assert (sim.kept_gbp["CCG"] == 0).all()


def test_fixed_seed_gives_the_same_scenarios(agreement, plan):
    a = agreement.simulate(plan, n=500, cv=0.05, correlation=0.2, seed=7)
    b = agreement.simulate(plan, n=500, cv=0.05, correlation=0.2, seed=7)
    c = agreement.simulate(plan, n=500, cv=0.05, correlation=0.2, seed=8)
    pd.testing.assert_frame_equal(a.positions, b.positions)
    assert not a.positions.equals(c.positions)
    assert a.seed == 7


def test_the_bounds_of_cv_and_seed_are_accepted(agreement, plan):
    assert agreement.simulate(plan, n=5, cv=10.0, seed=2**32 - 1).seed == 2**32 - 1
    assert agreement.simulate(plan, n=5, cv=0.0, seed=0).seed == 0


def test_a_fresh_seed_can_be_typed_back_in(agreement, plan):
    # Without a seed one is drawn in 0..2**32 - 1, so --seed can repeat the run.
    a = agreement.simulate(plan, n=50, cv=0.05)
    assert 0 <= a.seed <= 2**32 - 1
    b = agreement.simulate(plan, n=50, cv=0.05, seed=a.seed)
    pd.testing.assert_frame_equal(a.positions, b.positions)


def test_fixed_lines_never_vary(agreement, plan):
    plan = plan.copy()
    plan["fixed"] = True
    sim = agreement.simulate(plan, n=50, cv=0.3, seed=1)
    assert (sim.positions == 0).all().all()


def test_a_correlation_matrix_covers_all_plan_lines(agreement, plan):
    matrix = np.eye(5)
    matrix[0, 1] = matrix[1, 0] = 0.5
    matrix[3, 0] = matrix[0, 3] = 0.9  # the fixed line's row and column are dropped
    sim = agreement.simulate(plan, n=10, cv=0.05, correlation=matrix, seed=1)
    assert sim.correlation.shape == (4, 4)
    assert sim.correlation[0, 1] == 0.5
    assert (sim.correlation[0, 2:] == 0).all()


def test_correlation_not_positive_semi_definite_is_refused(agreement, plan):
    matrix = np.eye(5)
    matrix[0, 1] = matrix[1, 0] = 0.9
    matrix[0, 2] = matrix[2, 0] = 0.9
    matrix[1, 2] = matrix[2, 1] = -0.9
    with pytest.raises(InputError, match="not positive semi-definite"):
        agreement.simulate(plan, n=10, cv=0.05, correlation=matrix, seed=1)
    with pytest.raises(InputError, match="not positive semi-definite"):
        agreement.simulate(plan, n=10, cv=0.05, correlation=-0.5, seed=1)  # 4 lines: ρ ≥ −1/3
    with pytest.raises(InputError, match="all 5 plan lines"):
        agreement.simulate(plan, n=10, cv=0.05, correlation=np.eye(4), seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n: the number of scenarios"),
        ({"cv": -0.1}, "cv: coefficients of variation must be finite and at least 0"),
        # σ² = ln(1 + cv²) is infinite at cv = 1e308: every activity would be NaN.
        ({"cv": 1e308}, r"cv: .* up to 10 \(found 1e\+308\)"),
        ({"cv": 10.5}, r"up to 10 \(found 10.5\)"),
        ({"cv": [0.1, 0.2, float("nan"), 0.1, 0.1]}, r"up to 10 \(found nan\)"),
        ({"seed": -1}, r"seed: -1 is not a whole number from 0 to 4,294,967,295"),
        ({"seed": 2**32}, r"seed: 4294967296 is not a whole number"),
        ({"seed": 1.5}, r"seed: 1.5 is not a whole number"),
        ({"seed": True}, r"seed: True is not a whole number"),
        ({"cv": [0.1, 0.2]}, "cv: give one number or one per plan line"),
        ({"distribution": "gamma"}, "distribution: 'gamma' is not one of"),
    ],
)
def test_bad_simulation_arguments(agreement, plan, kwargs, message):
    arguments = {"n": 10, "cv": 0.05, "seed": 1, **kwargs}
    with pytest.raises(InputError, match=message):
        agreement.simulate(plan, **arguments)


@settings(deadline=None, derandomize=True, max_examples=60)
@given(st.integers(1, 6), st.floats(-1.0, 1.0), st.booleans())
def test_correlation_factor_reproduces_the_matrix(m, rho, eigh_only):
    rho = max(rho, -1.0 / max(m - 1, 1))  # keep the constant-correlation matrix PSD
    matrix = np.full((m, m), rho) + (1 - rho) * np.eye(m)
    if eigh_only:
        matrix = np.ones((m, m))  # rank 1: Cholesky fails, eigh must be used
    factor = correlation_factor(matrix)
    np.testing.assert_allclose(factor @ factor.T, matrix, atol=1e-9)


def test_multipliers_have_mean_one_and_the_cv():
    z = np.random.default_rng(0).standard_normal((400_000, 2))
    cv = np.array([0.05, 0.3])
    for distribution in ("lognormal", "normal"):
        x = multipliers(z, cv, distribution)
        np.testing.assert_allclose(x.mean(axis=0), 1.0, atol=2e-3)
        np.testing.assert_allclose(x.std(axis=0) / x.mean(axis=0), cv, rtol=1e-2)
        assert (x >= 0).all()


def test_summary_statistics(agreement):
    # docs/methods/monte-carlo.md on 20 scenarios whose final positions are known: with no bands
    # held by
    # anyone but the CCG (losses and gains alike), CCG's position is V itself.
    data = {
        "agreement": {"name": "t", "year": "2018/19", "commissioner": "CCG"},
        "party": [{"name": "CCG"}, {"name": "Trust"}],
        "pool": {
            "budget_gbp": 1e6,
            "mode": "corridor",
            "loss_band": [{"shares": {"CCG": 1.0}}],
            "gain_band": [{"shares": {"CCG": 1.0}}],
        },
    }
    ag = type(agreement).from_dict(data)
    v = np.array([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 30]) * 1000.0
    trust = np.full(20, 250.0)
    sim = Simulation.from_variances(ag, v, np.column_stack([np.zeros(20), trust]))
    summary = sim.summary()
    assert summary.index.tolist() == ["CCG", "Trust"]
    assert summary.columns.tolist() == [
        "mean_gbp",
        "sd_gbp",
        "p5_gbp",
        "p50_gbp",
        "p95_gbp",
        "p_loss",
        "var95_gbp",
        "cvar95_gbp",
    ]
    ccg = summary.loc["CCG"]
    assert ccg["mean_gbp"] == pytest.approx(v.mean())
    assert ccg["sd_gbp"] == pytest.approx(np.std(v, ddof=1))
    # Linear percentiles: p5 at position 0.05 × 19 = 0.95 between −5,000 and −4,000.
    assert ccg["p5_gbp"] == pytest.approx(-5_000 + 0.95 * 1_000)
    assert ccg["p50_gbp"] == pytest.approx(4_500)
    assert ccg["p95_gbp"] == pytest.approx(13_000 + 0.05 * 17_000)  # position 18.05
    assert ccg["p_loss"] == 14 / 20
    # VaR95: the ⌈0.95 × 20⌉ = 19th smallest = 13,000. CVaR95 = 13,000 + (30,000 − 13,000) /
    # (0.05 × 20) = 30,000: the worst scenario.
    assert math.ceil(0.95 * 20) == 19
    assert ccg["var95_gbp"] == 13_000
    assert ccg["cvar95_gbp"] == pytest.approx(30_000)
    assert summary.loc["Trust", "cvar95_gbp"] == pytest.approx(250)
    assert summary.loc["Trust", "p_loss"] == 1.0


def test_progress_bar_and_callback_change_nothing():
    import risk_share

    root = __import__("pathlib").Path(__file__).resolve().parents[2] / "models"
    agreement = risk_share.Agreement.from_toml(root / "msk_agreement.toml")
    lines = root / "msk_outturn.csv"
    seen = []
    plain = agreement.simulate(lines, n=3_000, cv=0.05, seed=7)
    counted = agreement.simulate(lines, n=3_000, cv=0.05, seed=7, progress=seen.append)
    barred = agreement.simulate(lines, n=3_000, cv=0.05, seed=7, progress=True)
    assert sum(seen) == 3_000
    pd.testing.assert_frame_equal(plain.positions, counted.positions)
    pd.testing.assert_frame_equal(plain.positions, barred.positions)


MODELS = __import__("pathlib").Path(__file__).resolve().parents[2] / "models"


@pytest.fixture
def msk():
    import risk_share

    return risk_share.Agreement.from_toml(MODELS / "msk_agreement.toml")


def test_draws_in_steps_are_the_draws_of_one_call():
    # The property simulate relies on: standard_normal fills an array in C order, so steps of
    # whole scenarios (rows) drawn in turn from one generator give one (n, m) draw's numbers.
    whole = np.random.default_rng(5).standard_normal((50, 7))
    rng = np.random.default_rng(5)
    steps = [rng.standard_normal((rows, 7)) for rows in (1, 3, 7, 39)]
    np.testing.assert_array_equal(np.vstack(steps), whole)


@pytest.mark.parametrize("m", [4, 33])
def test_correlated_normals_do_not_depend_on_the_step(m):
    # A BLAS product may round a row differently when it falls in a short tile (a step of 1,
    # 3 or 7 rows): ε Lᵀ runs on whole ROW_BLOCK blocks so that every step size gives the
    # numbers of one product over all rows, bit for bit.
    from risk_share.simulation import _correlate

    matrix = np.full((m, m), 0.3) + 0.7 * np.eye(m)
    factor = correlation_factor(matrix)
    epsilon = np.random.default_rng(m).standard_normal((201, m))
    whole = _correlate(epsilon, factor)
    np.testing.assert_allclose(whole, epsilon @ factor.T, rtol=0, atol=1e-12)
    for rows in (1, 3, 7, 64, 128):
        steps = [_correlate(epsilon[i : i + rows], factor) for i in range(0, 201, rows)]
        np.testing.assert_array_equal(np.vstack(steps), whole, err_msg=f"steps of {rows}")


@pytest.mark.parametrize(
    ("correlation", "distribution"),
    [(0.3, "lognormal"), (0.0, "normal"), ("matrix", "lognormal"), (1.0, "normal")],
)
def test_step_size_changes_no_scenario(monkeypatch, agreement, plan, correlation, distribution):
    # Steps of 3 scenarios against one step of all 203: the same pooled variances, holdings
    # and positions to the penny, and the same summary to the last bit.
    import risk_share.simulation as simulation

    if correlation == "matrix":
        correlation = np.eye(5)
        correlation[0, 1] = correlation[1, 0] = 0.6
        correlation[2, 4] = correlation[4, 2] = -0.4
    arguments = {"n": 203, "cv": 0.08, "correlation": correlation, "seed": 99,
                 "distribution": distribution}
    assert simulation.step_size(len(plan)) >= 203
    whole = agreement.simulate(plan, **arguments)
    monkeypatch.setattr(simulation, "CHUNK", 3)
    seen = []
    stepped = agreement.simulate(plan, progress=seen.append, **arguments)
    assert seen == [3] * 67 + [2]
    pd.testing.assert_series_equal(stepped.pooled_variance_gbp, whole.pooled_variance_gbp)
    pd.testing.assert_frame_equal(stepped.kept_gbp, whole.kept_gbp)
    pd.testing.assert_frame_equal(stepped.positions, whole.positions)
    pd.testing.assert_frame_equal(stepped.summary(), whole.summary(), check_exact=True)


def test_step_size_bounds_a_scenarios_by_lines_array():
    from risk_share.simulation import CHUNK, CHUNK_BYTES, ROW_BLOCK, step_size

    for n_lines in (1, 9, 2_000, 10_000, 100_000):
        rows = step_size(n_lines)
        assert 1 <= rows <= CHUNK
        assert rows * n_lines * 8 <= max(CHUNK_BYTES, n_lines * 8)
        assert rows % ROW_BLOCK == 0 or rows < ROW_BLOCK  # under one block: padded
    # 16 MiB / (8 bytes × 10,000 lines) = 209.7 rows: 3 blocks of 64.
    assert step_size(10_000) == 192
    assert step_size(100_000) == 20  # 16 MiB / 800,000 bytes = 20.97
    assert step_size(10**9) == 1


def test_results_that_cannot_fit_are_refused_up_front(monkeypatch, msk):
    import risk_share.simulation as simulation

    # 3 parties: (2 × 3 + 1) × 8 = 56 bytes a scenario; 2 GiB / 56 = 38,347,922.3.
    # The lines file does not exist: the size is checked before anything is read.
    with pytest.raises(InputError, match=r"n: 50,000,000 scenarios of 3 parties need 2\.6 GiB"
                       r".*at most 38,347,922 scenarios fit"):
        msk.simulate(MODELS / "absent.csv", n=50_000_000, cv=0.05, seed=1)
    monkeypatch.setattr(simulation, "RESULTS_BYTES", 56 * 100 + 55)
    with pytest.raises(InputError, match="at most 100 scenarios fit"):
        msk.simulate(MODELS / "msk_outturn.csv", n=101, cv=0.05, seed=1)
    assert msk.simulate(MODELS / "msk_outturn.csv", n=100, cv=0.05, seed=1).n == 100


def test_results_are_held_without_copies(agreement, plan):
    # The frames take over the arrays filled step by step: positions and kept are one array
    # each, laid out column by column as pandas keeps a frame's columns.
    sim = agreement.simulate(plan, n=20, cv=0.05, seed=3)
    values = sim.positions.to_numpy()
    assert values.flags["F_CONTIGUOUS"]
    assert np.shares_memory(values, sim.positions.to_numpy())
