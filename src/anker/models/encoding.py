"""Columns encoded once for a design, and the design kept as codes (`CodedDesign`).

`anker.models.design.DesignSpec` learns and builds the one design matrix of
every model from these encodings: a categorical column is hashed once
(`pandas.factorize`) into codes and the text of each code, a numeric column
becomes floats. Scoring many rows does not need the dummy matrix at all: a
`CodedDesign` keeps the numeric columns and one small integer code per
categorical feature, and a linear predictor is the numeric columns times
their coefficients plus, per categorical feature, its level's coefficient
looked up by code. That reads a few bytes per categorical value instead of
a row of dummies, which is what makes a million-client profile fast.
"""

from __future__ import annotations

import ctypes
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from anker.errors import AnkerDataError

if TYPE_CHECKING:  # pragma: no cover
    from anker.models.design import DesignSpec


# rows per block of `CodedDesign.dot`: the block's products stay in cache
_BLOCK_ROWS = 16_384


class UnseenLevelWarning(UserWarning):
    """A categorical level at predict time that the model did not see at fit time."""


# above this many distinct objects a text column is not made of shared strings: hash the text
_MAX_SHARED_OBJECTS = 4096


def category_codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes (-1 where missing) and the text of each code, from one hash pass."""
    factorized = _shared_string_codes(series)
    codes, uniques = factorized if factorized is not None else pd.factorize(
        series, use_na_sentinel=True)
    text = pd.Index(uniques).astype(str)
    if not text.is_unique:  # e.g. 1 and "1" in one object column: one level, as astype(str)
        merged, text = pd.factorize(text)
        codes = np.where(codes >= 0, merged[np.maximum(codes, 0)], -1)
    return codes, [str(v) for v in text]


def _shared_string_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """`pandas.factorize` of a text column whose rows share a few string objects, or None.

    A column read from Parquet or built from a few labels holds the same few
    ``str`` objects many times over. Hashing their addresses (8-byte integers)
    instead of their text is about five times faster; equal objects have equal
    text, and the texts of the few distinct objects are then hashed to merge
    equal strings held in different objects. The codes and uniques are those
    of ``pd.factorize`` (order of first appearance). None (the caller hashes
    the text) unless every distinct object is a ``str`` and there are few.
    """
    if series.dtype != object or len(series) < 2 * _MAX_SHARED_OBJECTS:
        return None
    values = np.ascontiguousarray(series.to_numpy())
    # an object array holds pointers: read them as integers (numpy refuses the view);
    # `values` stays referenced for as long as the integers are used
    addresses = np.frombuffer((ctypes.c_char * values.nbytes).from_address(values.ctypes.data),
                              dtype=np.intp)
    object_codes, distinct = pd.factorize(addresses)
    if len(distinct) > _MAX_SHARED_OBJECTS:
        return None
    # codes come in order of first appearance: the running maximum rises at each first row
    rising = np.flatnonzero(np.diff(np.maximum.accumulate(object_codes))) + 1
    objects = values[np.concatenate([[0], rising])]
    if not all(type(obj) is str for obj in objects):  # missing values, numbers: as pandas does
        return None
    text_codes, uniques = pd.factorize(objects)
    return text_codes[object_codes], uniques


def encode_columns(df: pd.DataFrame, features: Sequence[str], categorical: set[str],
                   numeric_out: np.ndarray | None = None) -> dict:
    """Each feature once: float values, or (codes, level texts) for a categorical one.

    With ``numeric_out`` (rows x numeric features) the numeric features are
    written into its columns, in order, and their values are views of it.
    Missing values raise, naming every column with their counts; a numeric
    feature that holds text raises naming it.
    """
    encoded: dict = {}
    missing: dict[str, int] = {}
    numeric = iter(range(len(features))) if numeric_out is not None else None
    for f in features:
        series = df[f]
        if f in categorical:
            codes, labels = category_codes(series)
            n_missing = int((codes < 0).sum())
            encoded[f] = (codes, labels)
        elif numeric is not None and isinstance(series.dtype, np.dtype) \
                and series.dtype.kind in "iufb":
            values = numeric_out[:, next(numeric)]  # converted as copied: no float temporary
            np.copyto(values, series.to_numpy(), casting="unsafe")
            n_missing = int(np.isnan(values).sum()) if series.dtype.kind == "f" else 0
            encoded[f] = values
        else:
            n_missing = _numeric_values(f, series, encoded)
            if numeric is not None and f in encoded:
                values = numeric_out[:, next(numeric)]
                values[:] = encoded[f]
                encoded[f] = values
        if n_missing:
            missing[f] = n_missing
    if missing:
        detail = ", ".join(f"{c}: {n} row(s)" for c, n in missing.items())
        raise AnkerDataError(f"missing values in feature column(s) ({detail}); anker does not "
                             "impute: drop or fill these rows first", columns=list(missing))
    return encoded


def _numeric_values(f: str, series: pd.Series, encoded: dict) -> int:
    """Put the floats of a numeric feature in ``encoded``; returns its count of missing values."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        encoded[f] = series.to_numpy(dtype=float, na_value=np.nan)
        return int(np.isnan(encoded[f]).sum())
    n_missing = int(series.isna().sum())
    if not n_missing:
        try:
            encoded[f] = series.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise AnkerDataError(f"column {f!r} must be numeric (it was numeric when the model "
                                 f"was fitted), got dtype {series.dtype}", columns=[f]) from None
    return n_missing


