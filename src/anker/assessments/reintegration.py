"""Reïntegratietoets (RT): the expected gain of a reintegration trajectory for a client."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from anker.assessments._base import (
    Assessment,
    array_from_json,
    coefficient_table,
    is_dask_frame,
    numeric_values,
    to_json_array,
)
from anker.assessments.factors import top_contributions
from anker.models.design import check_rank
from anker.models.logistic import LogisticFit, fit_logistic

# IWI 2005: EUR 15 million / (76,500 clients x 3.7 benefit days)
DAILY_BENEFIT_IWI_2005 = 15e6 / (76_500 * 3.7)


ADVICE = ("trajectory", "no trajectory", "no advice: outside support")
# Who gains most from a trajectory: age, education, health, work history, earlier spells and
# the local labour market. Interacting every feature doubles the parameters and made the
# individual gains noisy at WW-cohort sizes (decile spread 5-10x the true one).
EFFECT_MODIFIERS = ("age", "education", "health_limitation", "work_history_years",
                    "prior_spells", "tightness")


class OutsideSupportWarning(UserWarning):
    """Clients whose propensity lies outside the common support of the fitting data."""


class ReintegrationTest(Assessment):
    """Conditional effect of a trajectory on work within 12 months, from observational data.

    The outcome model is a logistic regression of ``outcome_col`` on the
    features, the trajectory flag and trajectory x effect-modifier
    interactions (with ``effect_modifiers=None`` every feature interacts,
    which is the same as two separate outcome models). A propensity model of the trajectory on the same
    features gives the common support: clients whose propensity lies outside
    the range seen in both the treated and the untreated (or outside
    ``[trim, 1 - trim]``) get no gain (NaN) unless ``extrapolate=True``, and
    their number is reported, never silently filled in.

    The gain is the change in P(work within 12 months) a trajectory brings
    (treated minus untreated), identified under no unmeasured confounding.
    The advice is ``"trajectory"`` where ``gain x benefit_days_per_work_exit x
    daily_benefit`` exceeds ``trajectory_cost``.

    Parameters
    ----------
    features : list of str, optional
        Confounders and effect modifiers; by default the schema's inflow features.
    treatment_col, outcome_col : str
        0/1 trajectory flag and 0/1 outcome.
    trim : float
        Propensities below ``trim`` or above ``1 - trim`` are outside support.
    trajectory_cost : float
        Cost of one trajectory in EUR.
    benefit_days_per_work_exit : float
        Benefit days saved when a client leaves for work thanks to the trajectory
        (default 261: one year of benefit days).
    daily_benefit : float
        EUR per benefit day (default: the IWI 2005 implied EUR 52.99).
    l2 : float
        Ridge penalty of the outcome and propensity models (0: maximum likelihood).
    effect_modifiers : list of str, None or "default"
        Features whose effect on the outcome may differ with a trajectory. The
        default is age, education, health limitation, work history, earlier
        spells and tightness (those of them among the features); ``None``
        lets every feature interact (more flexible, much noisier per client).
    interaction_l2 : float
        Ridge penalty on the interactions per standard deviation of each
        column (0: none).
    advice_confidence : float
        One-sided confidence with which the gain must pay for the trajectory
        before it is advised (0.5: the point estimate decides).

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=3_000, seed=1).data
    >>> rt = anker.ReintegrationTest().fit(df)
    >>> gain = rt.predict_gain(df)
    >>> bool(gain.notna().mean() > 0.9)
    True
    """

    name: ClassVar[str] = "reintegration"
    ratio_name: ClassVar[str] = "odds_ratio"

    def __init__(self, *, features=None, treatment_col: str = "trajectory",
                 outcome_col: str = "work_within_12m", trim: float = 0.01,
                 trajectory_cost: float = 1_000.0, benefit_days_per_work_exit: float = 261.0,
                 daily_benefit: float = DAILY_BENEFIT_IWI_2005, l2: float = 0.0,
                 effect_modifiers: Sequence[str] | str | None = "default",
                 interaction_l2: float = 0.0, advice_confidence: float = 0.95,
                 allow_protected: bool = False, protected=None) -> None:
        extra = {} if protected is None else {"protected": protected}
        super().__init__(features=features, allow_protected=allow_protected, **extra)
        if not 0 <= trim < 0.5:
            raise ValueError(f"trim must lie in [0, 0.5), got {trim!r}")
        for name, value in (("trajectory_cost", trajectory_cost),
                            ("benefit_days_per_work_exit", benefit_days_per_work_exit),
                            ("daily_benefit", daily_benefit)):
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2!r}")
        if isinstance(effect_modifiers, str) and effect_modifiers != "default":
            raise TypeError("effect_modifiers: give a list of column names, None or 'default'")
        if effect_modifiers == "default":
            modifiers = [f for f in EFFECT_MODIFIERS if f in self._features] or list(self._features)
        elif effect_modifiers is None:
            modifiers = list(self._features)
        else:
            modifiers = list(effect_modifiers)
        unknown = [m for m in modifiers if m not in self._features]
        if unknown:
            raise ValueError(f"effect_modifiers must be among the features; not features: {unknown}")
        self.effect_modifiers = modifiers
        if not np.isfinite(interaction_l2) or interaction_l2 < 0:
            raise ValueError(f"interaction_l2 must be >= 0, got {interaction_l2!r}")
        self.interaction_l2 = float(interaction_l2)
        if not 0.5 <= advice_confidence < 1:
            raise ValueError(f"advice_confidence must lie in [0.5, 1), got {advice_confidence!r}")
        self.advice_confidence = float(advice_confidence)
        self.treatment_col = treatment_col
        self.outcome_col = outcome_col
        self.trim = float(trim)
        self.trajectory_cost = float(trajectory_cost)
        self.benefit_days_per_work_exit = float(benefit_days_per_work_exit)
        self.daily_benefit = float(daily_benefit)
        self.l2 = float(l2)
        self.outcome_fit_: LogisticFit | None = None
        self.propensity_fit_: LogisticFit | None = None
        self.support_: tuple[float, float] | None = None
        self.overlap_: dict[str, float] | None = None
        self._x_mean: np.ndarray | None = None

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "treatment_col": self.treatment_col,
                "outcome_col": self.outcome_col, "trim": self.trim,
                "trajectory_cost": self.trajectory_cost,
                "benefit_days_per_work_exit": self.benefit_days_per_work_exit,
                "daily_benefit": self.daily_benefit, "l2": self.l2,
                "effect_modifiers": list(self.effect_modifiers),
                "interaction_l2": self.interaction_l2,
                "advice_confidence": self.advice_confidence}

    @property
    def _modifier_columns(self) -> np.ndarray:
        """Design columns that interact with the trajectory."""
        owners = np.asarray(self._require_fitted().term_features)
        return np.flatnonzero(np.isin(owners, self.effect_modifiers))

    def _outcome_design(self, X: np.ndarray, treated: np.ndarray) -> np.ndarray:
        return np.column_stack([X, treated, X[:, self._modifier_columns] * treated[:, None]])

    def fit(self, df: pd.DataFrame):
        """Fit the outcome and propensity models and the common support; returns self.
        (A Dask frame is refused with an error saying what to do: it needs the rows.)"""
        if is_dask_frame(df):
            return self._fit_dask(df)
        X = self._learn(df, [self.treatment_col, self.outcome_col])
        t = numeric_values(df, self.treatment_col, what="treatment flag")
        y = numeric_values(df, self.outcome_col, what="outcome")
        n_treated = int(t.sum())
        if n_treated == 0 or n_treated == len(t):
            raise ValueError(f"{self.treatment_col}: all rows are {int(t[0])}; the effect of a "
                             "trajectory needs clients with and without one")
        if y.min() == y.max():
            raise ValueError(f"{self.outcome_col}: the outcome is {int(y[0])} for every row")
        self.propensity_fit_ = fit_logistic(X, t, l2=self.l2)
        Z = self._outcome_design(X, t)
        # ridge on the interactions, per standard deviation of each column, so that
        # effect modifiers in euros and in years are shrunk alike
        penalty = np.full(Z.shape[1], self.l2)
        m = len(self._modifier_columns)
        if m and self.interaction_l2 > 0:
            sd = Z[:, -m:].std(axis=0)
            penalty[-m:] += self.interaction_l2 / np.where(sd > 0, sd, 1.0) ** 2
        names = (spec_names := self.spec_.term_names) + (self.treatment_col,) + tuple(
            f"{self.treatment_col}:{spec_names[j]}" for j in self._modifier_columns)
        if self.interaction_l2 == 0 and self.l2 == 0:
            # one identifiability policy: an interaction no treated client can carry is refused
            check_rank(Z, names, what=f"{type(self).__name__} outcome model (features, "
                       f"{self.treatment_col} and its interactions)",
                       owners=self.spec_.term_features + (self.treatment_col,) + tuple(
                           self.spec_.term_features[j] for j in self._modifier_columns))
        self.outcome_fit_ = fit_logistic(Z, y, l2=penalty, names=names)
        self._x_mean = X.mean(axis=0)
        ps = self.propensity_fit_.predict_proba(X)
        low = max(ps[t == 1].min(), ps[t == 0].min(), self.trim)
        high = min(ps[t == 1].max(), ps[t == 0].max(), 1 - self.trim)
        self.support_ = (float(low), float(high))
        outside = (ps < low) | (ps > high)
        self.overlap_ = {"n": float(len(t)), "n_treated": float(n_treated),
                         "share_outside_support": float(outside.mean()),
                         "propensity_min_treated": float(ps[t == 1].min()),
                         "propensity_max_treated": float(ps[t == 1].max()),
                         "propensity_min_untreated": float(ps[t == 0].min()),
                         "propensity_max_untreated": float(ps[t == 0].max())}
        return self

    def predict_propensity(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """P(trajectory | features) per row."""
        self._require_fitted()
        X = self._design(df) if X is None else X
        return pd.Series(self.propensity_fit_.predict_proba(X), index=df.index,
                         name="propensity_trajectory")

    def predict_outcome(self, df: pd.DataFrame, *, treated: bool,
                        X: np.ndarray | None = None) -> pd.Series:
        """P(work within 12 months) with (``treated=True``) or without a trajectory."""
        self._require_fitted()
        X = self._design(df) if X is None else X
        coef = self.outcome_fit_.coef
        k = X.shape[1]
        # same as the outcome design [X, t, X*t] with t fixed, without building it
        lp = coef[0] + X @ coef[1:k + 1]
        if treated:
            lp += coef[k + 1] + X[:, self._modifier_columns] @ coef[k + 2:]
        return pd.Series(expit(lp), index=df.index, name=f"p_{self.outcome_col}_{int(treated)}")

    def _score_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, offset)``: the linear predictors ``X @ W + offset`` of the propensity and of
        the outcome without and with a trajectory (three columns)."""
        coef, ps = self.outcome_fit_.coef, self.propensity_fit_.coef
        k = len(self.spec_.term_names)
        W = np.column_stack([ps[1:], coef[1:k + 1], coef[1:k + 1]])
        W[self._modifier_columns, 2] += coef[k + 2:]
        return W, np.array([ps[0], coef[0], coef[0] + coef[k + 1]])

    def predict_gain(self, df: pd.DataFrame, *, extrapolate: bool = False,
                     X: np.ndarray | None = None) -> pd.Series:
        """Change in P(work within 12 months) from a trajectory, per row.

        Rows outside the common support get NaN (with a warning that counts
        them) unless ``extrapolate=True``.
        """
        self._require_fitted()
        X = self._design(df) if X is None else X
        return self._gain(self._scores(X), df.index, extrapolate)

    def _gain(self, scores: np.ndarray, index: pd.Index, extrapolate: bool) -> pd.Series:
        gain = expit(scores[:, 2]) - expit(scores[:, 1])
        ps = expit(scores[:, 0])
        low, high = self.support_
        outside = (ps < low) | (ps > high)
        if outside.any() and not extrapolate:
            warnings.warn(f"{int(outside.sum())} of {len(outside)} client(s) lie outside the "
                          "common support of the trajectory data; their gain is NaN "
                          "(pass extrapolate=True to compute it anyway)",
                          OutsideSupportWarning, stacklevel=3)
            gain = np.where(outside, np.nan, gain)
        return pd.Series(gain, index=index, name="trajectory_gain")

    def _gain_and_gradient(self, df: pd.DataFrame, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gain per row and its gradient with respect to the outcome-model coefficients:
        p1 (1 - p1) z1 - p0 (1 - p0) z0 with z = [1, x, t, t * x_modifiers]."""
        coef = self.outcome_fit_.coef
        k, mods = X.shape[1], self._modifier_columns
        p0 = self.predict_outcome(df, treated=False, X=X).to_numpy()
        p1 = self.predict_outcome(df, treated=True, X=X).to_numpy()
        w0, w1 = p0 * (1 - p0), p1 * (1 - p1)
        grad = np.empty((X.shape[0], coef.size))
        grad[:, 0] = w1 - w0
        grad[:, 1:k + 1] = X * (w1 - w0)[:, None]
        grad[:, k + 1] = w1
        grad[:, k + 2:] = X[:, mods] * w1[:, None]
        return p1 - p0, grad

    def predict_gain_interval(self, df: pd.DataFrame, *, level: float = 0.90,
                              X: np.ndarray | None = None) -> pd.DataFrame:
        """Gain per row with its delta-method standard error and a ``level`` interval.

        Rows outside the common support get NaN throughout.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
        self._require_fitted()
        X = self._design(df) if X is None else X
        gain, grad = self._gain_and_gradient(df, X)
        se = np.sqrt(np.sum((grad @ self.outcome_fit_.cov) * grad, axis=1))
        z = float(stats.norm.ppf(0.5 + level / 2))
        out = pd.DataFrame({"trajectory_gain": gain, "se": se, "ci_low": gain - z * se,
                            "ci_high": gain + z * se}, index=df.index)
        out.loc[self.outside_support(df, X=X).to_numpy()] = np.nan
        return out

    def average_gain(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> tuple[float, float]:
        """Mean gain over the rows of ``df`` inside common support, and its delta-method SE.

        The SE reflects the uncertainty of the fitted outcome model (the rows
        are taken as given).
        """
        self._require_fitted()
        X = self._design(df) if X is None else X
        inside = ~self.outside_support(df, X=X).to_numpy()
        if not inside.any():
            raise ValueError("no rows inside the common support")
        gain, grad = self._gain_and_gradient(df.iloc[inside], X[inside])
        g = grad.mean(axis=0)
        return float(gain.mean()), float(np.sqrt(g @ self.outcome_fit_.cov @ g))

    def outside_support(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """True where the client's propensity lies outside the common support."""
        ps = self.predict_propensity(df, X=X)
        low, high = self.support_
        return ((ps < low) | (ps > high)).rename("outside_support")

    def advise(self, df: pd.DataFrame, *, X: np.ndarray | None = None,
               extrapolate: bool = False) -> pd.DataFrame:
        """Gain, its value in EUR and the advice (``trajectory`` / ``no trajectory`` /
        ``no advice: outside support``) per row.

        A trajectory is advised where the value of the gain exceeds the cost
        with one-sided confidence ``advice_confidence``: the lower bound of
        the gain, not the point estimate, must pay for the trajectory, so that
        noise in the estimated individual effects does not turn into advice.
        With ``extrapolate=True`` clients outside the common support get a gain
        too; their interval is undefined there, so their advice is ``no trajectory``.
        """
        self._require_fitted()
        X = self._design(df) if X is None else X
        return self._advise(self._scores(X), df.index, lambda rows: X[rows], extrapolate)

    def _advise(self, scores: np.ndarray, index: pd.Index, design_rows, extrapolate: bool):
        """`advise` from the three linear predictors of `_score_weights`; ``design_rows(rows)``
        gives the design of the rows at those positions (for their intervals)."""
        gain = self._gain(scores, index, extrapolate)
        value = gain * self.benefit_days_per_work_exit * self.daily_benefit
        pays = (value > self.trajectory_cost).to_numpy()
        if self.advice_confidence > 0.5 and pays.any():
            # the lower bound is below the point estimate: only rows whose point
            # estimate pays can pass, so the standard errors are needed for those alone
            level = 2 * self.advice_confidence - 1
            rows = np.flatnonzero(pays)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OutsideSupportWarning)
                low = self.predict_gain_interval(pd.DataFrame(index=index[rows]), level=level,
                                                 X=design_rows(rows))["ci_low"]
            pays[rows] = (low * self.benefit_days_per_work_exit * self.daily_benefit
                          > self.trajectory_cost).to_numpy()
        codes = np.where(gain.isna(), 2, np.where(pays, 0, 1))
        advice = pd.Categorical.from_codes(codes, categories=list(ADVICE))
        return pd.DataFrame({"trajectory_gain": gain, "trajectory_gain_eur": value,
                             "trajectory_advice": advice}, index=index)

    @property
    def summary(self) -> pd.DataFrame:
        """Outcome-model coefficients (log odds, odds ratios); trajectory terms are the effect."""
        spec = self._require_fitted()
        names = (("intercept",) + spec.term_names + (self.treatment_col,)
                 + tuple(f"{self.treatment_col}:{spec.term_names[j]}"
                         for j in self._modifier_columns))
        table = coefficient_table(names, self.outcome_fit_.coef, self.outcome_fit_.cov,
                                  ratio=self.ratio_name)
        table.attrs.update({"model": type(self).__name__, "outcome": self.outcome_col,
                            "n": self.n_fit_, "overlap": dict(self.overlap_),
                            "protected_features_used": self.protected_features_used})
        return table

    @property
    def propensity_summary(self) -> pd.DataFrame:
        spec = self._require_fitted()
        return coefficient_table(("intercept",) + spec.term_names, self.propensity_fit_.coef,
                                 self.propensity_fit_.cov, ratio=self.ratio_name)

    def explain(self, df: pd.DataFrame, *, top: int = 3, X: np.ndarray | None = None) -> pd.DataFrame:
        """Largest contributions of each feature to the trajectory effect (log odds scale)."""
        self._require_fitted()
        X = self._design(df) if X is None else X
        contrib = self._contributions(X, *self._explain_weights())
        return top_contributions(contrib, self.features, df.index, top=top)

    def _explain_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients (of the trajectory effect) and reference point of `explain`."""
        p = len(self.spec_.term_names)
        interaction = np.zeros(p)
        interaction[self._modifier_columns] = self.outcome_fit_.coef[p + 2:]
        return interaction, self._x_mean

    def _state(self) -> dict[str, Any]:
        return {"outcome_coef": to_json_array(self.outcome_fit_.coef),
                "outcome_cov": to_json_array(self.outcome_fit_.cov),
                "propensity_coef": to_json_array(self.propensity_fit_.coef),
                "propensity_cov": to_json_array(self.propensity_fit_.cov),
                "support": list(self.support_), "overlap": dict(self.overlap_),
                "x_mean": to_json_array(self._x_mean),
                "n": self.outcome_fit_.n}

    def _set_state(self, state: dict[str, Any]) -> None:
        p = len(self.spec_.term_names)
        k_out, k_ps = p + 2 + len(self._modifier_columns), p + 1
        n = float(state["n"])
        self.outcome_fit_ = LogisticFit(
            coef=array_from_json(state["outcome_coef"], shape=(k_out,), what="outcome_coef"),
            cov=array_from_json(state["outcome_cov"], shape=(k_out, k_out), what="outcome_cov"),
            intercept=True, n=n, loglik=float("nan"), n_iter=0)
        self.propensity_fit_ = LogisticFit(
            coef=array_from_json(state["propensity_coef"], shape=(k_ps,), what="propensity_coef"),
            cov=array_from_json(state["propensity_cov"], shape=(k_ps, k_ps), what="propensity_cov"),
            intercept=True, n=n, loglik=float("nan"), n_iter=0)
        low, high = (float(v) for v in state["support"])
        self.support_ = (low, high)
        self.overlap_ = {str(k): float(v) for k, v in state["overlap"].items()}
        self._x_mean = array_from_json(state["x_mean"], shape=(p,), what="x_mean")
