"""Risk share: marginal rates, a system risk/reward pool, settlement, Monte Carlo, calibration.

Who carries a gain or a loss when the year's outturn differs from plan
(docs/methods (marginal rates, risk reward pool, monte carlo, calibration))::

    import risk_share

    agreement = risk_share.Agreement.from_toml("models/msk_agreement.toml")
    agreement.share(-1_500_000.0)                    # party -> share of a pooled variance
    settlement = agreement.settle("models/msk_outturn.csv")
    risk_share.read_settlement("settlement.xlsx")    # settlement.parties, from its workbook
    simulation = agreement.simulate("models/msk_outturn.csv", n=10_000, cv=0.05, seed=1)
    simulation.summary()                             # mean, p5-p95, VaR and CVaR per party
    calibrated = risk_share.calibrate(agreement, simulation, appetite={"Acute trust": 500_000})
"""

from capitation.errors import InputError, SolverError
from risk_share.agreement import Agreement, Band, MarginalRate, Party
from risk_share.calibration import calibrate
from risk_share.comparison import compare
from risk_share.excel.settlement_reader import read_settlement
from risk_share.lines_from_budget import plan_lines_from_budget
from risk_share.settlement import Settlement
from risk_share.simulation import Simulation

__all__ = [
    "Agreement",
    "Band",
    "InputError",
    "MarginalRate",
    "Party",
    "Settlement",
    "Simulation",
    "SolverError",
    "calibrate",
    "compare",
    "plan_lines_from_budget",
    "read_settlement",
]