def level_codes(spec: DesignSpec, encoded: dict, rows: np.ndarray | None = None, *,
                warn_unseen: bool = True, stacklevel: int = 3) -> dict[str, np.ndarray]:
    """Per categorical feature, each row's position in the spec's levels (0: the reference).

    A level not seen at fit time counts as the reference and is reported in
    one :class:`UnseenLevelWarning` with its count.
    """
    out: dict[str, np.ndarray] = {}
    unseen: dict[str, dict[str, int]] = {}
    for f, levels in spec.levels.items():
        codes, labels = encoded[f]
        codes = codes if rows is None else codes[rows]
        position = {lv: k for k, lv in enumerate(levels)}
        lut = np.array([position.get(lab, -1) for lab in labels], dtype=np.int64)
        if (lut < 0).any():
            seen = np.bincount(codes, minlength=len(labels))
            counts = {lab: int(seen[k]) for k, lab in enumerate(labels) if lut[k] < 0 and seen[k]}
            if counts:
                unseen[f] = counts
            lut = np.maximum(lut, 0)
        out[f] = lut.astype(np.int8 if len(levels) < 127 else np.int64)[codes]
    if unseen and warn_unseen:
        detail = "; ".join(f"{f}: {lv}" for f, lv in unseen.items())
        warnings.warn(f"levels not seen at fit time were treated as the reference level "
                      f"({detail})", UnseenLevelWarning, stacklevel=stacklevel)
    return out


