"""AnkerModel: the four tests together, one profile (and one advice) per client.

The profile supports a professional, it does not decide: the coach accepts
or overrides the advice and :class:`anker.DecisionLog` records which.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from anker._version import __version__
from anker.assessments import (
    BenefitDurationTest,
    ComplianceTest,
    LabourMarketTest,
    ReintegrationTest,
    wwb_check,
)
from anker.assessments._base import Assessment, out_of_range_column
from anker.distributed import fit_model_dask, is_dask_frame, profile_dask
from anker.errors import AnkerModelFileError
from anker.schema import FollowUpWarning

SCHEMA_VERSION = 1
# calendar days; each model converts them to its benefit-duration test's time unit
SURVIVAL_TIMES = {"p_on_benefit_3m": 91, "p_on_benefit_6m": 182, "p_on_benefit_12m": 365}
_TESTS = {"compliance": ComplianceTest, "labour_market": LabourMarketTest,
          "reintegration": ReintegrationTest, "benefit_duration": BenefitDurationTest}


class AnkerModel:
    """All four ANKER tests, fitted together, giving one profile per client.

    Parameters
    ----------
    compliance, labour_market, reintegration, benefit_duration : test, optional
        Configured (unfitted) tests; by default each with its defaults.
    tests : list of str, optional
        Fit and profile only these tests (names as in ``AnkerModel.tests``),
        each with its own columns; by default all four. A site that has only
        benefit spells uses ``tests=["benefit_duration"]``. The profile then
        holds the columns of those tests, and its advice and ``attrs["not_assessed"]``
        say what was not assessed.
    wwb_threshold : float
        P(exhausting the entitlement) above which early hand-over to the
        municipality (WWB) is advised.
    top_factors : int
        Number of factors named per client.

    Examples
    --------
    >>> import anker, tempfile, os
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> model = anker.AnkerModel().fit(df)
    >>> prof = model.profile(df.head(3))
    >>> prof.index.equals(df.head(3).index)
    True
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save(path)
    >>> anker.AnkerModel.load(path).profile(df.head(3)).equals(prof)
    True
    >>> spells = anker.BenefitDurationTest(features=["age", "work_history_years"])
    >>> only = anker.AnkerModel(benefit_duration=spells, tests=["benefit_duration"]).fit(df)
    >>> only.profile(df.head(3)).attrs["not_assessed"]
    ['compliance', 'labour_market', 'reintegration']
    """

    def __init__(self, *, compliance: ComplianceTest | None = None,
                 labour_market: LabourMarketTest | None = None,
                 reintegration: ReintegrationTest | None = None,
                 benefit_duration: BenefitDurationTest | None = None,
                 wwb_threshold: float = 0.5, top_factors: int = 3,
                 tests: Sequence[str] | None = None) -> None:
        given = {"compliance": compliance, "labour_market": labour_market,
                 "reintegration": reintegration, "benefit_duration": benefit_duration}
        chosen = _chosen_tests(tests, given)
        self.tests: dict[str, Assessment] = {}
        for name, cls in _TESTS.items():
            if name not in chosen:
                continue
            test = given[name] if given[name] is not None else cls()
            if not isinstance(test, cls):
                raise TypeError(f"{name} must be a {cls.__name__}, got {type(test).__name__}")
            self.tests[name] = test
        if not 0 < float(wwb_threshold) < 1:
            raise ValueError(f"wwb_threshold must lie strictly between 0 and 1, got {wwb_threshold!r}")
        if int(top_factors) < 1:
            raise ValueError(f"top_factors must be at least 1, got {top_factors!r}")
        self.wwb_threshold = float(wwb_threshold)
        self.top_factors = int(top_factors)
        # binned feature and score distributions of the fitting data, for anker.monitor
        self.reference_: dict[str, Any] | None = None

    # convenient names (None for a test left out with tests=[...])
    compliance = property(lambda self: self.tests.get("compliance"))
    labour_market = property(lambda self: self.tests.get("labour_market"))
    reintegration = property(lambda self: self.tests.get("reintegration"))
    benefit_duration = property(lambda self: self.tests.get("benefit_duration"))

    @property
    def is_fitted(self) -> bool:
        return all(t.is_fitted for t in self.tests.values())

    @property
    def not_assessed(self) -> list[str]:
        """The tests left out of this model (``tests=[...]``)."""
        return [name for name in _TESTS if name not in self.tests]

    def survival_times(self) -> dict[str, float]:
        """The profile's 3, 6 and 12 months in the benefit-duration test's time unit."""
        unit = self.benefit_duration.time_unit
        return {col: float(unit.from_days(days)) for col, days in SURVIVAL_TIMES.items()}

    def fit(self, df: pd.DataFrame) -> AnkerModel:
        """Fit the model's tests (all four by default) on the same records; returns self."""
        if is_dask_frame(df):  # exact fits on the partitions, or an error saying what needs memory
            return fit_model_dask(self, df)
        from anker.monitoring.reference import reference_distributions

        for test in self.tests.values():
            test.fit(df)
        self.reference_ = reference_distributions(self, df)
        return self

    def _designs(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """One design matrix per distinct spec: the tests usually share one."""
        cache: dict[str, np.ndarray] = {}
        out = {}
        for name, test in self.tests.items():
            spec = test._require_fitted()
            key = json.dumps(spec.to_dict(), sort_keys=True)
            if key not in cache:
                cache[key] = test._design(df)
            out[name] = cache[key]
        return out

    def profile(self, df: pd.DataFrame, *, extrapolate: bool = False) -> pd.DataFrame:
        """Per client: the four scores, bands, route, trajectory advice, WWB flag,
        a one-line advice and the top factors. One row per input row, same index.

        Needs only the feature columns (and the entitlement for P(exhausting));
        outcome columns are not used. A model of a subset of the tests gives
        the columns of those tests; ``attrs["not_assessed"]`` names the others
        and ``attrs["not_profiled"]`` any column left out for want of data
        (P(exhausting) without an entitlement column). P(on benefit) at 3, 6
        and 12 months is taken in the benefit-duration test's time unit; a time
        beyond the follow-up of its fitting data is NaN with a warning unless
        ``extrapolate=True`` (which also gives a trajectory gain outside the
        common support). ``out_of_range`` names, per client, the numeric features outside
        the range the model was fitted on (``""`` when none): the rows that the
        :class:`~anker.errors.OutOfRangeWarning` counts, whose scores are extrapolations.
        """
        if not self.is_fitted:
            raise ValueError("AnkerModel is not fitted yet: call fit(df) or AnkerModel.load(path)")
        if is_dask_frame(df):  # a Dask frame in, a lazy Dask frame out (anker.distributed)
            return profile_dask(self, df, extrapolate=extrapolate)
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        # prediction is matrix-vector work bound by memory: a second BLAS thread
        # adds no speed and, on a shared machine, waits for a busy core
        with threadpool_limits(limits=1, user_api="blas"):
            if len(self.tests) < len(_TESTS):
                return self._profile_subset(df, extrapolate=extrapolate)
            return self._profile(df, extrapolate=extrapolate)

    def _survival_columns(self, df: pd.DataFrame, X: np.ndarray, extrapolate: bool) -> list:
        """P(on benefit) at 3/6/12 months and the median (calendar days), in the test's unit."""
        bd = self.benefit_duration
        times = self.survival_times()
        beyond = {col: t for col, t in times.items() if t > bd.max_follow_up_}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FollowUpWarning)  # said once below, by column
            surv = bd.predict_survival(df, list(times.values()), X=X, extrapolate=extrapolate)
        surv.columns = list(times)
        if beyond and not extrapolate:
            shown = ", ".join(f"{col} ({t:.4g} {bd.time_unit.label})" for col, t in beyond.items())
            warnings.warn(f"{shown} beyond the follow-up of the benefit-duration data "
                          f"({bd.max_follow_up_:g} {bd.time_unit.label}): left NaN, not "
                          "clipped (pass extrapolate=True to use the model's extrapolation)",
                          FollowUpWarning, stacklevel=4)
        median = bd.predict_median(df, X=X)
        median = pd.Series(bd.time_unit.to_days(median.to_numpy(dtype=float)), index=df.index,
                           name="median_duration_days")
        return [surv, median]

    def _profile(self, df: pd.DataFrame, *, extrapolate: bool = False) -> pd.DataFrame:
        X = self._designs(df)
        nt, amt = self.compliance, self.labour_market
        rt, bd = self.reintegration, self.benefit_duration
        risk = nt.predict_proba(df, X=X["compliance"]).rename("compliance_risk")
        band = nt.band(df, proba=risk)
        p_work = amt.predict_proba(df, X=X["labour_market"]).rename("p_work_6m")
        route = amt.route(df, proba=p_work)
        traj = _advise(rt, df, X["reintegration"], extrapolate)
        surv, median = self._survival_columns(df, X["benefit_duration"], extrapolate)
        p_exhaust = bd.predict_exhaustion(df, X=X["benefit_duration"])
        wwb = wwb_check(p_exhaust, threshold=self.wwb_threshold)
        out = pd.concat([risk, band, band.map(_MONITORING_TEXT).rename("monitoring"),
                         p_work, route, traj, surv, median, p_exhaust, wwb], axis=1)
        out["advice"] = _advice_text(route, traj["trajectory_advice"], band, wwb)
        top = min(self.top_factors, len(amt.features))  # no more factors than features
        factors = amt.explain(df, top=top, X=X["labour_market"])
        out["top_factors"] = _factor_text(factors, top)
        out["out_of_range"] = out_of_range_column(self.tests.values(), df)
        out.attrs.update(not_assessed=[], not_profiled={},
                         time_unit=bd.time_unit.label, survival_times=self.survival_times())
        return out

    def _profile_subset(self, df: pd.DataFrame, *, extrapolate: bool) -> pd.DataFrame:
        """The profile of a model of some of the tests: their columns, and what is missing."""
        X = self._designs(df)
        parts: list = []
        texts: list[pd.Series] = []
        not_profiled: dict[str, str] = {}
        if (nt := self.compliance) is not None:
            risk = nt.predict_proba(df, X=X["compliance"]).rename("compliance_risk")
            band = nt.band(df, proba=risk)
            monitoring = band.map(_MONITORING_TEXT).rename("monitoring")
            parts += [risk, band, monitoring]
            texts.append(monitoring.astype(str))
        if (amt := self.labour_market) is not None:
            p_work = amt.predict_proba(df, X=X["labour_market"]).rename("p_work_6m")
            route = amt.route(df, proba=p_work)
            parts += [p_work, route]
            texts.append(route.map(_ROUTE_TEXT).astype(str))
        if (rt := self.reintegration) is not None:
            traj = _advise(rt, df, X["reintegration"], extrapolate)
            parts.append(traj)
            texts.append(traj["trajectory_advice"].map(_TRAJECTORY_TEXT).astype(str))
        if (bd := self.benefit_duration) is not None:
            surv, median = self._survival_columns(df, X["benefit_duration"], extrapolate)
            parts += [surv, median]
            six = surv["p_on_benefit_6m"].round(2)
            texts.append(("P(on benefit at 6 months) " + six.astype(str)).where(
                six.notna(), "P(on benefit at 6 months) unknown (beyond follow-up)"))
            if bd.entitlement_col is not None and bd.entitlement_col in df.columns:
                p_exhaust = bd.predict_exhaustion(df, X=X["benefit_duration"])
                wwb = wwb_check(p_exhaust, threshold=self.wwb_threshold)
                parts += [p_exhaust, wwb]
                texts.append(pd.Series(np.where(wwb, "prepare early hand-over to the "
                                                "municipality (WWB)", "no early WWB hand-over"),
                                       index=df.index))
            else:
                reason = (f"no entitlement column {bd.entitlement_col!r} in the data"
                          if bd.entitlement_col is not None else "entitlement_col is None")
                not_profiled.update(p_exhaust=reason, wwb_flag=reason)
        out = pd.concat(parts, axis=1)
        missing = self.not_assessed + list(not_profiled)
        advice = texts[0] if texts else pd.Series("", index=df.index)
        for text in texts[1:]:
            advice = advice + "; " + text
        out["advice"] = advice + f"; not assessed: {', '.join(missing)}"
        explainer = next(self.tests[n] for n in ("labour_market", "benefit_duration",
                                                 "reintegration", "compliance") if n in self.tests)
        factors = explainer.explain(df, top=self.top_factors, X=X[explainer.name])
        out["top_factors"] = _factor_text(factors, min(self.top_factors, len(explainer.features)))
        out["out_of_range"] = out_of_range_column(self.tests.values(), df)
        out.attrs.update(not_assessed=self.not_assessed, not_profiled=not_profiled,
                         top_factors_from=explainer.name)
        if bd is not None:
            out.attrs.update(time_unit=bd.time_unit.label, survival_times=self.survival_times())
        return out

    # ---- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        if not self.is_fitted:
            raise ValueError("AnkerModel is not fitted yet: nothing to save")
        return {"anker_model": "AnkerModel", "schema_version": SCHEMA_VERSION,
                "anker_version": __version__,
                "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "config": {"wwb_threshold": self.wwb_threshold, "top_factors": self.top_factors,
                           "tests": list(self.tests)},
                "protected_features_used": {n: t.protected_features_used
                                            for n, t in self.tests.items()},
                "tests": {name: test.to_dict() for name, test in self.tests.items()},
                **({"reference_distributions": self.reference_} if self.reference_ else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnkerModel:
        if not isinstance(data, dict) or data.get("anker_model") != "AnkerModel":
            raise AnkerModelFileError("not an anker model file (no 'anker_model': 'AnkerModel')")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise AnkerModelFileError(f"model file schema_version {version!r} is not supported "
                                      f"(this anker {__version__} reads {SCHEMA_VERSION})")
        from anker.assessments.model_file import check_model_config

        try:
            config = check_model_config(data["config"])
            names = list(config.get("tests", _TESTS))
            unknown = [n for n in names if n not in _TESTS]
            if unknown:
                raise AnkerModelFileError(f"unknown test(s) {unknown} in the model file")
            tests = {name: _TESTS[name].from_dict(data["tests"][name]) for name in names}
            model = cls(**tests, wwb_threshold=config["wwb_threshold"],
                        top_factors=config["top_factors"], tests=names)
            # older model files have none: anker.monitor then asks for a refitted file
            model.reference_ = data.get("reference_distributions")
        except AnkerModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise AnkerModelFileError(f"damaged model file: {type(exc).__name__}: {exc}") from None
        return model

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model as one readable JSON file (no pickle)."""
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        Path(path).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> AnkerModel:
        """Read a model written by :meth:`save`; a damaged or foreign file raises
        :class:`anker.AnkerModelFileError` naming the file."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"model file {str(path)!r} does not exist")
        from anker.assessments.model_file import read_model_json

        try:
            data = read_model_json(path)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AnkerModelFileError(f"{path}: not a readable JSON model file ({exc})") from None
        except AnkerModelFileError as exc:
            raise AnkerModelFileError(f"{path}: {exc}") from None
        try:
            return cls.from_dict(data)
        except AnkerModelFileError as exc:
            raise AnkerModelFileError(f"{path}: {exc}") from None

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return f"AnkerModel({', '.join(self.tests)}; {state})"


def _chosen_tests(tests: Sequence[str] | None, given: dict[str, Any]) -> list[str]:
    if tests is None:
        return list(_TESTS)
    if isinstance(tests, str):
        raise TypeError(f"tests must be a list of test names, got the string {tests!r}")
    tests = list(tests)
    unknown = [t for t in tests if t not in _TESTS]
    if unknown or not tests:
        raise ValueError(f"tests: unknown test name(s) {unknown}; choose from {list(_TESTS)}"
                         if unknown else f"tests: name at least one of {list(_TESTS)}")
    if len(set(tests)) != len(tests):
        raise ValueError(f"tests: listed more than once: {tests}")
    left_out = [name for name, test in given.items() if test is not None and name not in tests]
    if left_out:
        raise ValueError(f"tests={tests} leaves out {left_out}, which were configured: "
                         "add them to tests or drop their arguments")
    return tests


def _advise(rt: ReintegrationTest, df: pd.DataFrame, X: np.ndarray,
            extrapolate: bool) -> pd.DataFrame:
    return rt.advise(df, X=X, extrapolate=extrapolate) if extrapolate else rt.advise(df, X=X)


_MONITORING_TEXT = {"low": "standard monitoring", "medium": "extra monitoring",
                    "high": "intensive monitoring"}
_ROUTE_TEXT = {"A": "Route A (job-ready)", "B": "Route B (coach support)"}
_TRAJECTORY_TEXT = {"trajectory": "trajectory advised", "no trajectory": "no trajectory",
                    "no advice: outside support": "no trajectory advice (unlike past clients)"}


def _advice_text(route: pd.Series, trajectory: pd.Series, band: pd.Series,
                 wwb: pd.Series) -> pd.Series:
    """One line per client: there are only 36 combinations, so build each once."""
    routes, trajectories, bands = list(_ROUTE_TEXT), list(_TRAJECTORY_TEXT), list(_MONITORING_TEXT)
    texts = np.array([f"{_ROUTE_TEXT[r]}; {_TRAJECTORY_TEXT[t]}; {_MONITORING_TEXT[b]}"
                      + ("; prepare early hand-over to the municipality (WWB)" if w else "")
                      for r in routes for t in trajectories for b in bands for w in (False, True)],
                     dtype=object)
    r = (route.to_numpy() == "B").astype(int)
    t = pd.Categorical(trajectory, categories=trajectories).codes
    b = pd.Categorical(band, categories=bands).codes
    code = ((r * len(trajectories) + t) * len(bands) + b) * 2 + wwb.to_numpy().astype(int)
    return pd.Series(texts[code], index=route.index, name="advice")


def _factor_text(factors: pd.DataFrame, top: int) -> pd.Series:
    """'age -, health_limitation -, tightness +': sign of the effect on P(work).

    Built once per distinct combination of factors and signs, then mapped back.
    """
    names = pd.unique(np.concatenate([factors[f"factor_{j}"].to_numpy()
                                      for j in range(1, top + 1)]))
    base = 2 * len(names)
    code = np.zeros(len(factors), dtype=np.int64)
    for j in range(1, top + 1):
        idx = pd.Categorical(factors[f"factor_{j}"], categories=names).codes.astype(np.int64)
        positive = factors[f"contribution_{j}"].to_numpy() >= 0
        code = code * base + 2 * idx + positive
    uniques, inverse = np.unique(code, return_inverse=True)
    texts = []
    for u in uniques:
        parts = []
        for _ in range(top):
            u, digit = divmod(int(u), base)
            parts.append(f"{names[digit // 2]} {'+' if digit % 2 else '-'}")
        texts.append(", ".join(reversed(parts)))
    return pd.Series(np.asarray(texts, dtype=object)[inverse], index=factors.index,
                     name="top_factors")
