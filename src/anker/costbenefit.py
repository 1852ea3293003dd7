"""Break-even of reintegration coaching and a measured effect set against it.

The IWI report R05/22 (2005) says coaching earns back its structural extra
cost when each guided client leaves WW benefit 3.7 benefit days earlier.
`BreakEven` reproduces that figure from its inputs, `cost_benefit` turns a
cohort comparison into net euros. The derivation is in docs/break_even.md.

Units: money in euros; ``days`` and ``days_saved`` in benefit days
(uitkeringsdagen, working days, 261 a year); comparisons of benefit spells
come in calendar days and are converted with `BENEFIT_DAYS_PER_CALENDAR_DAY`.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

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


@dataclass(frozen=True, repr=False)
class CostBenefit:
    """A measured coaching effect set against the break-even (see `cost_benefit`).

    Days are benefit days per client unless a name says calendar; money in
    euros over the guided clients.
    """

    days_saved: float
    ci: tuple[float, float]
    net_benefit: float
    net_benefit_ci: tuple[float, float]
    p_exceeds_break_even: float
    break_even_days: float
    guided_clients: float
    rmst_difference: float
    horizon: float
    method: str
    ci_method: str
    level: float
    n_boot: int
    boot_days_saved: np.ndarray | None = field(default=None, compare=False)

    @property
    def summary(self) -> pd.DataFrame:
        """The result as a table: estimate, CI and unit per quantity."""
        to_calendar = 1 / BENEFIT_DAYS_PER_CALENDAR_DAY
        rows = {
            "RMST difference (other minus reference)": (
                self.rmst_difference, -self.ci[1] * to_calendar, -self.ci[0] * to_calendar, "calendar days"),
            "days saved per client": (self.days_saved, *self.ci, "benefit days"),
            "break-even per client": (self.break_even_days, np.nan, np.nan, "benefit days"),
            "net benefit": (self.net_benefit, *self.net_benefit_ci, "EUR"),
            "P(days saved > break-even)": (self.p_exceeds_break_even, np.nan, np.nan, "share"),
        }
        table = pd.DataFrame.from_dict(
            rows, orient="index", columns=["estimate", "ci_low", "ci_high", "unit"])
        table.index.name = "quantity"
        return table

    def _header(self) -> str:
        return (f"CostBenefit: {self.method}, horizon {self.horizon:g} calendar days, "
                f"{self.guided_clients:,.0f} guided clients, {self.level:.0%} CI by {self.ci_method}")

    def __repr__(self) -> str:
        return f"{self._header()}\n{self.summary.to_string(float_format=lambda x: f'{x:,.3f}')}"

    def _repr_html_(self) -> str:
        return f"<p>{self._header()}</p>{self.summary.to_html(float_format=lambda x: f'{x:,.3f}')}"


def _boot_replicates(comparison: Any) -> np.ndarray | None:
    boot = getattr(comparison, "boot_differences", None)
    if boot is None:
        return None
    boot = np.asarray(boot, dtype=float)
    if boot.ndim != 1:
        raise ValueError(f"comparison.boot_differences must be 1-D, got shape {boot.shape}")
    finite = np.isfinite(boot)
    if not finite.all():
        warnings.warn(f"cost_benefit: left out {int((~finite).sum())} of {boot.size} bootstrap "
                      "replicates of the RMST difference that are not finite", stacklevel=3)
        boot = boot[finite]
    if boot.size < 2:
        raise ValueError(f"comparison.boot_differences holds {boot.size} finite replicates; need at least 2")
    return boot


def cost_benefit(
    comparison: Any,
    break_even: BreakEven,
    *,
    guided_clients: float | None = None,
    level: float = 0.95,
) -> CostBenefit:
    """Set a measured coaching effect against the break-even days, in days and euros.

    Parameters
    ----------
    comparison : CohortComparison
        A `compare_cohorts` result (or any object with ``rmst_difference``,
        ``ci``, ``boot_differences``, ``horizon`` and ``method``): coaching
        cohort minus reference, RMST in calendar days up to ``horizon``.
    break_even : BreakEven
    guided_clients : float, optional, keyword-only
        Clients guided in the year; default ``break_even.clients``.
    level : float, keyword-only
        Confidence level of the returned intervals.

    Returns
    -------
    CostBenefit
        ``days_saved = -rmst_difference * 261/365`` benefit days per client and
        its ``ci``; ``net_benefit = days_saved * daily_benefit * guided_clients
        - extra_cost`` in euros and its ``net_benefit_ci``; ``break_even_days``
        (``extra_cost / (daily_benefit * guided_clients)``, which is
        ``break_even.days`` for the default ``guided_clients``);
        ``p_exceeds_break_even``; ``ci_method``.

    Notes
    -----
    The intervals are bootstrap percentile intervals, computed per replicate
    (net benefit rises with days saved, so its interval follows). Without
    replicates (``boot_differences is None``) they come from a normal
    approximation whose SE is read off ``comparison.ci``, taken to be a
    symmetric 95 % interval; ``ci_method`` says which was used.

    ``p_exceeds_break_even`` is the share of bootstrap replicates whose days
    saved exceed ``break_even_days`` (without replicates: the normal
    approximation's upper tail). It measures how sure the comparison lets us
    be that the average effect clears the bar: roughly one minus a one-sided
    p-value for "days saved <= break-even". It is *not* the probability that
    coaching works, or pays, for a given client; it is *not* a Bayesian
    posterior probability unless read as one under a flat prior; it ignores
    any uncertainty in the costs, caseload and daily benefit (vary those with
    `BreakEven.sensitivity`); and it is conditional on the horizon: days saved
    after ``comparison.horizon`` are not counted.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cmp = SimpleNamespace(rmst_difference=-10.0, ci=(-16.0, -4.0), horizon=365,
    ...                       method="aipw", boot_differences=np.array([-14.0, -10.0, -6.0, -3.0]))
    >>> cb = cost_benefit(cmp, BreakEven.iwi_2005())
    >>> round(cb.days_saved, 3), cb.p_exceeds_break_even
    (7.151, 0.75)
    """
    if not isinstance(break_even, BreakEven):
        raise TypeError(f"break_even must be a BreakEven, got {type(break_even).__name__}")
    for name in ("rmst_difference", "ci", "horizon"):
        if not hasattr(comparison, name):
            raise TypeError(f"comparison has no attribute {name!r}; pass a compare_cohorts result")
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    rmst_difference = float(comparison.rmst_difference)
    if not math.isfinite(rmst_difference):
        raise ValueError(f"comparison.rmst_difference must be finite, got {rmst_difference!r}")
    guided = break_even.clients if guided_clients is None else _positive("guided_clients", guided_clients)
    euros_per_day_saved = break_even.daily_benefit * guided
    threshold = break_even.extra_cost / euros_per_day_saved
    days_saved = -rmst_difference * BENEFIT_DAYS_PER_CALENDAR_DAY
    alpha = 1 - level

    boot = _boot_replicates(comparison)
    if boot is not None:
        boot_days = -boot * BENEFIT_DAYS_PER_CALENDAR_DAY
        boot_net = boot_days * euros_per_day_saved - break_even.extra_cost
        ci = tuple(np.quantile(boot_days, [alpha / 2, 1 - alpha / 2]))
        net_ci = tuple(np.quantile(boot_net, [alpha / 2, 1 - alpha / 2]))
        p_exceeds = float(np.mean(boot_days > threshold))
        ci_method, n_boot = "bootstrap percentile", int(boot.size)
    else:
        low, high = (float(x) for x in comparison.ci)
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise ValueError(f"comparison.ci must be a finite (low, high) pair, got {comparison.ci!r}")
        se_days = (high - low) / (2 * stats.norm.ppf(0.975)) * BENEFIT_DAYS_PER_CALENDAR_DAY
        z = stats.norm.ppf(1 - alpha / 2)
        ci = (days_saved - z * se_days, days_saved + z * se_days)
        net_ci = tuple(d * euros_per_day_saved - break_even.extra_cost for d in ci)
        p_exceeds = float(stats.norm.sf(threshold, loc=days_saved, scale=se_days)) if se_days > 0 \
            else float(days_saved > threshold)
        ci_method, n_boot, boot_days = "normal approximation from comparison.ci (no bootstrap)", 0, None

    return CostBenefit(
        days_saved=days_saved,
        ci=(float(ci[0]), float(ci[1])),
        net_benefit=days_saved * euros_per_day_saved - break_even.extra_cost,
        net_benefit_ci=(float(net_ci[0]), float(net_ci[1])),
        p_exceeds_break_even=p_exceeds,
        break_even_days=threshold,
        guided_clients=guided,
        rmst_difference=rmst_difference,
        horizon=float(comparison.horizon),
        method=str(getattr(comparison, "method", "unknown")),
        ci_method=ci_method,
        level=level,
        n_boot=n_boot,
        boot_days_saved=boot_days,
    )
