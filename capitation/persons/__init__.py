"""Person-level populations: risk tiers, patient-specific budgets, opportunity.

Method: docs/methods/weighted-capitation.md#from-people.

Person rows (person_id, practice, sex, age, and a risk score or a given risk
tier) are validated at the edge (:mod:`capitation.persons.read`), ranked and
banded into tiers (:mod:`capitation.persons.tiers`), counted into cells of
practice × sex × age × tier (:mod:`capitation.persons.weights`), and summed to
practices so that the practice-level pipeline (targets, pace of change, level
tables) runs unchanged. Two engines give the same figures to the penny:
pandas (:mod:`capitation.persons.engine`, which also holds what both share;
:mod:`capitation.persons.results` holds what the run adds) and Dask
(:mod:`capitation.persons.dask_engine`).
"""

from capitation.persons.opportunity import Opportunity
from capitation.persons.tiers import RiskTier

__all__ = ["Opportunity", "RiskTier"]
