"""Toets blijfrisico in de uitkering: how long a client is likely to stay on benefit."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from anker.assessments._base import (
    Assessment,
    array_from_json,
    coefficient_table,
    is_dask_frame,
    numeric_values,
    to_json_array,
)
from anker.assessments.factors import top_contributions
from anker.models.cox import CoxFit, fit_cox
from anker.models.partial_likelihood import time_order
from anker.models.weibull import WeibullFit, fit_weibull
from anker.schema import FollowUpWarning, TimeUnit, resolve_time_unit

MODELS = ("cox", "weibull")


class BenefitDurationTest(Assessment):
    """Survival model of the benefit spell: exits are events, exhaustion and data end censor.

    Cox proportional hazards (Efron ties, as R's ``coxph`` and lifelines) by
    default; ``model="weibull"`` fits a Weibull PH/AFT model that can
    extrapolate beyond the follow-up of the data (e.g. P(exhausting) a long
    entitlement). Durations are counted in ``time_unit`` (calendar days by
    default); every time given to or returned by the test is in that unit.
    A time beyond the longest follow-up of the fitting data is not silently
    answered with the last value: predictions there are NaN with a
    :class:`~anker.schema.FollowUpWarning`, unless ``extrapolate=True``.

    Parameters
    ----------
    features : list of str, optional
        Feature columns; by default the schema's inflow features.
    duration_col, event_col : str
        Spell length (in ``time_unit``) and exit flag (1 exit, 0 censored).
    entitlement_col : str or None
        Maximum duration per client (in ``time_unit``), for P(exhausting).
    model : {"cox", "weibull"}
    ties : {"efron", "breslow"}
        Tie handling of the Cox model.
    allow_protected : bool
        Opt in to protected attributes as features; recorded with the model.
    time_unit : {"day", "week", "month", "year"} or float
        Unit of the durations: a named unit (a month is 30.4375 days) or a
        number of calendar days per unit, e.g. ``14`` for two-week periods.
        Stored in the model file.
    reference_levels : dict, optional
        Reference level per categorical feature, e.g. ``{"ui": "no"}``; by
        default a pandas ``CategoricalDtype``'s first category, else the
        schema's preferred or the most frequent level (see `anker.models.design`).

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> bd = anker.BenefitDurationTest().fit(df)
    >>> bd.predict_survival(df.head(2), times=[91, 182, 365]).shape
    (2, 3)
    >>> other = df.rename(columns={"duration_days": "spell", "exited": "censor1"})
    >>> bd2 = anker.BenefitDurationTest(duration_col="spell", event_col="censor1",
    ...                                 features=["age", "work_history_years"]).fit(other)
    >>> list(bd2.summary.index)
    ['age', 'work_history_years']
    >>> weeks = other.assign(spell=(other["spell"] / 7).round())
    >>> bd3 = anker.BenefitDurationTest(duration_col="spell", event_col="censor1",
    ...                                 features=["age"], time_unit="week").fit(weeks)
    >>> bd3.time_unit.label, bd3.summary.attrs["time_unit"]
    ('weeks', 'weeks')
    """

    name: ClassVar[str] = "benefit_duration"
    ratio_name: ClassVar[str] = "hazard_ratio"

    def __init__(self, *, features=None, duration_col: str = "duration_days",
                 event_col: str = "exited", entitlement_col: str | None = "entitlement_days",
                 model: str = "cox", ties: str = "efron", allow_protected: bool = False,
                 protected=None, time_unit: str | float | TimeUnit = "day",
                 reference_levels: dict[str, Any] | None = None) -> None:
        extra = {} if protected is None else {"protected": protected}
        super().__init__(features=features, allow_protected=allow_protected, **extra)
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {model!r}")
        if ties not in ("efron", "breslow"):
            raise ValueError(f"ties must be 'efron' or 'breslow', got {ties!r}")
        self.duration_col = duration_col
        self.event_col = event_col
        self.entitlement_col = entitlement_col
        self.model = model
        self.ties = ties
        self.time_unit = resolve_time_unit(time_unit)
        self.reference_levels = None if reference_levels is None else {
            str(k): (v.item() if hasattr(v, "item") else v) for k, v in reference_levels.items()}
        self.fit_: CoxFit | WeibullFit | None = None
        self._x_mean: np.ndarray | None = None

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "duration_col": self.duration_col,
                "event_col": self.event_col, "entitlement_col": self.entitlement_col,
                "model": self.model, "ties": self.ties, "time_unit": self.time_unit.to_json(),
                "reference_levels": self.reference_levels}

    def fit(self, df: pd.DataFrame):
        """Fit on records with the features, ``duration_col`` and ``event_col``; returns self.

        A Dask frame is fitted exactly on its partitions (`anker.distributed.fit_test_dask`),
        or refused with an error saying what to do where that cannot be done.
        """
        if is_dask_frame(df):
            return self._fit_dask(df)
        self._check_input(df, [self.duration_col, self.event_col])
        durations = numeric_values(df, self.duration_col, what="duration")
        events = numeric_values(df, self.event_col, what="event flag")
        if (durations < 0).any():
            raise ValueError(f"{self.duration_col}: negative durations")
        if not ((events == 0) | (events == 1)).all():
            raise ValueError(f"{self.event_col}: values other than 0/1")
        if events.sum() == 0:
            raise ValueError(f"{self.event_col}: no exits (events) in the data; a survival "
                             "model needs at least one")
        # the design is built with its rows in time order, as the Cox fit needs them
        # (the order of rows changes no estimate): no sorted copy of the matrix
        order = time_order(durations, events)
        X = self._learn(df, [self.duration_col, self.event_col], rows=order, checked=True)
        durations, events = durations[order], events[order]
        if self.model == "cox":
            self.fit_ = fit_cox(X, durations, events, ties=self.ties,
                                names=self.spec_.term_names)
        else:
            if (durations <= 0).any():
                raise ValueError(f"{self.duration_col}: a Weibull model needs durations > 0; "
                                 f"{int((durations <= 0).sum())} row(s) have 0")
            self.fit_ = fit_weibull(X, durations, events, names=self.spec_.term_names)
        self._x_mean = X.mean(axis=0)
        self.max_follow_up_ = float(durations.max())
        return self

    # ---- predictions -------------------------------------------------------------------
    def _linear(self, df: pd.DataFrame, X: np.ndarray | None) -> np.ndarray:
        self._require_fitted()
        return self.fit_.linear_predictor(self._design(df) if X is None else X)

    def _score_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, offset)`` with the linear predictor ``X @ W + offset`` (one column)."""
        return self.fit_.coef[:, None], np.array([self.fit_.offset])

    def risk_score(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """Linear predictor (log relative exit rate); higher means leaving benefit sooner."""
        return pd.Series(self._linear(df, X), index=df.index, name="exit_risk_score")

    def beyond_follow_up(self, times) -> list:
        """The times (in ``time_unit``) that lie beyond the longest follow-up of the fitting data."""
        self._require_fitted()
        return [t for t in _times(times) if t > self.max_follow_up_]

    def predict_cumulative_hazard(self, df: pd.DataFrame, times, *, extrapolate: bool = False,
                                  X: np.ndarray | None = None) -> pd.DataFrame:
        """H(t | x) of leaving benefit, one column per time (in ``time_unit``).

        Times beyond the longest follow-up of the fitting data give NaN and a
        :class:`~anker.schema.FollowUpWarning` unless ``extrapolate=True``
        (a Cox curve is then flat after the last exit, a Weibull curve follows
        its shape).
        """
        return self._cumulative_hazard(self._linear(df, X), df.index, times, extrapolate)

    def _cumulative_hazard(self, lp: np.ndarray, index: pd.Index, times, extrapolate: bool,
                           *, survival: bool = False) -> pd.DataFrame:
        """H(t | x) (or S(t | x) = exp(-H) with ``survival=True``) from the linear predictor."""
        times = _times(times)
        values = np.exp(lp)[:, None] * self.fit_.baseline(times)[None, :]
        if survival:
            np.exp(-values, out=values)
        beyond = [t for t in times if t > self.max_follow_up_]
        if beyond and not extrapolate:
            warnings.warn(f"time(s) {beyond} {self.time_unit.label} lie beyond the follow-up of "
                          f"the fitting data ({self.max_follow_up_:g} {self.time_unit.label}): "
                          "their predictions are NaN (pass extrapolate=True to use the model's "
                          "extrapolation)", FollowUpWarning, stacklevel=4)
            values[:, [t in beyond for t in times]] = np.nan
        out = pd.DataFrame(values, index=index, columns=times)
        out.attrs["time_unit"] = self.time_unit.label
        return out

    def predict_survival(self, df: pd.DataFrame, times, *, extrapolate: bool = False,
                         X: np.ndarray | None = None) -> pd.DataFrame:
        """P(still on benefit at t) per row, one column per time (in ``time_unit``).

        A Cox model's curve is flat beyond the last exit in the fitting data;
        times beyond the follow-up are NaN with a warning unless
        ``extrapolate=True``; use ``model="weibull"`` to extrapolate by a shape.
        """
        return self._survival(self._linear(df, X), df.index, times, extrapolate)

    def _survival(self, lp: np.ndarray, index: pd.Index, times, extrapolate: bool):
        return self._cumulative_hazard(lp, index, times, extrapolate, survival=True)

    def predict_median(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """Median duration on benefit in ``time_unit``; inf where the curve never reaches 0.5."""
        return self._median(self._linear(df, X), df.index)

    def _median(self, lp: np.ndarray, index: pd.Index) -> pd.Series:
        if self.model == "weibull":
            med = np.power(-np.log1p(-0.5) / np.exp(lp), 1 / self.fit_.shape)
        else:
            # S(t|x) <= 0.5  <=>  H0(t) >= log 2 / exp(lp): one search on the monotone baseline
            med = self.fit_.time_reaching(np.log(2) / np.exp(lp))
        name = "median_duration_days" if self.time_unit.name == "day" else "median_duration"
        out = pd.Series(med, index=index, name=name)
        out.attrs["time_unit"] = self.time_unit.label
        return out

    def predict_exhaustion(self, df: pd.DataFrame, *, X: np.ndarray | None = None) -> pd.Series:
        """P(still on benefit when the entitlement ends) = S(entitlement | x).

        For a Cox model, entitlements beyond the last exit time of the fitting
        data use the survival at that time (an upper bound); a Weibull model
        extrapolates.
        """
        self._require_fitted()
        self._entitlement(df)
        return self._exhaustion(self._linear(df, X), df)

    def _entitlement(self, df: pd.DataFrame) -> np.ndarray:
        if self.entitlement_col is None:
            raise ValueError("entitlement_col is None: P(exhausting) needs each client's "
                             f"entitlement in {self.time_unit.label}")
        if self.entitlement_col not in df.columns:
            raise ValueError(f"P(exhausting) needs column {self.entitlement_col!r}")
        return pd.to_numeric(df[self.entitlement_col]).to_numpy(dtype=float)

    def _exhaustion(self, lp: np.ndarray, df: pd.DataFrame) -> pd.Series:
        ent = self._entitlement(df)
        if self.model == "cox" and (beyond := ent > self.max_follow_up_).any():
            warnings.warn(f"P(exhausting) of {int(beyond.sum()):,} of {len(ent):,} client(s) "
                          f"whose entitlement lies beyond the follow-up of the fitting data "
                          f"({self.max_follow_up_:g} {self.time_unit.label}) is the survival "
                          "at the end of follow-up: an upper bound (model='weibull' "
                          "extrapolates)", FollowUpWarning, stacklevel=3)
        H = np.exp(lp) * self.fit_.baseline(ent)
        return pd.Series(np.exp(-H), index=df.index, name="p_exhaust")

    # ---- tables --------------------------------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """Coefficient table: log hazard ratios with SE, z, p, 95 % CI and hazard ratios."""
        spec = self._require_fitted()
        p = len(spec.term_names)
        table = coefficient_table(spec.term_names, self.fit_.coef, self.fit_.cov[:p, :p],
                                  ratio=self.ratio_name)
        if self.model == "weibull":
            table["time_ratio"] = np.exp(-table["coef"] / self.fit_.shape)
        table.attrs.update({"model": f"{type(self).__name__} ({self.model})",
                            "time_unit": self.time_unit.label,
                            "n": self.n_fit_, "events": self.fit_.n_events,
                            "loglik": self.fit_.loglik,
                            "protected_features_used": self.protected_features_used})
        return table

    def explain(self, df: pd.DataFrame, *, top: int = 3, X: np.ndarray | None = None) -> pd.DataFrame:
        """Largest contributions to the log exit rate, relative to an average client."""
        self._require_fitted()
        X = self._design(df) if X is None else X
        contrib = self._contributions(X, *self._explain_weights())
        return top_contributions(contrib, self.features, df.index, top=top)

    def _explain_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients and reference point of `explain`'s contributions."""
        return self.fit_.coef, self._x_mean

    # ---- JSON ------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        f = self.fit_
        state = {"coef": to_json_array(f.coef), "cov": to_json_array(f.cov),
                 "center": to_json_array(f.center), "x_mean": to_json_array(self._x_mean),
                 "n": f.n, "n_events": f.n_events, "loglik": f.loglik, "n_iter": f.n_iter,
                 "max_follow_up": self.max_follow_up_}
        if isinstance(f, CoxFit):
            state.update(baseline_times=to_json_array(f.baseline_times),
                         baseline_cumhaz=to_json_array(f.baseline_cumhaz), ties=f.ties)
        else:
            state.update(alpha=f.alpha, log_shape=f.log_shape)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        p = len(self.spec_.term_names)
        common = dict(coef=array_from_json(state["coef"], shape=(p,), what="coef"),
                      center=array_from_json(state["center"], shape=(p,), what="center"),
                      n=float(state["n"]), n_events=float(state["n_events"]),
                      loglik=float(state["loglik"]), n_iter=int(state["n_iter"]))
        if self.model == "cox":
            times = array_from_json(state["baseline_times"], what="baseline_times")
            cumhaz = array_from_json(state["baseline_cumhaz"], shape=times.shape,
                                     what="baseline_cumhaz")
            if np.any(np.diff(times) <= 0) or np.any(np.diff(cumhaz) < 0):
                raise ValueError("baseline hazard is not increasing in time")
            self.fit_ = CoxFit(cov=array_from_json(state["cov"], shape=(p, p), what="cov"),
                               baseline_times=times, baseline_cumhaz=cumhaz,
                               ties=str(state["ties"]), **common)
        else:
            self.fit_ = WeibullFit(cov=array_from_json(state["cov"], shape=(p + 2, p + 2),
                                                       what="cov"),
                                   alpha=float(state["alpha"]),
                                   log_shape=float(state["log_shape"]), **common)
        self._x_mean = array_from_json(state["x_mean"], shape=(p,), what="x_mean")
        self.max_follow_up_ = float(state["max_follow_up"])


def _times(times) -> list:
    arr = np.atleast_1d(np.asarray(times, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"times must be non-negative finite numbers (in the test's time_unit), "
                         f"got {times!r}")
    return [int(t) if float(t).is_integer() else float(t) for t in arr]
