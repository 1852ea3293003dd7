"""The one design-matrix builder shared by every model in anker.

A :class:`DesignSpec` is learned from the fitting data: which features are
numeric and which categorical, and for each categorical feature its levels,
the first of which is the reference (no column). ``transform`` then turns any
frame with those columns into a float matrix with the same columns in the
same order, so fitting, prediction, the JSON model file and the cohort
comparison all agree on what a coefficient means.

Rules, the same everywhere:

* numeric features enter as they are (units of the column);
* a categorical feature gets one 0/1 column per non-reference level, named
  ``column[level]``; the reference is, in this order, the level named in
  ``reference_levels``, the first observed category of a pandas
  ``CategoricalDtype`` (its order is kept), the schema's preferred level when
  present (``education`` -> ``low``), otherwise the most frequent level;
* missing values are not imputed: they raise :class:`AnkerDataError` naming
  the column and the number of rows;
* a level not seen at fit time is treated as the reference level and
  reported in a warning with its count, never silently;
* identifiability, one policy for every fit: before a model is fitted its
  design is checked by :func:`check_rank`. A column that does not vary
  (aliased with the intercept) or that is a linear combination of earlier
  columns (``age`` and ``age - 18``) is **refused** with an
  :class:`AnkerDataError` naming it and the columns it is aliased with,
  never dropped behind the user's back and never fitted with a
  pseudo-inverse that reports a false, tiny standard error. The four tests
  and ``compare_cohorts`` check their designs this way; the array-level fits
  refuse a singular information matrix (`anker.models.newton.covariance`)
  and warn on (quasi-)separation or a monotone likelihood.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError
from anker.models.encoding import (  # UnseenLevelWarning: imported from here by users
    UnseenLevelWarning,  # noqa: F401
    encode_columns,
    level_codes,
)
from anker.schema import PROTECTED, require_columns

# reference level per schema column, when the level occurs in the data
PREFERRED_REFERENCE = {
    "education": "low",
    "occupation_group": "administrative",
    "sector": "industry",
    "sex": "male",
    "migration_background": "none",
}
# columns whose levels have a natural order (used for the order of dummy columns)
LEVEL_ORDER = {"education": ("low", "medium", "high")}


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _level_order(name: str, levels: Iterable[str], counts: pd.Series,
                 series: pd.Series | None = None, reference: object = None) -> list[str]:
    levels = list(levels)
    if reference is not None:
        if str(reference) not in levels:
            raise ValueError(f"reference_levels: {reference!r} is not a level of {name!r} "
                             f"(levels: {sorted(levels)[:10]})")
        return [str(reference)] + [lv for lv in _declared(series, levels) if lv != str(reference)]
    if series is not None and isinstance(series.dtype, pd.CategoricalDtype):
        return _declared(series, levels)
    preferred = PREFERRED_REFERENCE.get(name)
    if preferred in levels:
        reference = preferred
    else:  # most frequent, ties broken by name so the choice is deterministic
        reference = sorted(levels, key=lambda lv: (-counts[lv], lv))[0]
    order = LEVEL_ORDER.get(name)
    rest = [lv for lv in levels if lv != reference]
    if order:
        rest.sort(key=lambda lv: (order.index(lv) if lv in order else len(order), lv))
    else:
        rest.sort()
    return [reference] + rest


def check_reference_levels(reference_levels: dict[str, object] | None, features: Sequence[str],
                           categorical: Iterable[str]) -> dict[str, object]:
    """``reference_levels`` as a dict, checked: only features, and only categorical ones."""
    references = dict(reference_levels or {})
    unknown = [f for f in references if f not in features]
    if unknown:
        raise ValueError(f"reference_levels: {unknown} are not features ({list(features)})")
    categorical = set(categorical)
    numeric = [f for f in features if f in references and f not in categorical]
    if numeric:
        raise ValueError(f"reference_levels: {numeric[0]!r} is numeric and enters as a number; "
                         "make it categorical (a string or pandas Categorical column) "
                         "to give it a reference level")
    return references


def _declared(series: pd.Series | None, levels: list[str]) -> list[str]:
    """The observed levels in a CategoricalDtype's order, else sorted."""
    if series is not None and isinstance(series.dtype, pd.CategoricalDtype):
        return [str(c) for c in series.cat.categories if str(c) in levels]
    return sorted(levels)


