"""Simulated WW cohorts with a known truth.

Two inflow cohorts are drawn: casemanagement (inflow in 2004) and
reintegration coaching (inflow in 2007). Between them the labour market
tightened (registered unemployment fell by about a third) and the October
2006 reform shortened many entitlements, so a naive 2007-minus-2004
comparison mixes the coaching effect with the business cycle. The
generator is built so that every quantity a test or notebook wants to
check against has an exact value:

* leaving benefit follows a Weibull proportional-hazards model, so the true
  Cox log hazard ratios are the generator's coefficients;
* the coaching regime multiplies the exit hazard by ``coaching_hazard_ratio``;
  each person's latent duration is drawn under both regimes with common
  random numbers, so the effect on the treated (RMST at 365 days,
  casemanagement minus coaching, over the coaching cohort) is computed from
  the potential outcomes, not estimated;
* the kind of exit (work or other) is a logistic model in which a bought
  trajectory raises the odds of work, heterogeneously;
* ``sanctioned_12m`` follows a logistic model;
* per row the truth holds the exact probabilities of a sanction and of work
  within 6 and 12 months (with and without a trajectory).

See ``data/synthetic/README.md`` for every column and its generation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit

from anker.schema import BENEFIT_DAYS_PER_CALENDAR_DAY, SCHEMA
from anker.synthetic.effects import potential_outcome_effects
from anker.synthetic.parameters import (  # noqa: F401  (the generator's constants, also public here)
    COHORT_YEARS,
    COHORTS,
    DAILY_WAGE_CAP_2006,
    DAYS_PER_MONTH,
    EDUCATION,
    FOLLOW_UP_YEARS,
    HAZARD_COEFFICIENTS,
    HORIZON_DAYS,
    MIGRATION,
    OCCUPATIONS,
    OFFICES_PER_REGION,
    REGION_WEIGHTS,
    REGIONS,
    SANCTION_COEFFICIENTS,
    SECTORS,
    SEX,
    TRAJECTORY_EFFECT,
    TRAJECTORY_PROPENSITY,
    WEIBULL_LOG_SCALE,
    WEIBULL_SHAPE,
    WORK_EXIT_COEFFICIENTS,
)


@dataclass(frozen=True)
class SyntheticTruth:
    """What the generator knows and an analysis can only estimate.

    Attributes
    ----------
    coaching_hazard_ratio : float
        Multiplier of the exit hazard under coaching.
    coaching_effect_days : float
        RMST(365) under casemanagement minus under coaching, averaged over the
        coaching cohort, in calendar days (> 0: coaching shortens benefit).
    coaching_effect_benefit_days : float
        The same in benefit (working) days: x 261/365.
    horizon : int
        The RMST horizon in calendar days (365).
    coefficients : dict
        True parameters per model: ``"compliance"`` (logistic, with intercept),
        ``"benefit_duration"`` (log hazard ratios), ``"work_exit"`` (log odds of
        work given an exit), ``"trajectory_effect"``, ``"trajectory_propensity"``
        and ``"weibull"`` (shape, log scale). Terms are named as the design
        matrix names them: ``column`` or ``column[level]``.
    coach_effects : dict
        True log hazard ratio of each coach or case manager (mean zero).
    rows : DataFrame
        Per row of ``data`` (same index): the true probabilities ``p_sanction``,
        ``p_work_6m``, ``p_work_12m`` (for the trajectory actually bought),
        ``p_work_12m_without_trajectory``, ``p_work_12m_with_trajectory``,
        ``trajectory_propensity``, the linear predictor ``hazard_lp`` of the
        inflow covariates, the ``hazard_multiplier`` (exp of everything acting
        on the hazard: covariates, regime and coach), and the latent
        potential durations ``duration_casemanagement`` and
        ``duration_coaching`` (whole calendar days, before entitlement end or
        data cut-off).
    effects : DataFrame
        Every estimand from the potential outcomes, by (estimand, outcome); see
        `anker.synthetic.effects.potential_outcome_effects`.
    """

    coaching_hazard_ratio: float
    coaching_effect_days: float
    coaching_effect_benefit_days: float
    horizon: int
    coefficients: dict
    coach_effects: dict
    rows: pd.DataFrame = field(repr=False)
    effects: pd.DataFrame = field(default=None, repr=False)

    def effect(self, estimand: str = "att", outcome: str = "time_on_benefit") -> float:
        """True difference, coaching minus casemanagement (``effects`` row's ``difference``)."""
        return float(self.effects.loc[(estimand, outcome), "difference"])

    def survival(self, times, lp) -> np.ndarray:
        """True P(still on benefit at ``times``) for linear predictors ``lp`` (rows x times)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        lp = np.atleast_1d(np.asarray(lp, dtype=float))
        shape = self.coefficients["weibull"]["shape"]
        scale = np.exp(self.coefficients["weibull"]["log_scale"])
        return np.exp(-np.power(times[None, :] / scale, shape) * np.exp(lp)[:, None])


@dataclass(frozen=True)
class SyntheticPopulation:
    """Result of :func:`simulate_population`: ``data`` and its ``truth``."""

    data: pd.DataFrame
    truth: SyntheticTruth
    seed: int
    n_per_cohort: int

    def __repr__(self) -> str:
        return (f"SyntheticPopulation(n_per_cohort={self.n_per_cohort}, seed={self.seed}, "
                f"coaching_hazard_ratio={self.truth.coaching_hazard_ratio}, "
                f"coaching_effect_days={self.truth.coaching_effect_days:.2f})")


def _linear(coefs: dict, cols: dict[str, np.ndarray], n: int) -> np.ndarray:
    out = np.full(n, coefs.get("intercept", 0.0))
    for term, beta in coefs.items():
        if term == "intercept" or beta == 0.0:
            continue
        if "[" in term:
            name, level = term[:-1].split("[")
            out += beta * (cols[name] == level)
        else:
            out += beta * cols[term]
    return out


def _entitlement_months(work_history: np.ndarray, after_reform: bool) -> np.ndarray:
    """WW entitlement in months from years of work history (simplified rules).

    Before October 2006 the duration rose in steps with work history, from
    6 months to 5 years. After the reform: 3 months, plus one month per year
    of work history for those meeting the 4-out-of-5-years requirement, at most 38.
    """
    if after_reform:
        return np.where(work_history < 4, 3, np.minimum(3 + np.floor(work_history), 38))
    steps = np.array([5, 10, 15, 20, 25, 30, 35, 40])
    months = np.array([6, 12, 18, 24, 30, 36, 42, 51, 60])
    return months[np.searchsorted(steps, work_history, side="right")]


def _draw_people(rng: np.random.Generator, n: int, cohort: int) -> dict[str, np.ndarray]:
    year = COHORT_YEARS[cohort]
    start = np.datetime64(f"{year}-01-01")
    inflow = start + rng.integers(0, 365, n).astype("timedelta64[D]")
    region = rng.choice(len(REGIONS), n, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())
    office_start = np.concatenate([[0], np.cumsum(OFFICES_PER_REGION)[:-1]])
    office = office_start[region] + (rng.random(n) * OFFICES_PER_REGION[region]).astype(int)
    age = 18 + np.floor(49 * rng.beta(1.9, 2.1, n)).astype(int)  # 18..66
    sex = np.where(rng.random(n) < 0.45, "female", "male")
    migration = rng.choice(len(MIGRATION), n, p=[0.76, 0.09, 0.15])
    p_edu = np.where((migration == 2)[:, None], [0.45, 0.40, 0.15], [0.28, 0.46, 0.26])
    education = (rng.random(n)[:, None] > np.cumsum(p_edu, axis=1)[:, :-1]).sum(axis=1)
    # occupation depends on education: columns follow OCCUPATIONS
    p_occ = np.array([[0.10, 0.20, 0.10, 0.17, 0.18, 0.17, 0.02, 0.06],
                      [0.22, 0.18, 0.17, 0.14, 0.10, 0.09, 0.05, 0.05],
                      [0.25, 0.12, 0.15, 0.05, 0.04, 0.03, 0.20, 0.16]])[education]
    occupation = (rng.random(n)[:, None] > np.cumsum(p_occ, axis=1)[:, :-1]).sum(axis=1)
    sector = rng.choice(len(SECTORS), n, p=[0.17, 0.10, 0.17, 0.20, 0.10, 0.12, 0.14])
    share_worked = rng.beta(6, 2, n) * np.where(sex == "female", 0.85, 1.0) * np.where(
        migration == 2, 0.85, 1.0)
    work_history = np.round((age - 17) * share_worked, 1)
    log_wage = np.log([78.0, 102.0, 140.0])[education] + 0.006 * (age - 40) + rng.normal(0, 0.28, n)
    daily_wage = np.round(np.clip(np.exp(log_wage), 25.0, DAILY_WAGE_CAP_2006), 2)
    prior_spells = rng.poisson(0.25 + 0.25 * (education == 0) + 0.012 * (age - 18)
                               + 0.3 * (sector == 6))
    prior_sanctions = rng.binomial(prior_spells, 0.18)
    culpable = (rng.random(n) < 0.06).astype(int)
    lag = np.minimum(np.floor(rng.exponential(9.0, n)), 120).astype(int)
    health = (rng.random(n) < 0.03 + 0.003 * (age - 18)).astype(int)
    # the other cohort's rules too: the weighting estimators of paid days need both
    entitlement, other_rules = (np.round(_entitlement_months(work_history, after_reform=cohort == c)
                                         * DAYS_PER_MONTH).astype(int) for c in (1, 0))
    return {
        "inflow": inflow, "region_idx": region, "office_idx": office, "age": age, "sex": sex,
        "migration_background": np.asarray(MIGRATION)[migration],
        "education": np.asarray(EDUCATION)[education], "occupation_idx": occupation,
        "occupation_group": np.asarray(OCCUPATIONS)[occupation],
        "sector": np.asarray(SECTORS)[sector], "work_history_years": work_history,
        "daily_wage": daily_wage, "prior_spells": prior_spells, "prior_sanctions": prior_sanctions,
        "culpable_dismissal": culpable, "registration_lag_days": lag, "health_limitation": health,
        "entitlement_days": entitlement, "entitlement_days_other_rules": other_rules,
    }


def _assign_coaches(rng: np.random.Generator, office: np.ndarray, cohort: int,
                    caseload: int) -> np.ndarray:
    """Spread each office's clients over coaches with about ``caseload`` clients each."""
    prefix = "CM" if cohort == 0 else "RC"
    coach = np.empty(len(office), dtype=object)
    for o in np.unique(office):
        idx = np.flatnonzero(office == o)
        k = max(1, int(round(len(idx) / caseload)))
        coach[idx] = [f"{prefix}{o + 1:02d}-{j + 1:02d}" for j in rng.integers(0, k, len(idx))]
    return coach.astype(str)


def simulate_population(n_per_cohort: int = 20_000, seed: int = 0, *,
                        coaching_hazard_ratio: float = 1.07,
                        coach_effect_sd: float = 0.10) -> SyntheticPopulation:
    """Simulate a casemanagement (2004) and a coaching (2007) WW inflow cohort.

    Parameters
    ----------
    n_per_cohort : int
        Spells per cohort.
    seed : int
        Seed of the random generator; the result is identical per seed.
    coaching_hazard_ratio : float
        Multiplier of the exit hazard under coaching (> 1: faster exit). The
        default gives an effect of about 7 calendar days (5 benefit days) of
        RMST at 365 days, just above the 3.7-day break-even.
    coach_effect_sd : float
        Standard deviation of the true coach log hazard ratios.

    Returns
    -------
    SyntheticPopulation
        ``.data`` (one row per spell: the schema columns, then ``entitlement_days_other_rules``,
        the entitlement under the other cohort's rules) and ``.truth`` (:class:`SyntheticTruth`).

    Examples
    --------
    >>> import anker
    >>> pop = anker.simulate_population(n_per_cohort=1_000, seed=0)
    >>> pop.data["cohort"].value_counts().to_dict()
    {'casemanagement_2004': 1000, 'coaching_2007': 1000}
    >>> round(pop.truth.coaching_effect_days, 1) > 0
    True
    """
    if not isinstance(n_per_cohort, (int, np.integer)) or n_per_cohort < 1:
        raise ValueError(f"n_per_cohort must be a positive whole number, got {n_per_cohort!r}")
    if not np.isfinite(coaching_hazard_ratio) or coaching_hazard_ratio <= 0:
        raise ValueError(f"coaching_hazard_ratio must be positive, got {coaching_hazard_ratio!r}")
    if not np.isfinite(coach_effect_sd) or coach_effect_sd < 0:
        raise ValueError(f"coach_effect_sd must be >= 0, got {coach_effect_sd!r}")
    rng = np.random.default_rng(seed)
    n = int(n_per_cohort)

    # labour market: region x occupation tightness, shared structure, tighter in 2007
    tight_base = np.exp(rng.normal(np.log(0.45), 0.45, (len(REGIONS), len(OCCUPATIONS))))
    # regions differ widely (3 % to 11 % in 2004), and so do municipalities and months (sd 0.35
    # on the log scale, as wide as the boom's shift): with less, the local figures all but
    # identify the cohort (true-propensity ATT weights: ESS 149 of 20,000 at sd 0.25 / 0.20)
    unemployment_base = np.exp(rng.normal(np.log(0.062), 0.35, len(REGIONS)))
    cycle_tightness = (1.0, 1.45)
    cycle_unemployment = (1.0, 0.67)  # registered unemployment fell by about a third

    parts = []
    for cohort in (0, 1):
        p = _draw_people(rng, n, cohort)
        month_noise = np.exp(rng.normal(0, 0.35, n))
        p["tightness"] = np.round(tight_base[p["region_idx"], p["occupation_idx"]]
                                  * cycle_tightness[cohort] * month_noise, 3)
        rate = (unemployment_base[p["region_idx"]] * cycle_unemployment[cohort]
                * np.exp(rng.normal(0, 0.35, n)))
        p["unemployment_rate"] = np.round(np.clip(rate, 0.015, 0.15), 4)
        p["coach_id"] = _assign_coaches(rng, p["office_idx"], cohort,
                                        caseload=250 if cohort == 0 else 170)
        p["cohort_idx"] = np.full(n, cohort)
        parts.append(p)
    cols = {k: np.concatenate([parts[0][k], parts[1][k]]) for k in parts[0]}
    N = 2 * n
    is_coaching = cols["cohort_idx"] == 1

    coaches = np.unique(cols["coach_id"])
    effects = rng.normal(0.0, coach_effect_sd, len(coaches))
    for prefix in ("CM", "RC"):  # mean zero within each regime
        mask = np.char.startswith(coaches.astype(str), prefix)
        if mask.any():
            effects[mask] -= effects[mask].mean()
    coach_effects = dict(zip(coaches.tolist(), effects.tolist(), strict=True))
    coach_lp = effects[np.searchsorted(coaches, cols["coach_id"])]

    # trajectory: selection on observables
    propensity = expit(_linear(TRAJECTORY_PROPENSITY, cols, N))
    trajectory = (rng.random(N) < propensity).astype(int)
    cols["trajectory"] = trajectory

    # latent durations under both regimes with common random numbers
    hazard_lp = _linear(HAZARD_COEFFICIENTS, cols, N)
    log_hr = np.log(coaching_hazard_ratio)
    # a professional's own effect acts under either regime, so with a hazard
    # ratio of 1 both potential outcomes coincide and the true effect is exactly 0
    regime_lp_cm = coach_lp
    regime_lp_rc = log_hr + coach_lp
    unit_exp = rng.exponential(1.0, N)
    scale = np.exp(WEIBULL_LOG_SCALE)

    def latent_days(lp: np.ndarray) -> np.ndarray:
        return np.maximum(1.0, np.ceil(scale * np.power(unit_exp / np.exp(lp), 1 / WEIBULL_SHAPE)))

    duration_cm = latent_days(hazard_lp + regime_lp_cm)
    duration_rc = latent_days(hazard_lp + regime_lp_rc)
    latent = np.where(is_coaching, duration_rc, duration_cm)
    lp_observed = hazard_lp + np.where(is_coaching, regime_lp_rc, regime_lp_cm)

    # kind of exit and the trajectory's effect on it
    work_lp0 = _linear(WORK_EXIT_COEFFICIENTS, cols, N)
    traj_effect = _linear(TRAJECTORY_EFFECT, cols, N)
    p_work_exit0 = expit(work_lp0)
    p_work_exit1 = expit(work_lp0 + traj_effect)
    p_work_exit = np.where(trajectory == 1, p_work_exit1, p_work_exit0)
    exit_to_work = rng.random(N) < p_work_exit

    # observation: entitlement end and data cut-off
    cutoff = np.array([np.datetime64(f"{y + FOLLOW_UP_YEARS}-01-01") for y in COHORT_YEARS])
    follow_up = (cutoff[cols["cohort_idx"]] - cols["inflow"]).astype(int)
    entitlement = cols["entitlement_days"]
    exited = latent <= np.minimum(entitlement, follow_up)
    exhausted = ~exited & (entitlement <= follow_up)
    duration = np.where(exited, latent, np.where(exhausted, entitlement, follow_up))
    exit_reason = np.where(exited, np.where(exit_to_work, "work", "other"),
                           np.where(exhausted, "exhausted", "censored"))
    work = exit_reason == "work"

    p_sanction = expit(_linear(SANCTION_COEFFICIENTS, cols, N))
    sanctioned = (rng.random(N) < p_sanction).astype(int)

    def p_exit_by(days: int) -> np.ndarray:
        # P(latent exit on or before whole day `days`, within entitlement)
        last = np.minimum(days, entitlement)
        return 1 - np.exp(-np.power(last / scale, WEIBULL_SHAPE) * np.exp(lp_observed))

    exit_6m, exit_12m = p_exit_by(182), p_exit_by(365)

    data = pd.DataFrame({
        "client_id": [f"S{seed % 100000:05d}-{i:07d}" for i in range(N)],
        "cohort": np.asarray(COHORTS)[cols["cohort_idx"]],
        "inflow_date": pd.to_datetime(cols["inflow"]).strftime("%Y-%m-%d"),
        "region": np.asarray(REGIONS)[cols["region_idx"]],
        "office": [f"office_{o + 1:02d}" for o in cols["office_idx"]],
        "coach_id": cols["coach_id"],
        **{k: cols[k] for k in ("age", "sex", "education", "migration_background",
                                "occupation_group", "sector", "work_history_years",
                                "daily_wage", "prior_spells", "prior_sanctions",
                                "culpable_dismissal", "registration_lag_days",
                                "health_limitation", "tightness", "unemployment_rate",
                                "entitlement_days", "trajectory")},
        "sanctioned_12m": sanctioned,
        "duration_days": duration.astype(int),
        "exit_reason": exit_reason,
        "exited": exited.astype(int),
        "work_within_6m": (work & (duration <= 182)).astype(int),
        "work_within_12m": (work & (duration <= 365)).astype(int),
        "entitlement_days_other_rules": cols["entitlement_days_other_rules"],
    })
    data = data[[*SCHEMA, "entitlement_days_other_rules"]]

    rows = pd.DataFrame({
        "p_sanction": p_sanction,
        "p_work_6m": exit_6m * p_work_exit,
        "p_work_12m": exit_12m * p_work_exit,
        "p_work_12m_without_trajectory": exit_12m * p_work_exit0,
        "p_work_12m_with_trajectory": exit_12m * p_work_exit1,
        "trajectory_propensity": propensity,
        "hazard_lp": hazard_lp,
        "hazard_multiplier": np.exp(lp_observed),
        "duration_casemanagement": duration_cm.astype(int),
        "duration_coaching": duration_rc.astype(int),
    }, index=data.index)

    h = HORIZON_DAYS
    effect = float(np.mean(np.minimum(duration_cm[is_coaching], h)
                           - np.minimum(duration_rc[is_coaching], h)))
    coefficients = {
        "compliance": dict(SANCTION_COEFFICIENTS),
        "benefit_duration": dict(HAZARD_COEFFICIENTS),
        "work_exit": dict(WORK_EXIT_COEFFICIENTS),
        "trajectory_effect": dict(TRAJECTORY_EFFECT),
        "trajectory_propensity": dict(TRAJECTORY_PROPENSITY),
        "weibull": {"shape": WEIBULL_SHAPE, "log_scale": WEIBULL_LOG_SCALE},
        "coaching_log_hazard_ratio": float(log_hr),
    }
    truth = SyntheticTruth(
        coaching_hazard_ratio=float(coaching_hazard_ratio),
        coaching_effect_days=effect,
        coaching_effect_benefit_days=effect * BENEFIT_DAYS_PER_CALENDAR_DAY,
        horizon=h,
        coefficients=coefficients,
        coach_effects=coach_effects,
        rows=rows,
        effects=potential_outcome_effects(duration_cm, duration_rc, entitlement, exit_to_work,
                                          is_coaching, h),
    )
    return SyntheticPopulation(data=data, truth=truth, seed=int(seed), n_per_cohort=n)


def write_csv(data: pd.DataFrame, path) -> None:
    """Write records as CSV the same way every time (byte-for-byte per seed).

    Floats are written with at most 4 decimals (the generator rounds them
    already), dates as ISO strings and flags as 0/1; a ``.gz`` suffix
    compresses without a timestamp so the bytes stay reproducible.
    """
    compression = {"method": "gzip", "mtime": 0} if str(path).endswith(".gz") else None
    data.to_csv(path, index=False, float_format="%.10g", lineterminator="\n",
                compression=compression)
