"""The Dask engine gives the pandas engine's figures to the penny.

Method: docs/methods/weighted-capitation.md#from-people.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import psutil
import pytest

from capitation import InputError, Model
from capitation.persons.synthetic import write_synthetic_persons
from tests.capitation.persons.helpers import (
    ROLAND_TIERS,
    practices_frame,
    write_model,
    write_persons,
)


def _with_engine(model: Model, **changes) -> Model:
    spec = model.spec
    persons = replace(spec.population.persons, **changes)
    return Model(replace(spec, population=replace(spec.population, persons=persons)))


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:
        yield local


def test_engines_agree_on_200000_persons(tmp_path, cluster):
    codes = np.array([f"S{i:03d}" for i in range(60)])
    sizes = np.random.default_rng(11).integers(1_500, 5_200, len(codes)).astype(float)
    sizes *= 200_000 / sizes.sum()
    made = write_synthetic_persons(codes, sizes, tmp_path / "persons", seed=4, part_rows=40_000)
    assert 199_900 < made.persons < 200_100 and made.parts >= 4
    components = ('[[component]]\nname = "core"\nshare = 0.8\ncost_weights = "weights.csv"\n\n'
                  '[[component]]\nname = "pmc"\nshare = 0.2\n'
                  'tier_weights = { "very high" = 4.0 }\n')
    (tmp_path / "weights.csv").write_text(
        "sex,age_from,age_to,weight\nM,0,64,1.0\nM,65,,2.7\nF,0,64,1.1\nF,65,,2.5\n")
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(codes),
                                        envelope=987_654_321, tiers=ROLAND_TIERS,
                                        components=components))
    by_pandas = model.run()
    by_dask = _with_engine(model, engine="dask",
                           dask_scheduler=cluster.scheduler_address).run()
    for level in ("practice", "ICB"):
        pd.testing.assert_frame_equal(by_pandas.table(level), by_dask.table(level))
    pd.testing.assert_frame_equal(by_pandas.tiers, by_dask.tiers)
    assert by_pandas.opportunity().cohort_50_share == by_dask.opportunity().cohort_50_share
    written = by_dask.person_budgets(to=tmp_path / "budgets")
    from_dask = pd.read_parquet(written).set_index("person_id").sort_index()
    from_pandas = by_pandas.person_budgets(to=None).sort_index()
    pd.testing.assert_frame_equal(from_dask[from_pandas.columns], from_pandas,
                                  check_dtype=False)
    assert (from_dask["budget_gbp"].sum() * 100).round() == 98_765_432_100
    # The cluster the test started is still there: the engine closes only its own.
    assert len(cluster.scheduler_info["workers"]) == 2


def test_dask_error_names_the_part_and_closes_its_cluster(tmp_path):
    codes = np.array(["A1", "A2"])
    write_synthetic_persons(codes, np.array([800.0, 900.0]), tmp_path / "persons", seed=2,
                            part_rows=500)
    part = sorted((tmp_path / "persons").glob("*.parquet"))[-1]
    frame = pd.read_parquet(part)
    frame["age"] = frame["age"].astype(float)
    frame.loc[frame.index[:7], "age"] = -1.0
    frame.to_parquet(part, index=False)
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(codes),
                                        envelope=1_000_000, extra='engine = "dask"'))
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(InputError, match=rf"{part.name}, column age: person_id .* and 2 more"):
        model.run()
    left = [p for p in psutil.Process().children(recursive=True)
            if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == []


def test_dask_finds_a_person_id_repeated_across_parts(tmp_path, cluster):
    """Overlapping id ranges send the Dask engine to its distributed count of ids."""
    from tests.capitation.persons.helpers import tiered_persons, write_persons

    frame = tiered_persons([5, 45, 150, 800], practices=3)
    frame["person_id"] = np.arange(1, len(frame) + 1)
    frame.loc[[900, 901], "person_id"] = [3, 4]  # part 2 repeats two ids of part 1
    write_persons(frame, tmp_path / "persons", parts=2)
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(["P1", "P2", "P3"]),
                                        envelope=1_000_000,
                                        extra=f'engine = "dask"\ndask_scheduler = '
                                              f'"{cluster.scheduler_address}"'))
    with pytest.raises(InputError, match=r"person_id 3, 4 appear more than once, in parts "
                                         r"part-00000\.parquet, part-00001\.parquet"):
        model.run()
    # Overlapping ranges without a repeat run through.
    frame.loc[[900, 901], "person_id"] = [1001, 1002]
    frame.loc[[0], "person_id"] = 5000  # part 1 now reaches over part 2's range
    write_persons(frame, tmp_path / "persons", parts=2)
    assert int(model.run().tiers["persons"].sum()) == len(frame)


@pytest.mark.parametrize("which", [0, -1])  # the first part is read for the frame's types too
def test_dask_names_a_truncated_parquet_part(tmp_path, cluster, which):
    codes = np.array(["A1", "A2"])
    write_synthetic_persons(codes, np.array([800.0, 900.0]), tmp_path / "persons", seed=2,
                            part_rows=500)
    part = sorted((tmp_path / "persons").glob("*.parquet"))[which]
    part.write_bytes(part.read_bytes()[:-64])
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(codes),
                                        envelope=1_000_000,
                                        extra=f'engine = "dask"\ndask_scheduler = '
                                              f'"{cluster.scheduler_address}"'))
    with pytest.raises(InputError, match=rf"^{part.name}: cannot be read: the Parquet part is "
                                         r"truncated or damaged"):
        model.run()


@pytest.mark.parametrize("limit", [0, 3])
def test_rank_selection_through_finer_bins(tmp_path, cluster, monkeypatch, limit):
    """With few persons collected at a time, the selection narrows bins over all key bits."""
    from capitation.persons import dask_engine

    monkeypatch.setattr(dask_engine, "COLLECT_LIMIT", limit)
    passes = []
    compute = dask_engine.DaskPersons._compute

    def spy(self, function, *args, **kwargs):
        if function is dask_engine._histogram:
            passes.append(args[1])  # the shift
        return compute(self, function, *args, **kwargs)

    monkeypatch.setattr(dask_engine.DaskPersons, "_compute", spy)
    codes = np.array([f"T{i:02d}" for i in range(12)])
    write_synthetic_persons(codes, np.full(len(codes), 1_700.0), tmp_path / "persons", seed=8,
                            part_rows=5_000)
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(codes),
                                        envelope=5_000_000, tiers=ROLAND_TIERS))
    by_pandas = model.run()
    by_dask = _with_engine(model, engine="dask", dask_scheduler=cluster.scheduler_address).run()
    pd.testing.assert_frame_equal(by_pandas.tiers, by_dask.tiers)
    pd.testing.assert_frame_equal(by_pandas.table("practice"), by_dask.table("practice"))
    assert by_pandas.opportunity().cohort_50_share == by_dask.opportunity().cohort_50_share
    # ranks: bits 43..24 and 23..0 (the first pass came with the stats); cohort: all three
    assert passes == [24, 0, 44, 24, 0] if limit == 0 else 24 in passes


def test_engine_cluster_workers_keep_part_sized_arrays_on_the_heap():
    """The LocalCluster the engine starts sets the workers' mmap threshold before they start."""
    import os

    from distributed import Client

    from capitation.persons.dask_engine import local_cluster

    with local_cluster(1) as local, Client(local) as client:
        environ = client.run(lambda: os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    assert list(environ.values()) == [str(32 * 2**20)]


# Tier weights and cost weights that are sums of powers of two: every weighted count
# is exact in floating point whatever the order of summation, so the reference below
# (summed person by person) and the engines (summed by cell) must agree to the penny.
_EXACT_TIERS = [("very high", 0.0, 0.005, 18.5), ("high", 0.005, 0.05, 5.5),
                ("moderate", 0.05, 0.2, 1.75), ("low", 0.2, 1.0, 0.5)]
_EXACT_WEIGHTS = ("sex,age_from,age_to,weight\nM,0,64,1.0\nM,65,,2.75\nF,0,64,1.25\n"
                  "F,65,,2.5\n")


def _reference_targets(frame: pd.DataFrame, codes: list[str], envelope_pence: int) -> pd.Series:
    """Practice targets in pence by the definition, person by person (test-only reference).

    docs/methods/weighted-capitation.md#from-people: rank by risk score, highest
    first, ties by person_id ascending (a full sort here); the tier of rank r
    holds floor(from × N + 0.5) <= r < floor(to × N + 0.5); X_pc = Σ_i w_c(s_i, a_i)
    × t_c(k_i); target_pc = P_c × X_pc / Σ_q X_qc rounded by largest remainder
    (docs/methods/rounding.md), pots P_c = share_c × envelope.
    """
    from capitation.rounding import largest_remainder

    n = len(frame)
    order = np.lexsort((frame["person_id"].to_numpy(), -frame["risk_score"].to_numpy()))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    starts = np.array([np.floor(t[1] * n + 0.5) for t in _EXACT_TIERS[1:]])
    tier = np.searchsorted(starts, rank, side="right")
    t_core = np.array([t[3] for t in _EXACT_TIERS])[tier]
    t_pmc = np.where(tier == 0, 4.0, t_core)  # the pmc component's tier_weights override
    old = frame["age"].to_numpy() >= 65
    male = frame["sex"].to_numpy() == "M"
    w = np.where(male, np.where(old, 2.75, 1.0), np.where(old, 2.5, 1.25))
    at = pd.Index(codes).get_indexer(frame["practice"])
    total = pd.Series(0, index=codes, dtype=np.int64)
    for pot, weight in ((envelope_pence * 8 // 10, w * t_core), (envelope_pence * 2 // 10, t_pmc)):
        x = pd.Series(np.bincount(at, weights=weight, minlength=len(codes)), index=codes)
        total += largest_remainder(x / x.sum() * (pot / 100.0), pot)
    return total


def test_engines_and_a_reference_agree_with_many_ties_at_every_boundary(tmp_path, cluster):
    # Scores rounded to 2 decimals from 0 to 3: about 70 persons share each score, so
    # every tier boundary falls inside a run of tied persons, ordered by person_id alone.
    rng = np.random.default_rng(19)
    n = 21_037
    codes = [f"K{i:02d}" for i in range(23)]
    frame = pd.DataFrame({
        "person_id": rng.permutation(n).astype(np.int64) * 7 + 3,  # shuffled, with gaps
        "practice": rng.choice(codes, n),
        "sex": rng.choice(["M", "F"], n),
        "age": rng.integers(0, 101, n),
        "risk_score": np.round(rng.uniform(0.0, 3.0, n), 2),
    })
    write_persons(frame, tmp_path / "persons", parts=3)  # practices spread over all parts
    (tmp_path / "weights.csv").write_text(_EXACT_WEIGHTS)
    components = ('[[component]]\nname = "core"\nshare = 0.8\ncost_weights = "weights.csv"\n\n'
                  '[[component]]\nname = "pmc"\nshare = 0.2\n'
                  'tier_weights = { "very high" = 4.0 }\n')
    envelope = 987_654_321
    model = Model.from_toml(write_model(tmp_path, "persons", practices_frame(codes),
                                        envelope=envelope, tiers=_EXACT_TIERS,
                                        components=components))
    # every boundary splits a run of tied scores (the test is about ties)
    ranked = np.sort(frame["risk_score"].to_numpy())[::-1]
    for _, start, _, _ in _EXACT_TIERS[1:]:
        r = int(np.floor(start * n + 0.5))
        assert ranked[r - 1] == ranked[r] and np.count_nonzero(ranked == ranked[r]) > 20
    by_pandas = _with_engine(model, engine="pandas").run()
    by_dask = _with_engine(model, engine="dask", dask_scheduler=cluster.scheduler_address).run()
    expected = _reference_targets(frame, codes, envelope * 100)
    for results in (by_pandas, by_dask):
        pence = (results.table("practice")["target_gbp"] * 100).round().astype(np.int64)
        pd.testing.assert_series_equal(pence.reindex(codes), expected, check_names=False)
        reference_tiers = [int(np.floor(t[2] * n + 0.5)) - int(np.floor(t[1] * n + 0.5))
                           for t in _EXACT_TIERS]
        assert results.tiers["persons"].tolist() == reference_tiers
    pd.testing.assert_frame_equal(by_pandas.tiers, by_dask.tiers)
    assert by_pandas.opportunity().cohort_50_share == by_dask.opportunity().cohort_50_share
