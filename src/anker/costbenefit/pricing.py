"""A measured coaching effect set against the break-even, in benefit days and euros.

`cost_benefit` turns a cohort comparison (calendar days) into benefit days
saved per guided client, net euros with a CI and the probability that the
effect exceeds the break-even of `anker.costbenefit.break_even.BreakEven`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.costbenefit.break_even import BreakEven, _positive
from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY


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
    time_unit: str = "calendar days"
    benefit_days_per_unit: float = BENEFIT_DAYS_PER_CALENDAR_DAY
    scale: str = "time_on_benefit"
    resampling: str = "spells"

    @property
    def scale_text(self) -> str:
        """Which days were priced, in words."""
        if self.scale == "paid_days":
            return "paid days (benefit actually paid: min(time on benefit, entitlement, horizon))"
        return ("time on benefit (latent: days after entitlement end count, although they are "
                "not paid)")

    @property
    def summary(self) -> pd.DataFrame:
        """The result as a table: estimate, CI and unit per quantity."""
        to_unit = 1 / self.benefit_days_per_unit
        rows = {
            "RMST difference (other minus reference)": (
                self.rmst_difference, -self.ci[1] * to_unit, -self.ci[0] * to_unit, self.time_unit),
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
        return (f"CostBenefit: {self.method}, horizon {self.horizon:g} {self.time_unit}, "
                f"{self.guided_clients:,.0f} guided clients, {self.level:.0%} CI by {self.ci_method} "
                f"(resampling {self.resampling}); priced: {self.scale_text}")

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
    level: float | None = None,
) -> CostBenefit:
    """Set a measured coaching effect against the break-even days, in days and euros.

    Parameters
    ----------
    comparison : CohortComparison
        A `compare_cohorts` result (or any object with ``rmst_difference``,
        ``ci``, ``boot_differences``, ``horizon`` and ``method``): coaching
        cohort minus reference, RMST up to ``horizon`` in the comparison's
        ``time_unit`` (calendar days when it has none).
    break_even : BreakEven
    guided_clients : float, optional, keyword-only
        Clients guided in the year; default ``break_even.clients``.
    level : float, keyword-only
        Confidence level of the returned intervals; default the comparison's
        ``level`` (0.95 when it has none).

    Returns
    -------
    CostBenefit
        ``days_saved = -rmst_difference * days per unit * 261/365`` benefit days per client and
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
    approximation with the comparison's ``se`` (or, without one, the SE read
    off ``comparison.ci`` at ``comparison.level``); ``ci_method`` says which
    was used. The days priced are the comparison's outcome scale: paid days
    when it was made with ``outcome="paid_days"``, otherwise the latent time
    on benefit, which also counts days after entitlement end that are not
    paid (``scale`` and the summary say which).

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
    own_level = getattr(comparison, "level", None)
    level = float(level if level is not None else own_level if own_level is not None else 0.95)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    rmst_difference = float(comparison.rmst_difference)
    if not math.isfinite(rmst_difference):
        raise ValueError(f"comparison.rmst_difference must be finite, got {rmst_difference!r}")
    guided = break_even.clients if guided_clients is None else _positive("guided_clients", guided_clients)
    euros_per_day_saved = break_even.daily_benefit * guided
    threshold = break_even.extra_cost / euros_per_day_saved
    unit = getattr(comparison, "time_unit", None)
    to_benefit = BENEFIT_DAYS_PER_CALENDAR_DAY if unit is None else unit.benefit_days_per_unit
    days_saved = -rmst_difference * to_benefit
    alpha = 1 - level

    boot = _boot_replicates(comparison)
    if boot is not None:
        boot_days = -boot * to_benefit
        boot_net = boot_days * euros_per_day_saved - break_even.extra_cost
        ci = tuple(np.quantile(boot_days, [alpha / 2, 1 - alpha / 2]))
        net_ci = tuple(np.quantile(boot_net, [alpha / 2, 1 - alpha / 2]))
        p_exceeds = float(np.mean(boot_days > threshold))
        ci_method, n_boot = "bootstrap percentile", int(boot.size)
    else:
        se = getattr(comparison, "se", None)
        if se is not None and math.isfinite(float(se)) and float(se) >= 0:
            se_days = float(se) * to_benefit
            how = "normal approximation with comparison.se (no bootstrap)"
        else:
            low, high = (float(x) for x in comparison.ci)
            if not (math.isfinite(low) and math.isfinite(high)) or high < low:
                raise ValueError(f"comparison.ci must be a finite (low, high) pair, got {comparison.ci!r}")
            ci_level = float(own_level) if own_level is not None else 0.95
            se_days = ((high - low) / (2 * stats.norm.ppf(0.5 + ci_level / 2))
                       * to_benefit)
            how = f"normal approximation from comparison.ci at level {ci_level:g} (no bootstrap)"
        z = stats.norm.ppf(1 - alpha / 2)
        ci = (days_saved - z * se_days, days_saved + z * se_days)
        net_ci = tuple(d * euros_per_day_saved - break_even.extra_cost for d in ci)
        p_exceeds = float(stats.norm.sf(threshold, loc=days_saved, scale=se_days)) if se_days > 0 \
            else float(days_saved > threshold)
        ci_method, n_boot, boot_days = how, 0, None

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
        scale=str(getattr(comparison, "outcome", "time_on_benefit")),
        resampling=(f"whole clusters of {comparison.cluster_col!r}"
                    if getattr(comparison, "cluster_col", None) else "spells"),
        time_unit="calendar days" if unit is None else unit.label,
        benefit_days_per_unit=to_benefit,
    )
