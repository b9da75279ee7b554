"""The real NHS England practice weighted populations (tests/data/nhse/README.md).

Facts checked: every weighted-population column sums to the sheet's projected
population total, and Final PMC WP = 0.85 × Primary Medical Care WP + 0.15 ×
Health Ineq WP for every practice (NHS England's 15% health-inequalities blend),
computed through the toolkit's own blend code on the CSV and both workbook
sheets, whose headers differ (stray spaces, "Primary Medical Care need").
"""

from pathlib import Path

import numpy as np
import pytest

from capitation.needs import Component, NeedsFormula
from capitation.needs.weighting import weighted_counts
from capitation.population import Population

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "capitation" / "data" / "gp_practice_weighted_populations_2025_26.csv"
WORKBOOK = (ROOT / "tests" / "data" / "nhse"
            / "gp_practice_weighted_populations_2023_24_and_2024_25.xlsx")
WP_COLUMNS = ["G&A WP", "CS WP", "MH WP", "Mat WP", "Health Ineq WP", "Prescr WP", "Final WP",
              "Final PMC WP"]

SOURCES = [
    # (path, sheet, population column, PMC column, ICB column, practices)
    (CSV, None, "Population", "Primary Medical Care WP", "ICB", 6_348),
    (WORKBOOK, "GP_wp_202324", "pop 2023/24", "Primary Medical Care need", "ICB23", 6_553),
    (WORKBOOK, "GP_wp_202425", "pop 2024/25", "Primary Medical Care need", "ICB23", 6_553),
]


@pytest.mark.parametrize(("path", "sheet", "pop", "pmc", "icb", "n"), SOURCES)
def test_weighted_population_columns_sum_to_population(path, sheet, pop, pmc, icb, n):
    # Names as a user types them: "Final WP" matches the workbook's "Final WP ".
    columns = [*WP_COLUMNS, pmc]
    population = Population.from_file(path, id="Practice_Code", population=pop,
                                      levels=[icb], columns=columns, sheet=sheet)
    frame = population.frame
    assert len(frame) == n
    assert frame[icb].nunique() == 42
    total = frame["population"].sum()
    for column in columns:
        assert frame[column].sum() == pytest.approx(total, abs=0.01), column


@pytest.mark.parametrize(("path", "sheet", "pop", "pmc", "icb", "n"), SOURCES)
def test_final_pmc_identity_through_blend_code(path, sheet, pop, pmc, icb, n):
    population = Population.from_file(path, id="Practice_Code", population=pop,
                                      columns=[pmc, "Health Ineq WP", "Final PMC WP"],
                                      sheet=sheet)
    formula = NeedsFormula((Component("pmc", share=1.0,
                                      blend={pmc: 0.85, "Health Ineq WP": 0.15}),))
    blend = weighted_counts(population, formula)["pmc"]
    published = population.frame["Final PMC WP"]
    assert np.abs(blend - published).max() < 1e-4


def test_2025_26_national_population():
    population = Population.from_file(CSV, id="Practice_Code", population="Population")
    assert round(population.frame["population"].sum()) == 63_849_324
