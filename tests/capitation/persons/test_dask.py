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
from tests.capitation.persons.helpers import ROLAND_TIERS, practices_frame, write_model


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