@dataclass(frozen=True)
class DesignSpec:
    """How to turn records into a design matrix; learned once, at fit time.

    Attributes
    ----------
    features : tuple of str
        The feature columns, in order.
    levels : dict
        For each categorical feature, its levels; the first is the reference.
    term_names : tuple of str
        Names of the matrix columns: ``age``, ``education[medium]``, ...
    """

    features: tuple[str, ...]
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def categorical(self) -> tuple[str, ...]:
        return tuple(f for f in self.features if f in self.levels)

    @property
    def term_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for f in self.features:
            if f in self.levels:
                names += [f"{f}[{lv}]" for lv in self.levels[f][1:]]
            else:
                names.append(f)
        return tuple(names)

    @property
    def term_features(self) -> tuple[str, ...]:
        """The feature each matrix column belongs to (for grouping contributions)."""
        out: list[str] = []
        for f in self.features:
            out += [f] * (len(self.levels[f]) - 1 if f in self.levels else 1)
        return tuple(out)

    @classmethod
    def learn(cls, df: pd.DataFrame, features: Sequence[str], *,
              categorical: Iterable[str] = (),
              reference_levels: dict[str, object] | None = None) -> DesignSpec:
        """Learn the spec from fitting data.

        Parameters
        ----------
        df : DataFrame
            The fitting data.
        features : sequence of str
            Feature columns.
        categorical : iterable of str
            Numeric columns to treat as categorical anyway (e.g. coded regions).
        reference_levels : dict, optional
            The reference level per categorical feature, e.g. ``{"ui": "no"}``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"ui": ["yes", "yes", "no"], "age": [30, 40, 50]})
        >>> DesignSpec.learn(df, ["ui", "age"]).term_names
        ('ui[no]', 'age')
        >>> DesignSpec.learn(df, ["ui", "age"], reference_levels={"ui": "no"}).term_names
        ('ui[yes]', 'age')
        >>> ordered = df.assign(ui=pd.Categorical(df["ui"], categories=["no", "yes"]))
        >>> DesignSpec.learn(ordered, ["ui", "age"]).term_names
        ('ui[yes]', 'age')
        """
        return cls._learn(df, features, categorical, reference_levels)[0]

    @classmethod
    def _learn(cls, df: pd.DataFrame, features: Sequence[str], categorical: Iterable[str],
               reference_levels: dict[str, object] | None) -> tuple[DesignSpec, dict]:
        """The spec and the encoded columns it was learned from (one pass over each column)."""
        features = tuple(features)
        if len(set(features)) != len(features):
            dup = sorted({f for f in features if features.count(f) > 1})
            raise ValueError(f"features: listed more than once: {dup}")
        require_columns(df, features, role="design matrix")
        forced = set(categorical)
        cats = {f for f in features if f in forced or _is_categorical(df[f])}
        references = check_reference_levels(reference_levels, features, cats)
        encoded = encode_columns(df, features, cats)
        levels: dict[str, tuple[str, ...]] = {}
        for f in features:
            if f in cats:
                codes, labels = encoded[f]
                counts = pd.Series(np.bincount(codes, minlength=len(labels)), index=labels)
                levels[f] = tuple(_level_order(f, labels, counts, df[f], references.get(f)))
            elif not np.isfinite(encoded[f]).all():
                raise AnkerDataError(f"column {f!r} has infinite values", columns=[f])
        return cls(features=features, levels=levels), encoded

    def transform(self, df: pd.DataFrame, *, warn_unseen: bool = True,
                  rows: np.ndarray | None = None) -> np.ndarray:
        """Build the float design matrix (rows of ``df`` x ``term_names``), no intercept.

        Unseen categorical levels are treated as the reference level and
        reported in an :class:`UnseenLevelWarning` with their counts. With
        ``rows`` (integer positions) the matrix holds those rows of ``df`` in
        that order, as ``transform(df.iloc[rows])`` would, without copying the
        frame. The matrix is column-major.
        """
        require_columns(df, self.features, role="design matrix")
        return self._matrix(encode_columns(df, self.features, set(self.levels)), len(df),
                            warn_unseen=warn_unseen, rows=rows)

    def _matrix(self, encoded: dict, n: int, *, warn_unseen: bool = True,
                rows: np.ndarray | None = None) -> np.ndarray:
        if rows is not None:
            rows = np.asarray(rows, dtype=np.intp)
            n = rows.size
        codes = level_codes(self, encoded, rows, warn_unseen=warn_unseen, stacklevel=4)
        # column-major: every feature fills whole columns
        X = np.empty((n, len(self.term_names)), dtype=float, order="F")
        j = 0
        for f in self.features:
            if f not in self.levels:
                X[:, j] = encoded[f] if rows is None else encoded[f][rows]
                j += 1
                continue
            for level in range(1, len(self.levels[f])):
                np.equal(codes[f], level, out=X[:, j + level - 1])
            j += len(self.levels[f]) - 1
        return X

    def protected_features(self, protected: Iterable[str] = PROTECTED) -> list[str]:
        return [f for f in self.features if f in set(protected)]

    def to_dict(self) -> dict:
        return {"features": list(self.features),
                "levels": {f: list(lv) for f, lv in self.levels.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> DesignSpec:
        try:
            features = tuple(str(f) for f in data["features"])
            levels = {str(f): tuple(str(v) for v in lv) for f, lv in data["levels"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a design specification: {exc!r}") from None
        unknown = set(levels) - set(features)
        if unknown or any(len(lv) < 1 for lv in levels.values()):
            raise ValueError(f"design specification is inconsistent (levels for {sorted(unknown)})")
        return cls(features=features, levels=levels)


def check_rank(X: np.ndarray, names: Sequence[str], *, intercept: bool = True,
               what: str = "design", owners: Sequence[str] | None = None) -> None:
    """Refuse a design whose columns are constant or aliased (linear combinations).

    Columns are taken in order; a column whose variance left after
    regressing it on the intercept (``intercept=True``) and the columns
    kept before it is below 1e-10 of its own is aliased. The error names
    each aliased column and the columns it is a combination of.

    Parameters
    ----------
    X : (n, p) array
        Design matrix without intercept.
    names : sequence of str
        Column names (``term_names``).
    owners : sequence of str, optional
        The feature each column belongs to, for ``AnkerDataError.columns``.

    Examples
    --------
    >>> import numpy as np
    >>> age = np.array([20.0, 30, 40, 50])
    >>> check_rank(np.column_stack([age, age ** 2]), ["age", "age2"])
    >>> check_rank(np.column_stack([age, age - 18]), ["age", "age_minus_18"])
    Traceback (most recent call last):
    ...
    anker.errors.AnkerDataError: design: column(s) not identifiable, leave them out: 'age_minus_18' = a combination of intercept, age
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    if p == 0:
        return
    names = [str(v) for v in names]
    owners = list(owners) if owners is not None else names
    # the Gram matrix of the columns shifted by their first row, in chunks: no n x p
    # temporaries, and a constant column is exactly 0 (no cancellation can hide it)
    shift = X[0] if intercept else np.zeros(p)
    G = np.zeros((p, p))
    sums = np.zeros(p)
    for start in range(0, n, 16_384):
        S = X[start:start + 16_384] - shift
        G += S.T @ S
        sums += S.sum(axis=0)
    if intercept:
        G -= np.outer(sums, sums) / n
    diag = np.diag(G).copy()
    problems: list[str] = []
    involved: list[str] = []
    constant = ~(diag > 0)
    if not intercept:
        constant = ~np.any(X != 0, axis=0)
    scale = np.sqrt(np.where(constant | ~(diag > 0), 1.0, diag))
    G = G / scale[:, None] / scale[None, :]
    kept: list[int] = []
    for j in range(p):
        if constant[j]:
            problems.append(f"{names[j]!r} does not vary (a single value in all {n} rows)")
            involved.append(owners[j])
            continue
        if kept:
            Gk = G[np.ix_(kept, kept)]
            coef = np.linalg.lstsq(Gk, G[kept, j], rcond=None)[0]
            resid = G[j, j] - G[kept, j] @ coef
        else:
            coef, resid = np.zeros(0), G[j, j]
        if resid <= 1e-10 * G[j, j]:
            partners = (["intercept"] if intercept else []) + [
                names[k] for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8]
            problems.append(f"{names[j]!r} = a combination of {', '.join(partners)}")
            involved += [owners[j]] + [owners[k] for k, c in zip(kept, coef, strict=True)
                                       if abs(c) > 1e-8]
        else:
            kept.append(j)
    if problems:
        raise AnkerDataError(f"{what}: column(s) not identifiable, leave them out: "
                             + "; ".join(problems), columns=list(dict.fromkeys(involved)))


def design_matrix(df: pd.DataFrame, features: Sequence[str], *,
                  spec: DesignSpec | None = None, categorical: Iterable[str] = (),
                  reference_levels: dict[str, object] | None = None,
                  rows: np.ndarray | None = None) -> tuple[np.ndarray, DesignSpec]:
    """Learn (or reuse) a :class:`DesignSpec` and return ``(X, spec)``.

    Learning and building share one pass over each column (a categorical one
    is hashed once); ``rows`` as in :meth:`DesignSpec.transform`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [30, 40, 50], "education": ["low", "high", "medium"]})
    >>> X, spec = design_matrix(df, ["age", "education"])
    >>> spec.term_names
    ('age', 'education[medium]', 'education[high]')
    >>> X.tolist()
    [[30.0, 0.0, 0.0], [40.0, 0.0, 1.0], [50.0, 1.0, 0.0]]
    """
    if spec is not None:
        return spec.transform(df, rows=rows), spec
    spec, encoded = DesignSpec._learn(df, features, categorical, reference_levels)
    return spec._matrix(encoded, len(df), rows=rows), spec
