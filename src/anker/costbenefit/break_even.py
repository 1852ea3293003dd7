"""Break-even of reintegration coaching: the IWI's 3.7 benefit days from their inputs.

The IWI report R05/22 (2005) says coaching earns back its structural extra
cost when each guided client leaves WW benefit 3.7 benefit days earlier.
`BreakEven` reproduces that figure from its inputs, with the capacity of the
coaches and a sensitivity grid; `anker.costbenefit.pricing` sets a measured
effect against it. The derivation is in docs/break_even.md.

Units: money in euros; ``days`` and ``days_saved`` in benefit days
(uitkeringsdagen, working days, 261 a year); comparisons of benefit spells
come in calendar days and are converted with `BENEFIT_DAYS_PER_CALENDAR_DAY`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from anker.schema import (  # noqa: F401  (part of this module's namespace)
    BENEFIT_DAYS_PER_CALENDAR_DAY,
    BENEFIT_DAYS_PER_YEAR,
    CALENDAR_DAYS_PER_YEAR,
)

#: parameters varied by `BreakEven.sensitivity`, in table order
SENSITIVITY_PARAMETERS = ("caseload", "coaches", "extra_cost", "daily_benefit")
DEFAULT_CHANGES = (-0.2, -0.1, 0.0, 0.1, 0.2)


def _positive(name: str, value: Any) -> float:
    """``value`` as a float, or a ValueError naming ``name`` if it is not a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, Real | np.integer | np.floating):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


@dataclass(frozen=True)
class CapacityGap:
    """Hand-overs a year against places: ``shortfall`` and ``extra_coaches`` are 0 if none."""

    inflow: float
    places: float
    shortfall: float
    coaches_needed: int
    extra_coaches: int


def capacity_gap(inflow: float, *, coaches: float, caseload: float) -> CapacityGap:
    """Compare a year's hand-overs with the places the coaches have.

    Parameters
    ----------
    inflow : float
        Claimants handed over for coaching in a year (IWI 2005: CWI expects 120,000).
    coaches : float
        Budgeted coaches (IWI 2005: 450).
    caseload : float
        Normed caseload, clients per coach per year (IWI 2005: 170).

    Examples
    --------
    >>> gap = capacity_gap(120_000, coaches=450, caseload=170)
    >>> gap.places, gap.shortfall, gap.coaches_needed, gap.extra_coaches
    (76500.0, 43500.0, 706, 256)
    """
    inflow = _positive("inflow", inflow)
    coaches = _positive("coaches", coaches)
    caseload = _positive("caseload", caseload)
    places = coaches * caseload
    # round() first so that e.g. 340 / 170 = 2.0000000000000004 does not become 3
    needed = math.ceil(round(inflow / caseload, 9))
    return CapacityGap(
        inflow=inflow,
        places=places,
        shortfall=max(inflow - places, 0.0),
        coaches_needed=needed,
        extra_coaches=max(needed - math.ceil(round(coaches, 9)), 0),
    )


def earn_back_share(*, execution_cost: float, benefit_expenditure: float) -> float:
    """Share of WW benefit expenditure that must be saved to earn back an execution cost.

    The IWI report states that coaching pays for its full execution cost if
    WW benefit expenditure falls by 1 %; it does not print the two amounts,
    so both are inputs here (euros over the same year).

    Returns
    -------
    float
        ``execution_cost / benefit_expenditure`` as a fraction (0.01 is 1 %).

    Examples
    --------
    >>> earn_back_share(execution_cost=50e6, benefit_expenditure=5e9)  # illustrative amounts
    0.01
    """
    execution_cost = _positive("execution_cost", execution_cost)
    benefit_expenditure = _positive("benefit_expenditure", benefit_expenditure)
    return execution_cost / benefit_expenditure


