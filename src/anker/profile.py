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
from scipy.special import expit
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
from anker.assessments.advice import (
    MONITORING_TEXT,
    ROUTE_TEXT,
    TRAJECTORY_TEXT,
    advice_text,
    factor_text,
    side_by_side,
)
from anker.assessments.factors import top_positions
from anker.distributed import fit_model_dask, is_dask_frame, profile_dask
from anker.errors import AnkerModelFileError
from anker.models.encoding import CodedDesign
from anker.schema import FollowUpWarning

SCHEMA_VERSION = 1
# calendar days; each model converts them to its benefit-duration test's time unit
SURVIVAL_TIMES = {"p_on_benefit_3m": 91, "p_on_benefit_6m": 182, "p_on_benefit_12m": 365}
# rows per block where a profile needs several numbers per client and feature
_BLOCK_ROWS = 16_384
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
        from anker.monitoring.reference import reference_distributions

        if is_dask_frame(df):  # exact fits on the partitions, or an error saying what needs memory
            fit_model_dask(self, df)
        else:
            for test in self.tests.values():
                test.fit(df)
        # on a Dask frame from bin counts per partition (anker.monitoring.dask_reference)
        self.reference_ = reference_distributions(self, df)
        return self

    def _scores(self, df: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, CodedDesign]]:
        """Every test's linear predictors, and the coded design they came from.

        The tests usually share one design: it is kept as its numeric columns
        and level codes (`anker.models.encoding.CodedDesign`, no dummy matrix),
        and one product with all the tests' coefficients gives all their
        linear predictors (the range check runs once per design, as in each
        test's own predictions).
        """
        groups: dict[str, list[str]] = {}
        for name, test in self.tests.items():
            key = json.dumps(test._require_fitted().to_dict(), sort_keys=True)
            groups.setdefault(key, []).append(name)
        scores, designs = {}, {}
        for names in groups.values():
            first = self.tests[names[0]]
            coded = CodedDesign(first.spec_, df)
            first._check_ranges(df, coded.numeric_columns())
            weights = [self.tests[name]._score_weights() for name in names]
            together = coded.dot(np.hstack([w for w, _ in weights]))
            together += np.concatenate([offset for _, offset in weights])
            start = 0
            for name, (w, _) in zip(names, weights, strict=True):
                scores[name] = together[:, start:start + w.shape[1]]
                designs[name] = coded
                start += w.shape[1]
        return scores, designs

    def _factors(self, name: str, designs: dict[str, CodedDesign], index: pd.Index,
                 top: int) -> pd.Series:
        """The top factors' text of test ``name`` (its `explain`), from the coded design in
        blocks of rows: the n x features contributions never exist at once."""
        test, coded = self.tests[name], designs[name]
        top = min(top, len(test.features))
        best = np.empty((top, coded.n), dtype=np.int8 if len(test.features) < 127 else np.intp)
        values = np.empty((top, coded.n))
        k, width = len(test.features), min(_BLOCK_ROWS, coded.n)
        block, scratch = np.empty((k, width)), np.empty((k + 1, width))  # reused: no page faults
        for lo in range(0, coded.n, _BLOCK_ROWS):
            rows = slice(lo, min(lo + _BLOCK_ROWS, coded.n))
            by_feature = coded.contributions(*test._explain_weights(), test.features, rows=rows,
                                             out=block[:, :rows.stop - lo])
            best[:, rows], values[:, rows] = top_positions(by_feature, top, scratch)
        return factor_text(test.features, best, values, index)

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

    def _survival_columns(self, df: pd.DataFrame, lp: np.ndarray, extrapolate: bool) -> list:
        """P(on benefit) at 3/6/12 months and the median (calendar days), in the test's unit."""
        bd = self.benefit_duration
        times = self.survival_times()
        beyond = {col: t for col, t in times.items() if t > bd.max_follow_up_}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FollowUpWarning)  # said once below, by column
            surv = bd._survival(lp, df.index, list(times.values()), extrapolate)
        surv.columns = list(times)
        if beyond and not extrapolate:
            shown = ", ".join(f"{col} ({t:.4g} {bd.time_unit.label})" for col, t in beyond.items())
            warnings.warn(f"{shown} beyond the follow-up of the benefit-duration data "
                          f"({bd.max_follow_up_:g} {bd.time_unit.label}): left NaN, not "
                          "clipped (pass extrapolate=True to use the model's extrapolation)",
                          FollowUpWarning, stacklevel=4)
        median = bd._median(lp, df.index)
        median = pd.Series(bd.time_unit.to_days(median.to_numpy(dtype=float)), index=df.index,
                           name="median_duration_days")
        return [surv, median]

    def _profile(self, df: pd.DataFrame, *, extrapolate: bool = False) -> pd.DataFrame:
        scores, designs = self._scores(df)
        nt, amt = self.compliance, self.labour_market
        rt, bd = self.reintegration, self.benefit_duration
        risk = pd.Series(expit(scores["compliance"][:, 0]), index=df.index, name="compliance_risk")
        band = nt.band(df, proba=risk)
        p_work = pd.Series(expit(scores["labour_market"][:, 0]), index=df.index, name="p_work_6m")
        route = amt.route(df, proba=p_work)
        traj = rt._advise(scores["reintegration"], df.index, designs["reintegration"].dense,
                          extrapolate)
        lp = scores["benefit_duration"][:, 0]
        surv, median = self._survival_columns(df, lp, extrapolate)
        p_exhaust = bd._exhaustion(lp, df)
        wwb = wwb_check(p_exhaust, threshold=self.wwb_threshold)
        advice = advice_text(amt._route_b(p_work.to_numpy()), traj["trajectory_advice"], band, wwb)
        out = side_by_side(df.index, risk, band, band.map(MONITORING_TEXT).rename("monitoring"),
                           p_work, route, traj, surv, median, p_exhaust, wwb, advice,
                           self._factors("labour_market", designs, df.index, self.top_factors),
                           out_of_range_column(self.tests.values(), df, _numeric(designs)))
        out.attrs.update(not_assessed=[], not_profiled={},
                         time_unit=bd.time_unit.label, survival_times=self.survival_times())
        return out

    def _profile_subset(self, df: pd.DataFrame, *, extrapolate: bool) -> pd.DataFrame:
        """The profile of a model of some of the tests: their columns, and what is missing."""
        scores, designs = self._scores(df)
        parts: list = []
        texts: list[pd.Series] = []
        not_profiled: dict[str, str] = {}
        if (nt := self.compliance) is not None:
            risk = pd.Series(expit(scores["compliance"][:, 0]), index=df.index,
                             name="compliance_risk")
            band = nt.band(df, proba=risk)
            monitoring = band.map(MONITORING_TEXT).rename("monitoring")
            parts += [risk, band, monitoring]
            texts.append(monitoring.astype(str))
        if (amt := self.labour_market) is not None:
            p_work = pd.Series(expit(scores["labour_market"][:, 0]), index=df.index,
                               name="p_work_6m")
            route = amt.route(df, proba=p_work)
            parts += [p_work, route]
            texts.append(route.map(ROUTE_TEXT).astype(str))
        if (rt := self.reintegration) is not None:
            traj = rt._advise(scores["reintegration"], df.index, designs["reintegration"].dense,
                              extrapolate)
            parts.append(traj)
            texts.append(traj["trajectory_advice"].map(TRAJECTORY_TEXT).astype(str))
        if (bd := self.benefit_duration) is not None:
            lp = scores["benefit_duration"][:, 0]
            surv, median = self._survival_columns(df, lp, extrapolate)
            parts += [surv, median]
            six = surv["p_on_benefit_6m"].round(2)
            texts.append(("P(on benefit at 6 months) " + six.astype(str)).where(
                six.notna(), "P(on benefit at 6 months) unknown (beyond follow-up)"))
            if bd.entitlement_col is not None and bd.entitlement_col in df.columns:
                p_exhaust = bd._exhaustion(lp, df)
                wwb = wwb_check(p_exhaust, threshold=self.wwb_threshold)
                parts += [p_exhaust, wwb]
                texts.append(pd.Series(np.where(wwb, "prepare early hand-over to the "
                                                "municipality (WWB)", "no early WWB hand-over"),
                                       index=df.index))
            else:
                reason = (f"no entitlement column {bd.entitlement_col!r} in the data"
                          if bd.entitlement_col is not None else "entitlement_col is None")
                not_profiled.update(p_exhaust=reason, wwb_flag=reason)
        missing = self.not_assessed + list(not_profiled)
        advice = texts[0] if texts else pd.Series("", index=df.index)
        for text in texts[1:]:
            advice = advice + "; " + text
        explainer = next(self.tests[n] for n in ("labour_market", "benefit_duration",
                                                 "reintegration", "compliance") if n in self.tests)
        out = side_by_side(df.index, *parts,
                           (advice + f"; not assessed: {', '.join(missing)}").rename("advice"),
                           self._factors(explainer.name, designs, df.index, self.top_factors),
                           out_of_range_column(self.tests.values(), df, _numeric(designs)))
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


def _numeric(designs: dict[str, CodedDesign]) -> dict[str, np.ndarray]:
    """The numeric features as floats, from the coded designs of a profile."""
    out: dict[str, np.ndarray] = {}
    for coded in designs.values():
        out.update(coded.numeric_columns())
    return out
