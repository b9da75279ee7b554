"""SYNTHETIC persons matching practice populations, written as Parquet parts.

Everything here is invented: use it for tests, benchmarks and examples only.

- Age and sex come from an ILLUSTRATIVE single-year-of-age profile (smooth
  curves shaped like England's registered population: a bulge at working
  ages, a fall after 60, more women than men at old ages). It is not fitted
  to any published table: no published national profile with a licence was
  available to this project offline. Each practice mixes a younger and an
  older version of it in its own proportion, so practices differ in need.
- Risk scores are log-normal with a mean that rises with age (skewed: a few
  people carry most of the risk), rounded to 4 decimals so that ties occur.
- person_id runs 1, 2, 3, ... over the practices in the order given; each part
  holds whole practices, persons shuffled within the part.

Memory is bounded by the part size: practices are generated a part at a time.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from capitation.rounding import excel_round

if TYPE_CHECKING:
    from capitation.model_file import ModelSpec

__all__ = ["ILLUSTRATIVE_PROFILE_NOTE", "age_sex_profiles", "write_synthetic_persons",
           "SyntheticPersons", "practice_sizes"]

ILLUSTRATIVE_PROFILE_NOTE = ("SYNTHETIC persons: age-sex profile ILLUSTRATIVE (not a published "
                             "table), risk scores invented")
_MAX_AGE = 104


def age_sex_profiles() -> np.ndarray:
    """Relative head counts, shape (2 profiles (younger, older), 2 sexes (M, F), ages 0..104).

    ILLUSTRATIVE: smooth curves, not fitted to any published data.
    """
    age = np.arange(_MAX_AGE + 1, dtype=float)
    survival = np.stack([np.exp(-(np.maximum(age - 60.0, 0.0) ** 2) / (2 * 15.0 ** 2)),
                         np.exp(-(np.maximum(age - 64.0, 0.0) ** 2) / (2 * 16.0 ** 2))])
    young = np.exp(-((age - 32.0) ** 2) / (2 * 20.0 ** 2)) + 0.45
    old = np.exp(-((age - 58.0) ** 2) / (2 * 22.0 ** 2)) + 0.35
    return np.stack([young, old])[:, None, :] * survival[None, :, :]


@dataclass(frozen=True, eq=False)
class SyntheticPersons:
    """What :func:`write_synthetic_persons` wrote.

    Attributes
    ----------
    folder : Path
        The folder of Parquet parts.
    persons : int
        Persons written.
    practices : int
        Practices covered.
    parts : int
        Parquet parts written.
    """

    folder: Path
    persons: int
    practices: int
    parts: int


def write_synthetic_persons(codes: np.ndarray, sizes: np.ndarray, out: Path, *,
                            fraction: float = 1.0, seed: int = 1,
                            part_rows: int = 1_000_000, practice_column: str = "practice",
                            columns: dict[str, str] | None = None) -> SyntheticPersons:
    """Write SYNTHETIC persons for the given practices as Parquet parts (see module docstring).

    Parameters
    ----------
    codes : numpy.ndarray
        Practice codes (text).
    sizes : numpy.ndarray
        Registered population of each practice (persons; rounded after
        multiplying by ``fraction``).
    out : Path
        A new (or empty) folder; written atomically.
    fraction : float
        Fraction of each practice's population to generate (more than 0).
    seed : int
        Seed of the one ``numpy.random.default_rng`` used.
    part_rows : int
        Persons per part at most (a practice larger than this gets a part of its own).
    practice_column : str
        Name of the practice code column.
    columns : dict, optional
        Names for ``person_id``, ``sex``, ``age`` and ``risk_score`` columns.

    Returns
    -------
    SyntheticPersons
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not fraction > 0:
        raise ValueError(f"fraction is {fraction!r}; expected more than 0")
    names = {"person_id": "person_id", "sex": "sex", "age": "age", "risk_score": "risk_score"}
    names.update(columns or {})
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty")
    rng = np.random.default_rng(seed)
    codes = np.asarray(codes, dtype=str)
    counts = np.floor(np.asarray(sizes, dtype=float) * fraction + 0.5).astype(np.int64)
    old_share = rng.beta(2.0, 2.5, len(codes))
    profiles = age_sex_profiles().reshape(2, -1)
    n_cells = profiles.shape[1]
    n_ages = _MAX_AGE + 1
    part_of = np.cumsum(counts) // max(part_rows, 1)
    starts = np.flatnonzero(np.r_[True, part_of[1:] != part_of[:-1]])
    stops = np.r_[starts[1:], len(codes)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    next_id = 1
    try:
        for i, (a, b) in enumerate(zip(starts, stops, strict=True)):  # a loop over parts
            mix = old_share[a:b, None]
            probs = (1 - mix) * profiles[0] + mix * profiles[1]
            probs /= probs.sum(axis=1, keepdims=True)
            cell_counts = rng.multinomial(counts[a:b], probs)
            flat = cell_counts.reshape(-1)
            cell = np.repeat(np.tile(np.arange(n_cells), b - a), flat)
            practice = np.repeat(np.arange(a, b), cell_counts.sum(axis=1))
            order = rng.permutation(len(cell))
            cell, practice = cell[order], practice[order]
            sex = cell // n_ages
            age = cell % n_ages
            score = rng.lognormal(-2.5 + 0.045 * age, 1.0)
            n = len(cell)
            table = pa.table({
                names["person_id"]: pa.array(np.arange(next_id, next_id + n, dtype=np.int64)),
                practice_column: pa.DictionaryArray.from_arrays(
                    pa.array((practice - a).astype(np.int32)), pa.array(codes[a:b])),
                names["sex"]: pa.DictionaryArray.from_arrays(
                    pa.array(sex.astype(np.int8)), pa.array(["M", "F"])),
                names["age"]: pa.array(age.astype(np.int16)),
                names["risk_score"]: pa.array(excel_round(score, 4)),
            })
            pq.write_table(table.replace_schema_metadata({"synthetic": ILLUSTRATIVE_PROFILE_NOTE}),
                           tmp / f"part-{i:05d}.parquet")
            next_id += n
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return SyntheticPersons(folder=out, persons=next_id - 1, practices=len(codes),
                            parts=len(starts))


def practice_sizes(model_spec: ModelSpec) -> tuple[np.ndarray, np.ndarray, str]:
    """Practice codes, population sizes and practice column name of a model, for synthesis.

    A table-path model gives its ``population`` column; a person-level model
    gives its practices file's ``[population] population`` column (list
    sizes, used only here).
    """
    from capitation.errors import InputError
    from capitation.population import Population, read_practices

    pop = model_spec.population
    if pop is None:
        raise InputError("the model has no [population]", file=model_spec.path)
    if pop.persons is not None or pop.register is not None:
        if pop.practices is None:
            raise InputError("synth-persons takes list sizes from a practices file: "
                             "give [population] practices", file=model_spec.path,
                             key="population.practices")
        # In file order, as before: the seeded persons follow the practices' order.
        sizes = read_practices(pop.practices, id=pop.id, columns={
            pop.population: f"{model_spec.path.name}, key population.population (list sizes "
                            "for synth-persons)"})[pop.population]
        column = pop.persons.practice if pop.persons is not None else pop.id
        return sizes.index.to_numpy(dtype=str), sizes.to_numpy(float), column
    population = Population.from_file(next(iter(pop.files.values())), id=pop.id,
                                      population=pop.population, sheet=pop.sheet)
    return (population.codes.to_numpy(dtype=str),
            population.frame["population"].to_numpy(float), pop.id)
