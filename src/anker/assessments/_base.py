"""What the four ANKER tests share: configuration, the protected-attribute
policy, input checks, coefficient tables, explanations and the JSON round trip."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from anker.errors import AnkerDataError, AnkerModelFileError, OutOfRangeWarning
from anker.models.design import DesignSpec, check_rank
from anker.schema import INFLOW_FEATURES, PROTECTED, SCHEMA, require_columns, validate

FORMAT_VERSION = 1
Z95 = float(stats.norm.ppf(0.975))


class ProtectedAttributeError(AnkerDataError):
    """A protected attribute was given as a feature without ``allow_protected=True``."""


class NotFittedError(AttributeError, ValueError):
    """The test has not been fitted yet."""


def check_schema_columns(df: pd.DataFrame, columns: Iterable[str], *, role: str) -> None:
    """Require ``columns`` and check those that the schema knows (types, ranges, rules)."""
    columns = list(dict.fromkeys(columns))
    require_columns(df, columns, role=role)
    known = [c for c in columns if c in SCHEMA]
    if known:
        validate(df, columns=known)


def numeric_values(df: pd.DataFrame, column: str, *, what: str,
                   allow_missing: bool = False) -> np.ndarray:
    """The column as finite floats, or an :class:`AnkerDataError` naming it and a few bad rows.

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_values(pd.DataFrame({"y": [0, 1, "b"]}), "y", what="outcome")
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: column 'y' (outcome) must be numeric: 1 value(s) are not numbers, e.g. row 2: 'b'
    """
    series = df[column]
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(float)
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        rows = ", ".join(f"row {k}: {series[k]!r}" for k in series.index[bad.to_numpy()][:3])
        raise AnkerDataError(f"column {column!r} ({what}) must be numeric: {int(bad.sum())} "
                             f"value(s) are not numbers, e.g. {rows}", columns=[column])
    out = values.to_numpy(dtype=float, na_value=np.nan)
    if allow_missing:  # missing stays NaN, for callers that count it (the audits)
        if np.isinf(out).any():
            raise AnkerDataError(f"column {column!r} ({what}) has infinite values",
                                 columns=[column])
        return out
    if not np.isfinite(out).all():
        n_bad = int((~np.isfinite(out)).sum())
        raise AnkerDataError(f"column {column!r} ({what}) has {n_bad} missing or infinite "
                             "value(s); anker does not impute: drop or fill these rows first",
                             columns=[column])
    return out


def coefficient_table(names: Sequence[str], coef: np.ndarray, cov: np.ndarray, *,
                      ratio: str | None) -> pd.DataFrame:
    """Estimate, SE, z, p, 95 % CI and (odds or hazard) ratio per term."""
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = coef / se
    table = pd.DataFrame({
        "coef": coef, "se": se, "z": z, "p": 2 * stats.norm.sf(np.abs(z)),
        "ci_low": coef - Z95 * se, "ci_high": coef + Z95 * se,
    }, index=pd.Index(list(names), name="term"))
    if ratio:
        table[ratio] = np.exp(table["coef"])
        table[f"{ratio}_ci_low"] = np.exp(table["ci_low"])
        table[f"{ratio}_ci_high"] = np.exp(table["ci_high"])
    return table


def top_contributions(contributions: np.ndarray, feature_names: Sequence[str], index: pd.Index,
                      *, top: int) -> pd.DataFrame:
    """The ``top`` largest absolute contributions per row, as a tidy wide frame."""
    n, k = contributions.shape
    top = int(min(max(top, 1), k))
    size = np.abs(contributions)
    rows = np.arange(n)
    names = np.asarray(feature_names, dtype=object)
    out = {}
    # top is small (a few factors): repeated argmax beats a full sort per row
    for j in range(top):
        best = size.argmax(axis=1)
        out[f"factor_{j + 1}"] = pd.Categorical.from_codes(best, categories=list(names))
        out[f"contribution_{j + 1}"] = contributions[rows, best]
        size[rows, best] = -1.0
    return pd.DataFrame(out, index=index)


class Assessment:
    """Base of the four tests. Subclasses set ``name`` and implement the fit."""

    name: ClassVar[str] = "assessment"
    ratio_name: ClassVar[str | None] = None
    default_features: ClassVar[tuple[str, ...]] = INFLOW_FEATURES

    def __init__(self, *, features: Sequence[str] | None = None, allow_protected: bool = False,
                 protected: Sequence[str] = PROTECTED) -> None:
        if isinstance(features, str):
            raise TypeError("features: give a list of column names, not one string")
        self._features = tuple(features) if features is not None else self.default_features
        if not self._features:
            raise ValueError("features: at least one feature is needed")
        self.allow_protected = bool(allow_protected)
        self.protected = tuple(protected)
        self.spec_: DesignSpec | None = None
        self.n_fit_: int | None = None
        # training range of each numeric feature: predict-time range check
        self.ranges_: dict[str, tuple[float, float]] = {}

    # ---- configuration -------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        """The feature columns used (in design order)."""
        return list(self._features)

    @property
    def protected_features_used(self) -> list[str]:
        return [f for f in self._features if f in self.protected]

    def _check_protected(self) -> None:
        used = self.protected_features_used
        if used and not self.allow_protected:
            raise ProtectedAttributeError(
                f"features: {used} are protected attributes and are not used as predictors "
                "unless you opt in explicitly with allow_protected=True (the choice is "
                "recorded in the summary and the saved model)", columns=used)
        if used:
            warnings.warn(f"protected attribute(s) {used} used as predictors "
                          "(allow_protected=True); this is recorded with the model",
                          UserWarning, stacklevel=3)

    def _config(self) -> dict[str, Any]:
        return {"features": list(self._features), "allow_protected": self.allow_protected,
                "protected": list(self.protected)}

    # ---- fitted state ----------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self.spec_ is not None

    def _require_fitted(self) -> DesignSpec:
        if self.spec_ is None:
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(df) first")
        return self.spec_

    def _design(self, df: pd.DataFrame) -> np.ndarray:
        spec = self._require_fitted()
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        X = spec.transform(df)
        self._check_ranges(df)
        return X

    def outside_ranges(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per numeric feature, which rows of ``df`` lie outside the range the test was
        fitted on (a boolean array each; a missing value is not outside)."""
        out = {}
        for f, (low, high) in self.ranges_.items():
            values = df[f].to_numpy(dtype=float)
            out[f] = (values < low) | (values > high)
        return out

    def _check_ranges(self, df: pd.DataFrame) -> dict[str, int]:
        """Warn (:class:`~anker.errors.OutOfRangeWarning`) and count the rows whose
        numeric features lie outside the ranges the test was fitted on."""
        counts: dict[str, int] = {}
        detail = []
        any_outside = np.zeros(len(df), dtype=bool)
        for f, outside in self.outside_ranges(df).items():
            low, high = self.ranges_[f]
            if outside.any():
                counts[f] = int(outside.sum())
                any_outside |= outside
                detail.append(f"{f}: {counts[f]} outside [{low:g}, {high:g}]")
        if counts:
            warnings.warn(OutOfRangeWarning(
                f"{type(self).__name__}: {int(any_outside.sum())} of {len(df)} client(s) have "
                f"features outside the range the model was fitted on ({'; '.join(detail)}); "
                "their predictions are extrapolations", counts), stacklevel=4)
        return counts

    def _learn(self, df: pd.DataFrame, extra_columns: Iterable[str]) -> np.ndarray:
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
        self._check_protected()
        check_schema_columns(df, list(self._features) + list(extra_columns),
                             role=type(self).__name__)
        if len(df) == 0:
            raise AnkerDataError("no rows to fit on", columns=[])
        spec = DesignSpec.learn(df, self._features,
                                reference_levels=getattr(self, "reference_levels", None))
        X = spec.transform(df)
        check_rank(X, spec.term_names, owners=spec.term_features,
                   what=f"{type(self).__name__} features")
        self.spec_ = spec
        self.n_fit_ = len(df)
        self.ranges_ = {f: (float(df[f].min()), float(df[f].max()))
                        for f in spec.features if f not in spec.levels}
        return X

    # ---- explanations -----------------------------------------------------------------
    def _contributions(self, X: np.ndarray, coef: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Per feature: (x - reference) * beta summed over that feature's design columns."""
        spec = self._require_fitted()
        owners = np.asarray(spec.term_features)
        out = np.empty((X.shape[0], len(self._features)))
        # a feature owns a few adjacent columns: a narrow product per feature costs
        # n x p flops in all, against n x p x features for one wide matrix product
        for j, f in enumerate(self._features):
            cols = np.flatnonzero(owners == f)
            out[:, j] = X[:, cols] @ coef[cols] - reference[cols] @ coef[cols]
        return out

    # ---- JSON -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The fitted test as plain JSON data (no pickle): config, design and parameters."""
        spec = self._require_fitted()
        return {"anker_model": type(self).__name__, "format_version": FORMAT_VERSION,
                "config": self._config(), "design": spec.to_dict(), "n_fit": self.n_fit_,
                "protected_features_used": self.protected_features_used,
                "ranges": {f: list(r) for f, r in self.ranges_.items()},
                "state": self._state()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Rebuild a fitted test from :meth:`to_dict` output; predictions are identical."""
        if not isinstance(data, dict) or data.get("anker_model") != cls.__name__:
            found = data.get("anker_model") if isinstance(data, dict) else type(data).__name__
            raise AnkerModelFileError(f"not a {cls.__name__} (found {found!r})")
        if data.get("format_version") != FORMAT_VERSION:
            raise AnkerModelFileError(f"{cls.__name__}: unsupported format_version "
                                      f"{data.get('format_version')!r} (this anker reads "
                                      f"{FORMAT_VERSION})")
        from anker.assessments.model_file import check_test_data

        config = check_test_data(cls.__name__, data)
        try:
            obj = cls(**config)
            obj.spec_ = DesignSpec.from_dict(data["design"])
            obj.n_fit_ = data.get("n_fit")
            obj._set_state(data["state"])
            obj.ranges_ = {str(f): (float(r[0]), float(r[1]))
                           for f, r in data.get("ranges", {}).items()}
        except AnkerModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise AnkerModelFileError(f"{cls.__name__}: damaged model data ({exc})") from None
        if list(obj.spec_.features) != obj.features:
            raise AnkerModelFileError(f"{cls.__name__}: design features do not match config")
        return obj

    def __repr__(self) -> str:
        state = f"fitted on {self.n_fit_:,} rows" if self.is_fitted else "not fitted"
        protected = ", allow_protected=True" if self.allow_protected else ""
        return f"{type(self).__name__}({len(self._features)} features{protected}; {state})"


def array_from_json(values: Any, *, shape: tuple[int, ...] | None = None,
                    what: str = "values") -> np.ndarray:
    """A float array from JSON lists; null (NaN) only in a covariance ("cov" in ``what``)."""
    arr = np.asarray(values, dtype=float)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{what} has shape {arr.shape}, expected {shape}")
    if np.isinf(arr).any() or ("cov" not in what and np.isnan(arr).any()):
        raise ValueError(f"{what} must hold finite numbers")
    return arr


def to_json_array(arr: np.ndarray) -> list:
    """NaN-safe list for JSON (NaN -> None)."""
    arr = np.asarray(arr, dtype=float)
    return np.where(np.isfinite(arr), arr, None).tolist()


def out_of_range_column(tests: Iterable[Assessment], df: pd.DataFrame) -> pd.Series:
    """Per client, the numeric features outside the range any of ``tests`` was fitted on.

    The per-client record of the rows an :class:`~anker.errors.OutOfRangeWarning`
    counts: the feature names joined by ``", "`` in the model's order, or ``""``
    when every feature lies inside its training range.

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=500, seed=1).data
    >>> test = anker.ComplianceTest().fit(df)
    >>> new = df.head(3).assign(age=[30, 150, 40], tightness=[0.5, 1e6, 0.5])
    >>> out_of_range_column([test], new).tolist()
    ['', 'age, tightness', '']
    """
    flags: dict[str, np.ndarray] = {}
    for test in tests:
        for f, outside in test.outside_ranges(df).items():
            flags[f] = flags[f] | outside if f in flags else outside
    names = [f for f in flags if flags[f].any()]
    text = np.full(len(df), "", dtype=object)
    # the distinct combinations are few: one text per combination, mapped back by code
    for start in range(0, len(names), 62):
        block = names[start:start + 62]
        code = np.zeros(len(df), dtype=np.int64)
        for j, f in enumerate(block):
            code |= flags[f].astype(np.int64) << j
        uniques, inverse = np.unique(code, return_inverse=True)
        words = np.asarray([", ".join(f for j, f in enumerate(block) if int(u) >> j & 1)
                            for u in uniques], dtype=object)[inverse]
        joined = np.where((text != "") & (words != ""), text + ", ", text)
        text = joined + words
    return pd.Series(text, index=df.index, name="out_of_range")
