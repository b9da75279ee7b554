"""Needs versus use: where a system uses more than its population's need predicts.

Set each unit's observed activity beside the activity its need predicts,
place it on a funnel plot, compare it with similar units, and value the
difference (the opportunity) in activity and pounds:

=================  ============================================================
``activity``       the activity table: :func:`read_activity` → :class:`Activity`
``expected``       expected activity from need: weighted population share or
                   indirect standardisation; standardised ratios
``funnel``         :func:`funnel`: Spiegelhalter's funnel plots with overdispersion
``peers``          :func:`find_peers` (Mahalanobis) and :func:`peer_benchmarks`
``decomposition``  LMDI-I split of a spend gap into access, intensity and price
``opportunity``    :func:`value_opportunity` → :class:`Opportunity`
``model_section``  the ``[opportunity]`` section of a model file → :class:`OpportunitySpec`
``needs_and_use``  the section run on a model's results → :class:`NeedsAndUse`
                   (``results.needs_and_use``, ``results.opportunity_table``)
``synthetic``      :func:`synthetic_activity`: a SYNTHETIC activity table, seeded
=================  ============================================================

>>> from capitation.opportunity import (read_activity, expected_by_weighted_population,
...                                     value_opportunity)   # doctest: +SKIP
>>> activity = read_activity("activity.csv", practices=population)        # doctest: +SKIP
>>> observed = activity.table("activity", population.codes)               # doctest: +SKIP
>>> expected = expected_by_weighted_population(observed, allocation)      # doctest: +SKIP
>>> result = value_opportunity(activity, expected, indicators)            # doctest: +SKIP
>>> result.summary()                                                      # doctest: +SKIP
"""

from capitation.opportunity.activity import ACTIVITY_COLUMNS, Activity, read_activity
from capitation.opportunity.decomposition import lmdi, log_mean, spend_decomposition
from capitation.opportunity.expected import (
    expected_by_age_sex,
    expected_by_weighted_population,
    poisson_interval,
    population_by_age_band,
    reference_rates,
    standardised_ratios,
)
from capitation.opportunity.funnel import FUNNEL_COLUMNS, Funnel, funnel
from capitation.opportunity.model_section import OpportunitySpec
from capitation.opportunity.needs_and_use import NeedsAndUse
from capitation.opportunity.opportunity import Opportunity, value_opportunity
from capitation.opportunity.peers import BENCHMARKS, Peers, find_peers, peer_benchmarks
from capitation.opportunity.synthetic import SYNTHETIC_SERVICES, synthetic_activity

__all__ = [
    "ACTIVITY_COLUMNS",
    "Activity",
    "BENCHMARKS",
    "FUNNEL_COLUMNS",
    "Funnel",
    "NeedsAndUse",
    "Opportunity",
    "OpportunitySpec",
    "Peers",
    "SYNTHETIC_SERVICES",
    "expected_by_age_sex",
    "expected_by_weighted_population",
    "find_peers",
    "funnel",
    "lmdi",
    "log_mean",
    "peer_benchmarks",
    "poisson_interval",
    "population_by_age_band",
    "read_activity",
    "reference_rates",
    "spend_decomposition",
    "standardised_ratios",
    "synthetic_activity",
    "value_opportunity",
]