class CodedDesign:
    """The design of a frame's rows as numeric columns and level codes, no dummy matrix.

    ``dense()`` is the design matrix ``spec.transform(df)`` would build;
    ``dot(W)`` is ``dense() @ W`` and ``contributions`` the per-feature sums
    of ``(x - reference) * coef`` over each feature's columns, computed from
    the codes.

    Examples
    --------
    >>> import pandas as pd
    >>> from anker.models.design import DesignSpec
    >>> df = pd.DataFrame({"age": [30, 40, 50], "ui": ["no", "yes", "no"]})
    >>> spec = DesignSpec.learn(df, ["age", "ui"])
    >>> coded = CodedDesign(spec, df)
    >>> bool((coded.dense() == spec.transform(df)).all())
    True
    >>> coded.dot(np.array([[1.0], [10.0]])).ravel().tolist()
    [30.0, 50.0, 50.0]
    """

    def __init__(self, spec: DesignSpec, df: pd.DataFrame, *, warn_unseen: bool = True) -> None:
        from anker.schema import require_columns

        require_columns(df, spec.features, role="design matrix")
        self.spec, self.n = spec, len(df)
        numeric = [f for f in spec.features if f not in spec.levels]
        self.numeric = np.empty((self.n, len(numeric)), order="F")
        encoded = encode_columns(df, spec.features, set(spec.levels), numeric_out=self.numeric)
        self.codes = level_codes(spec, encoded, warn_unseen=warn_unseen, stacklevel=3)
        # the design columns of each feature: numeric ones by position in self.numeric
        self._columns: dict[str, slice] = {}
        start = 0
        for f in spec.features:
            width = len(spec.levels[f]) - 1 if f in spec.levels else 1
            self._columns[f] = slice(start, start + width)
            start += width
        self._numeric_terms = np.array([self._columns[f].start for f in numeric], dtype=np.intp)
        self._combined: np.ndarray | None = None

    def numeric_columns(self) -> dict[str, np.ndarray]:
        """Each numeric feature's values (views of the coded design)."""
        names = [f for f in self.spec.features if f not in self.spec.levels]
        return {f: self.numeric[:, j] for j, f in enumerate(names)}

    def dot(self, W: np.ndarray) -> np.ndarray:
        """``dense() @ W`` for W of shape (terms, k): a product over the numeric columns and a
        lookup of each categorical feature's rows of W, in blocks of rows held in cache."""
        W = np.asarray(W, dtype=float)
        numeric_w = W[self._numeric_terms]
        # one table over every combination of the categorical levels, when they are few
        tables = [np.vstack([np.zeros((1, W.shape[1])), W[self._columns[f]]]) for f in self.codes]
        combined, table = self._combined_codes(tables)
        # column-major: each column (a linear predictor) is read on its own afterwards
        out = np.empty((self.n, W.shape[1]), order="F")
        width = min(_BLOCK_ROWS, self.n)
        # reused working memory: a fresh block per step costs page faults
        work, looked_up = np.empty((width, W.shape[1])), np.empty((width, W.shape[1]))
        for lo in range(0, self.n, _BLOCK_ROWS):
            hi = min(lo + _BLOCK_ROWS, self.n)
            block = np.matmul(self.numeric[lo:hi], numeric_w, out=work[:hi - lo])
            if combined is not None:
                # codes are valid by construction: mode="raise" would gather into a buffer
                # and copy it into out
                block += np.take(table, combined[lo:hi], axis=0, out=looked_up[:hi - lo],
                                 mode="wrap")
            else:
                for t, codes in zip(tables, self.codes.values(), strict=True):
                    block += np.take(t, codes[lo:hi], axis=0, out=looked_up[:hi - lo],
                                     mode="wrap")
            out[lo:hi] = block
        return out

    def _combined_codes(self, tables: list[np.ndarray]):
        """One code per row for its combination of levels and the summed table, or (None, None)
        when there are too many combinations."""
        sizes = [t.shape[0] for t in tables]
        if not tables or int(np.prod(sizes)) > 4096:
            return None, None
        if self._combined is None:
            code = np.zeros(self.n, dtype=np.int16)
            for size, codes in zip(sizes, self.codes.values(), strict=True):
                code = code * np.int16(size) + codes
            self._combined = code
        table = tables[0]
        for t in tables[1:]:
            table = (table[:, None, :] + t[None, :, :]).reshape(-1, t.shape[1])
        return self._combined, table

    def contributions(self, coef: np.ndarray, reference: np.ndarray,
                      features: Sequence[str], rows: slice = slice(None),
                      out: np.ndarray | None = None) -> np.ndarray:
        """Per feature, the sum over its design columns of ``(x - reference) * coef``: an
        array of features x rows (``features`` order; the rows in ``rows`` when given),
        written into ``out`` when given."""
        n = len(range(*rows.indices(self.n)))
        out = np.empty((len(features), n)) if out is None else out
        numeric = {f: j for j, f in enumerate(f for f in self.spec.features
                                              if f not in self.spec.levels)}
        for j, f in enumerate(features):
            cols = self._columns[f]
            if f in self.codes:
                table = np.r_[0.0, coef[cols]] - reference[cols] @ coef[cols]
                np.take(table, self.codes[f][rows], out=out[j], mode="wrap")
            else:
                np.multiply(self.numeric[rows, numeric[f]], coef[cols.start], out=out[j])
                out[j] -= reference[cols] @ coef[cols]
        return out

    def dense(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The design matrix (column-major), of ``rows`` (positions) only when given."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.intp)
        X = np.empty((rows.size, self._numeric_terms.size
                      + sum(len(lv) - 1 for lv in self.spec.levels.values())), order="F")
        X[:, self._numeric_terms] = self.numeric[rows]
        for f, codes in self.codes.items():
            cols, picked = self._columns[f], codes[rows]
            for level in range(1, cols.stop - cols.start + 1):
                np.equal(picked, level, out=X[:, cols.start + level - 1])
        return X
