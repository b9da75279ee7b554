"""The register path's practice population: GP register counts, levels from a practices file.

docs/methods/weighted-capitation.md#from-the-register: each practice's population is the sum of its
registered
patients n(p, s, a) over sex and age; the levels above the practices (ICB,
sub-ICB, ...) come from a practices file, one row per practice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from capitation.errors import InputError
from capitation.population import LevelSpec, Population, level_name, read_practices
from capitation.register.read import missing_practices, read_register
from capitation.sources import RegisterPopulation

__all__ = ["register_population"]


def register_population(register: str | Path, practices: str | Path | None = None, *,
                        id: str = "practice",
                        levels: Sequence[LevelSpec] = ()) -> RegisterPopulation:
    """Read the GP register and the practices file into a register-path population.

    Parameters
    ----------
    register : str or Path
        NHS Digital's GP register CSV (:func:`~capitation.register.read.read_register`).
    practices : str or Path, optional
        CSV with one row per practice: its code (column ``id``) and one column
        per level. Every practice of the register must be there; other
        practices are not used. None: no levels above the practices.
    id : str
        The practices file's column of practice codes.
    levels : sequence of str or list of str
        Level columns of the practices file, innermost first (a list of
        columns is one level whose codes join theirs with "/").

    Returns
    -------
    RegisterPopulation
        The practices (population = registered patients, persons) with their
        level codes, and the long register.

    Raises
    ------
    InputError
        Naming the register or the practices file, as their readers do, or
        the practices file when a practice of the register is missing from it.
    """
    frame = read_register(Path(register))
    patients = frame.groupby("practice")["patients"].sum().astype(float)
    table = pd.DataFrame({"population": patients})
    table.index.name = "practice"
    names: list[str] = []
    if practices is not None:
        codes = read_practices(practices, id=id, levels=levels)
        missing = table.index.difference(codes.index)
        if len(missing):
            raise InputError(f"{missing_practices(missing)} (expected a row for every practice "
                             "of the register)", file=practices, column=id)
        names = [level_name(lv) for lv in levels]
        for name in names:
            table[name] = codes[name].reindex(table.index)
    population = Population.from_frame(table.reset_index(), id="practice",
                                       population="population", levels=names)
    return RegisterPopulation(population, frame)