@dataclass(frozen=True)
class BreakEven:
    """Benefit days each guided client must leave WW earlier to pay for coaching.

    ``days = extra_cost / (coaches * caseload * daily_benefit)``.

    Parameters
    ----------
    extra_cost : float
        Structural extra execution cost of coaching, euros a year.
    coaches : float
        Number of coaches.
    caseload : float
        Clients per coach per year.
    daily_benefit : float
        Average WW benefit paid per benefit day (working day), euros.

    Examples
    --------
    >>> be = BreakEven.iwi_2005()
    >>> round(be.days, 2), be.clients, round(be.cost_per_client, 2), be.coaches_needed(120_000)
    (3.7, 76500.0, 196.08, 706)
    >>> round(be.daily_benefit, 2)
    52.99
    """

    extra_cost: float
    coaches: float
    caseload: float
    daily_benefit: float

    def __post_init__(self) -> None:
        for name in ("extra_cost", "coaches", "caseload", "daily_benefit"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        # each input may be fine and their products still under- or overflow a float
        clients = self.coaches * self.caseload
        days = self.extra_cost / clients / self.daily_benefit if clients > 0 else math.inf
        if not (clients > 0 and math.isfinite(clients) and 0 < days < math.inf):
            raise ValueError("extra_cost, coaches, caseload and daily_benefit: their products "
                             "lie outside the range of a float (a break-even of 0 or infinitely "
                             f"many days); got {self.extra_cost!r}, {self.coaches!r}, "
                             f"{self.caseload!r}, {self.daily_benefit!r}")

    @classmethod
    def from_days(
        cls, days: float, *, extra_cost: float, coaches: float, caseload: float
    ) -> BreakEven:
        """The break-even whose daily benefit is implied by a stated number of benefit days.

        Examples
        --------
        >>> round(BreakEven.from_days(3.7, extra_cost=15e6, coaches=450, caseload=170).daily_benefit, 4)
        52.9942
        """
        days = _positive("days", days)
        clients = _positive("coaches", coaches) * _positive("caseload", caseload)
        daily_benefit = _positive("extra_cost", extra_cost) / (clients * days)
        return cls(extra_cost=extra_cost, coaches=coaches, caseload=caseload, daily_benefit=daily_benefit)

    @classmethod
    def iwi_2005(cls) -> BreakEven:
        """The IWI report R05/22 figures: EUR 15 million, 450 coaches, caseload 170, 3.7 days.

        The report gives 3.7 days but not the daily benefit; it is implied:
        15e6 / (76,500 * 3.7) = EUR 52.99 per benefit day.
        """
        return cls.from_days(3.7, extra_cost=15e6, coaches=450, caseload=170)

    @property
    def clients(self) -> float:
        """Clients the coaches guide in a year (coaches x caseload)."""
        return self.coaches * self.caseload

    @property
    def cost_per_client(self) -> float:
        """Extra cost per guided client, euros."""
        return self.extra_cost / self.clients

    @property
    def days(self) -> float:
        """Break-even: benefit days each guided client must leave benefit earlier."""
        return self.cost_per_client / self.daily_benefit

    @property
    def calendar_days(self) -> float:
        """`days` in calendar days (x 365/261), for comparison with spell durations."""
        return self.days / BENEFIT_DAYS_PER_CALENDAR_DAY

    def coaches_needed(self, inflow: float) -> int:
        """Coaches needed to guide ``inflow`` clients a year at this caseload, rounded up."""
        return capacity_gap(inflow, coaches=self.coaches, caseload=self.caseload).coaches_needed

    def capacity_gap(self, inflow: float) -> CapacityGap:
        """`capacity_gap` for this break-even's coaches and caseload."""
        return capacity_gap(inflow, coaches=self.coaches, caseload=self.caseload)

    def sensitivity(
        self, *, changes: tuple[float, ...] | list[float] = DEFAULT_CHANGES
    ) -> pd.DataFrame:
        """Break-even days when one input at a time changes by a relative amount.

        Parameters
        ----------
        changes : sequence of float, keyword-only
            Relative changes, e.g. -0.2 for 20 % lower; each must be above -1.

        Returns
        -------
        pandas.DataFrame
            One row per parameter and change: ``parameter``, ``change``
            (relative), ``value`` (the changed input), ``days`` (benefit days)
            and ``days_change`` (days minus the base days).

        Examples
        --------
        >>> grid = BreakEven.iwi_2005().sensitivity(changes=[-0.2, 0.2])
        >>> grid.loc[grid.parameter == "caseload", "days"].round(3).tolist()
        [4.625, 3.083]
        """
        changes = [float(c) for c in changes]
        if not changes:
            raise ValueError("changes must hold at least one relative change")
        bad = [c for c in changes if not math.isfinite(c) or c <= -1]
        if bad:
            raise ValueError(f"changes must be finite and above -1 (an input cannot drop to 0 or below), got {bad[0]!r}")
        rows = []
        for parameter in SENSITIVITY_PARAMETERS:
            base = getattr(self, parameter)
            for change in changes:
                value = base * (1 + change)
                rows.append((parameter, change, value, dataclasses.replace(self, **{parameter: value}).days))
        grid = pd.DataFrame(rows, columns=["parameter", "change", "value", "days"])
        grid["days_change"] = grid["days"] - self.days
        return grid

    def tornado_table(self, *, changes: tuple[float, ...] | list[float] = (-0.2, 0.2)) -> pd.DataFrame:
        """Lowest and highest break-even days per parameter over ``changes``, widest range first.

        Columns ``low``, ``high`` (benefit days) and ``range``; indexed by parameter.
        """
        grid = self.sensitivity(changes=changes)
        table = grid.groupby("parameter", sort=False)["days"].agg(low="min", high="max")
        table["range"] = table["high"] - table["low"]
        return table.sort_values("range", ascending=False, kind="stable")
