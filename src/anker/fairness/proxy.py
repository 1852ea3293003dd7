"""Proxy check: which features predict a protected attribute, alone and together."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats.contingency import association

from anker.errors import AnkerDataError
from anker.schema import require_columns

ALL_FEATURES = "(all features)"


def _discretise(values: pd.Series, bins: int) -> tuple[np.ndarray, str]:
    """Integer level per row: quantile bins for a numeric feature, categories otherwise.

    Missing values form a level of their own, so no row is lost.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and values.nunique() > bins:
        codes = pd.qcut(values, bins, labels=False, duplicates="drop").to_numpy()
        return np.where(np.isnan(codes), np.nanmax(codes) + 1, codes).astype(np.int64), "numeric"
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return codes.astype(np.int64), "numeric" if numeric else "categorical"


def _cross_fitted_proba(levels: np.ndarray, y: np.ndarray, folds: np.ndarray,
                        n_classes: int) -> np.ndarray:
    """P(class | feature level) per row, estimated on the other folds.

    Counts per level are shrunk towards the training folds' class shares with
    the weight of one person, so a level unseen in training gets the shares.
    """
    n_levels = int(levels.max()) + 1
    proba = np.empty((len(y), n_classes))
    for fold in np.unique(folds):
        train = folds != fold
        counts = np.bincount(levels[train] * n_classes + y[train],
                             minlength=n_levels * n_classes).reshape(n_levels, n_classes)
        prior = np.bincount(y[train], minlength=n_classes) / train.sum()
        table = (counts + prior) / (counts.sum(axis=1, keepdims=True) + 1.0)
        proba[~train] = table[levels[~train]]
    return proba


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro",
                               labels=np.arange(proba.shape[1])))


def _all_features_auc(df: pd.DataFrame, features: list[str], y: np.ndarray, cv: object) -> float:
    """Cross-validated AUC of one logistic model on all features (scikit-learn)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [f for f in features if pd.api.types.is_numeric_dtype(df[f])
               and not pd.api.types.is_bool_dtype(df[f])]
    categorical = [f for f in features if f not in numeric]
    X = df[features].copy()
    X[categorical] = X[categorical].astype(object).where(X[categorical].notna(), "(missing)")
    X[categorical] = X[categorical].astype(str)
    prepare = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                  StandardScaler()), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)])
    model = make_pipeline(prepare, LogisticRegression(solver="newton-cholesky", max_iter=200))
    return _auc(y, cross_val_predict(model, X, y, cv=cv, method="predict_proba"))


def proxy_check(df: pd.DataFrame, protected_col: str, features: Sequence[str], *,
                top: int | None = None, seed: int = 0, bins: int = 10,
                cv: int = 5) -> pd.DataFrame:
    """Which features predict a protected attribute most strongly, alone and together.

    A model that does not use ``sex`` or ``migration_background`` can still
    treat the groups differently through features that stand in for them.
    This ranks the features by how well each one alone predicts the
    protected attribute, and reports how well all of them together do.

    Per feature (numeric features cut into ``bins`` quantile bins, missing
    values a level of their own):

    - ``auc``: out-of-fold AUC of P(protected level | feature level), from
      the other folds' counts (one-vs-rest macro average for more than two
      levels; 0.5 = no information, 1 = the feature reveals the attribute);
    - ``cramers_v``: Cramér's V of the feature x attribute table (0 to 1);
    - ``mutual_information``: in nats (scikit-learn ``mutual_info_score``).

    The last row, ``"(all features)"``, gives the out-of-fold AUC of a
    scikit-learn logistic regression on all features together (numeric
    standardised, categorical one-hot); it is also in ``attrs``.

    Parameters
    ----------
    df : DataFrame
        Records with ``protected_col`` and the features.
    protected_col : str
        The protected attribute, e.g. ``"migration_background"``.
    features : list of str
        The model's features, e.g. ``test.features``.
    top : int, optional
        Keep only the ``top`` strongest features (the all-features row stays).
    seed : int
        Seed of the stratified cross-validation folds.
    bins : int
        Quantile bins for a numeric feature.
    cv : int
        Number of cross-validation folds.

    Returns
    -------
    DataFrame
        Indexed by feature, strongest first: ``kind``, ``n_levels``, ``auc``,
        ``cramers_v``, ``mutual_information``, ``rank``.

    Examples
    --------
    >>> import anker
    >>> from anker.fairness import proxy_check
    >>> df = anker.simulate_population(n_per_cohort=2_000, seed=1).data
    >>> table = proxy_check(df, "migration_background", ["education", "age", "tightness"])
    >>> table.index[0]
    'education'
    >>> bool(table.attrs["auc_all_features"] > 0.5)
    True
    """
    from sklearn.metrics import mutual_info_score
    from sklearn.model_selection import StratifiedKFold

    if isinstance(features, str):
        raise TypeError("features: give a list of column names, not one string")
    features = list(dict.fromkeys(features))
    if not features:
        raise ValueError("features: at least one feature is needed")
    require_columns(df, [protected_col, *features], role="proxy check")
    if top is not None and (not isinstance(top, int | np.integer) or top < 1):
        raise ValueError(f"top must be a positive integer, got {top!r}")
    if not isinstance(bins, int | np.integer) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    if not isinstance(cv, int | np.integer) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}")
    if protected_col in features:
        warnings.warn(f"features: {protected_col!r} is the protected attribute itself; left out "
                      "of the proxy check", UserWarning, stacklevel=2)
        features.remove(protected_col)
        if not features:
            raise ValueError("features: no feature left besides the protected attribute")
    labelled = df[protected_col].notna().to_numpy()
    if n_dropped := int((~labelled).sum()):
        warnings.warn(f"{protected_col}: {n_dropped} of {len(df)} row(s) have no value and are "
                      "left out of the proxy check", UserWarning, stacklevel=2)
    data = df.loc[labelled, features]
    y, classes = pd.factorize(df.loc[labelled, protected_col], sort=True)
    class_sizes = np.bincount(y, minlength=len(classes))
    if len(classes) < 2:
        raise AnkerDataError(f"{protected_col}: needs at least two groups, found "
                             f"{list(classes)}", columns=[protected_col])
    if class_sizes.min() < cv:
        rare = classes[int(class_sizes.argmin())]
        raise AnkerDataError(f"{protected_col}: group {rare!r} has {class_sizes.min()} row(s); "
                             f"cv={cv} folds need at least {cv} per group", columns=[protected_col])
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    folds = np.empty(len(y), dtype=np.int64)
    for fold, (_, test_rows) in enumerate(splitter.split(np.zeros(len(y)), y)):
        folds[test_rows] = fold

    rows = {}
    for feature in features:
        levels, kind = _discretise(data[feature], bins)
        table = np.bincount(levels * len(classes) + y, minlength=(levels.max() + 1)
                            * len(classes)).reshape(-1, len(classes))
        table = table[table.sum(axis=1) > 0]
        rows[feature] = {
            "kind": kind, "n_levels": len(table),
            "auc": _auc(y, _cross_fitted_proba(levels, y, folds, len(classes))),
            "cramers_v": float(association(table, method="cramer")) if len(table) > 1 else 0.0,
            "mutual_information": float(mutual_info_score(y, levels))}
    result = (pd.DataFrame.from_dict(rows, orient="index")
              .sort_values(["auc", "cramers_v"], ascending=False, kind="stable"))
    result["rank"] = np.arange(1, len(result) + 1)
    if top is not None:
        result = result.head(top)
    all_auc = _all_features_auc(data, features, y, splitter)
    result.loc[ALL_FEATURES] = {"kind": "all features", "n_levels": np.nan, "auc": all_auc,
                                "cramers_v": np.nan, "mutual_information": np.nan,
                                "rank": np.nan}
    result.index.name = "feature"
    result.attrs.update({"protected_col": protected_col, "levels": list(classes),
                         "n": int(len(y)), "n_dropped": n_dropped, "auc_all_features": all_auc,
                         "cv": int(cv), "bins": int(bins), "seed": seed,
                         "auc_method": "out-of-fold, one-vs-rest macro average for more than "
                                       "two groups"})
    return result
