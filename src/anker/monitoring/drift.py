"""``anker.monitor``: has the inflow drifted away from the fitting data, and does the model still fit?

The model file keeps, from fitting, binned distributions of every feature
and score (`anker.monitoring.reference`). :func:`monitor` counts a new
inflow in the same bins and computes the population stability index per
variable, PSI = sum over bins of (q - p) ln(q / p), with p the fitting
data's and q the new data's share (each bin's count plus one half, so an
empty bin stays finite). Under no change, n_eff x PSI with n_eff = 1 / (1/n
+ 1/m) is approximately chi-square with (bins - 1) degrees of freedom (PSI
is the symmetrised Kullback-Leibler divergence, whose second-order term is
Pearson's two-sample statistic), which gives a p-value. A variable is
flagged only when its PSI passes ``psi_threshold`` and the p-value is below
``alpha`` divided by the number of variables: small inflows move PSI by
chance, large ones make every trifle significant, so both must hold.

When the new data hold outcomes, each test is checked on them
(`anker.monitoring.performance`) and advised: ``keep``, ``recalibrate``
(intercept or baseline update) or ``refit``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from anker.errors import AnkerDataError, AnkerModelFileError
from anker.monitoring.performance import advise, check_tests
from anker.monitoring.reference import FORMAT_VERSION, bin_labels, count_bins, test_scores
from anker.schema import require_columns

__all__ = ["Monitoring", "monitor", "psi_table"]

PSI_MODERATE, PSI_MAJOR = 0.10, 0.25
_PSEUDO = 0.5


@dataclass(frozen=True)
class Monitoring:
    """Result of :func:`monitor`.

    Attributes
    ----------
    psi : DataFrame
        Indexed by variable (features, then scores): ``kind``, ``psi``,
        ``p_value``, ``n_bins``, ``n_reference``, ``n_new``, ``n_missing``,
        ``n_unseen``, ``n_out_of_range``, ``mean_reference``, ``mean_new``,
        ``flagged``.
    bins : DataFrame
        Every bin of every variable (missing and unseen levels included):
        ``variable``, ``bin``, ``n_reference``, ``n_new``, ``share_reference``,
        ``share_new``, ``psi``.
    calibration : DataFrame or None
        Per test, when the new data hold its outcome (see
        `anker.monitoring.performance.check_tests`).
    flags : list of str
        Plain sentences, one per finding; empty when nothing moved.
    advice : DataFrame
        Per test: ``advice`` (keep / recalibrate / refit) and ``reason``.
    notes : list of str
        Rows or values that could not be used, with counts.
    settings : dict
        Thresholds and levels used.
    """

    psi: pd.DataFrame
    bins: pd.DataFrame
    calibration: pd.DataFrame | None
    flags: list[str]
    advice: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        """The flags, the advice and the largest shifts as plain text."""
        lines = [f"monitoring {self.settings.get('n_new', 0):,} new rows against "
                 f"{self.settings.get('n_reference', 0):,} fitting rows"]
        lines += [f"- {f}" for f in self.flags] or ["- no flags: the inflow looks like the "
                                                     "fitting data"]
        lines.append("advice per test:")
        lines += [f"  {name:<17} {row.advice:<12} {row.reason}"
                  for name, row in self.advice.iterrows()]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        counts = self.advice["advice"].value_counts().to_dict() if len(self.advice) else {}
        return (f"Monitoring({len(self.flags)} flag(s); advice "
                + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")")


def psi_table(reference: dict[str, Any], counted: dict[str, Any]) -> pd.DataFrame:
    """Per bin of one variable: counts, shares (with half a count added) and PSI terms.

    Examples
    --------
    >>> from anker.monitoring.reference import learn_bins, count_bins
    >>> import pandas as pd
    >>> spec = learn_bins(pd.Series(["a"] * 50 + ["b"] * 50))
    >>> t = psi_table(spec, count_bins(spec, pd.Series(["a"] * 80 + ["b"] * 20)))
    >>> round(float(t["psi"].sum()), 3)
    0.402
    """
    labels = bin_labels(reference) + ["(missing)"]
    ref = list(reference["counts"]) + [reference["n_missing"]]
    new = list(counted["counts"]) + [counted["n_missing"]]
    if reference["kind"] == "categorical":
        labels.append("(unseen level)")
        ref.append(0)
        new.append(counted["n_unseen"])
    table = pd.DataFrame({"bin": labels, "n_reference": np.asarray(ref, dtype=np.int64),
                          "n_new": np.asarray(new, dtype=np.int64)})
    p = (table["n_reference"] + _PSEUDO) / (table["n_reference"].sum() + _PSEUDO * len(table))
    q = (table["n_new"] + _PSEUDO) / (table["n_new"].sum() + _PSEUDO * len(table))
    table["share_reference"], table["share_new"] = p, q
    table["psi"] = (q - p) * np.log(q / p)
    return table


def _check_reference(model: Any) -> dict[str, Any]:
    if not hasattr(model, "tests") or not hasattr(model, "is_fitted"):
        raise TypeError(f"model must be a fitted AnkerModel, got {type(model).__name__}")
    if not model.is_fitted:
        raise ValueError("model is not fitted: call fit(df) or AnkerModel.load(path) first")
    ref = getattr(model, "reference_", None)
    if not ref:
        raise AnkerModelFileError(
            "this model holds no reference distributions (a model file written before "
            "monitoring existed): refit it with this anker (anker fit) and save it again")
    if (not isinstance(ref, dict) or ref.get("format_version") != FORMAT_VERSION
            or not isinstance(ref.get("features"), dict) or not isinstance(ref.get("scores"), dict)):
        raise AnkerModelFileError("damaged reference distributions in the model file "
                                  f"(format {ref.get('format_version') if isinstance(ref, dict) else '?'!r}, "
                                  f"this anker reads {FORMAT_VERSION})")
    return ref


def _scores_on(model: Any, df: pd.DataFrame, features: list[str],
               notes: list[str]) -> dict[str, pd.Series]:
    """Scores on the rows with every feature present; the others count as missing scores."""
    complete = df[features].notna().all(axis=1)
    if (n_incomplete := int((~complete).sum())):
        notes.append(f"{n_incomplete} of {len(df)} new row(s) lack a feature value: they count "
                     "in the missing bin of that feature and of every score")
    if not complete.any():
        return {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = test_scores(model, df[complete])
    for w in caught:
        if str(w.message) not in notes:
            notes.append(str(w.message))
    return {k: v.reindex(df.index) for k, v in scores.items()}


def _surprise_p(k: int, n: int, expected_share: float) -> float:
    """P(at least k of n new rows beyond what the fitting data showed, by chance)."""
    return float(stats.binom.sf(k - 1, n, min(expected_share, 1.0))) if k else 1.0


def monitor(model: Any, new_df: pd.DataFrame, *, psi_threshold: float = PSI_MODERATE,
            alpha: float = 0.01, level: float = 0.95, tolerance: float = 0.05,
            slope_tolerance: float = 0.20, discrimination_drop: float = 0.03,
            seed: int = 0) -> Monitoring:
    """Drift of a new inflow against the fitting data, and keep / recalibrate / refit advice.

    Parameters
    ----------
    model : fitted AnkerModel
        Fitted (or loaded from a model file) with this anker: the file keeps
        the binned reference distributions.
    new_df : DataFrame
        The new inflow: the model's features; outcome columns optional.
    psi_threshold : float
        PSI from which a shift counts (0.10 moderate, 0.25 major, the usual
        scorecard bands).
    alpha : float
        Family-wise error of the flags: the drift p-values are compared with
        ``alpha`` / number of variables, the calibration checks with
        ``alpha`` / number of checks (Bonferroni).
    level : float
        Confidence level of the reported intervals.
    tolerance : float
        Calibration-in-the-large that matters: log odds (classifiers) or log
        observed / expected exits (survival test).
    slope_tolerance : float
        Distance of the calibration slope from 1 that asks for a refit (0.2: a
        slope below 0.8 is the usual sign that predictions are too extreme).
    discrimination_drop : float
        Fall of the AUC or C from its value on the fitting data that asks for a refit.
    seed : int
        Seed of the grouped jackknife behind the C-index interval.

    Returns
    -------
    Monitoring

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=4_000, seed=3).data
    >>> old, new = df[df.cohort == "casemanagement_2004"], df[df.cohort == "coaching_2007"]
    >>> mon = anker.monitor(anker.AnkerModel().fit(old), new)
    >>> list(mon.psi.index[mon.psi["flagged"] & (mon.psi["kind"] == "feature")])
    ['tightness', 'unemployment_rate']
    >>> sorted(mon.advice.columns), set(mon.advice["advice"]) <= {"keep", "recalibrate", "refit"}
    (['advice', 'reason'], True)
    """
    ref = _check_reference(model)
    if not isinstance(new_df, pd.DataFrame):
        raise TypeError(f"new_df must be a pandas DataFrame, got {type(new_df).__name__}")
    if len(new_df) == 0:
        raise AnkerDataError("new_df holds no rows: nothing to monitor")
    for name, value, low, high in (("psi_threshold", psi_threshold, 0, np.inf),
                                   ("alpha", alpha, 0, 1), ("level", level, 0, 1),
                                   ("tolerance", tolerance, 0, np.inf),
                                   ("slope_tolerance", slope_tolerance, 0, np.inf),
                                   ("discrimination_drop", discrimination_drop, 0, 1)):
        if not (np.isfinite(value) and low < value < high):
            raise ValueError(f"{name} must lie in ({low}, {high}), got {value!r}")
    features = list(ref["features"])
    require_columns(new_df, features, role="monitoring (the model's features)")
    notes: list[str] = []
    values = {f: new_df[f] for f in features}
    values.update(_scores_on(model, new_df, features, notes))

    rows, bins, flags = {}, [], []
    n_vars = len(ref["features"]) + len(ref["scores"])
    for kind, specs in (("feature", ref["features"]), ("score", ref["scores"])):
        for var, spec in specs.items():
            column = values.get(var, pd.Series(np.nan, index=new_df.index))
            try:
                counted = count_bins(spec, column)
            except ValueError as exc:
                raise AnkerDataError(f"{var}: {exc}", columns=[var]) from None
            table = psi_table(spec, counted)
            bins.append(table.assign(variable=var))
            rows[var] = _psi_row(kind, spec, counted, table, column)
    psi = pd.DataFrame.from_dict(rows, orient="index")
    psi.index.name = "variable"
    cut = alpha / n_vars
    psi["flagged"] = (psi["psi"] >= psi_threshold) & (psi["p_value"] < cut)
    for var, row in psi.iterrows():
        flags.extend(_drift_sentences(var, row, psi_threshold, cut, ref["n"]))

    calibration = check_tests(model, new_df, ref.get("performance", {}), level=level, seed=seed,
                              notes=notes)
    advice, more_flags = advise(model, calibration, psi, alpha=alpha, tolerance=tolerance,
                                slope_tolerance=slope_tolerance,
                                discrimination_drop=discrimination_drop)
    bins_frame = pd.concat(bins, ignore_index=True)[
        ["variable", "bin", "n_reference", "n_new", "share_reference", "share_new", "psi"]]
    settings = {"psi_threshold": psi_threshold, "alpha": alpha, "level": level,
                "tolerance": tolerance, "slope_tolerance": slope_tolerance,
                "discrimination_drop": discrimination_drop, "n_reference": ref["n"],
                "n_new": int(len(new_df)), "bins": ref.get("bins")}
    return Monitoring(psi=psi, bins=bins_frame, calibration=calibration,
                      flags=flags + more_flags, advice=advice, notes=notes, settings=settings)


def _psi_row(kind: str, spec: dict, counted: dict, table: pd.DataFrame,
             column: pd.Series) -> dict[str, Any]:
    n_ref, n_new = int(table["n_reference"].sum()), int(table["n_new"].sum())
    used = int(((table["n_reference"] + table["n_new"]) > 0).sum())
    value = float(table["psi"].sum())
    n_eff = 1.0 / (1.0 / max(n_ref, 1) + 1.0 / max(n_new, 1))
    p_value = float(stats.chi2.sf(n_eff * value, used - 1)) if used > 1 else 1.0
    numeric = spec["kind"] == "numeric"
    new_values = pd.to_numeric(column, errors="coerce") if numeric else None
    return {"kind": kind, "psi": value, "p_value": p_value, "n_bins": len(table),
            "n_reference": n_ref, "n_new": n_new, "n_missing": counted["n_missing"],
            "n_unseen": counted["n_unseen"],
            "n_out_of_range": counted["n_below"] + counted["n_above"],
            "mean_reference": spec.get("mean") if numeric else np.nan,
            "mean_new": float(new_values.mean()) if numeric and new_values.notna().any()
            else np.nan}


def _drift_sentences(var: str, row: pd.Series, threshold: float, cut: float,
                     n_reference: int) -> list[str]:
    out = []
    what = "score" if row["kind"] == "score" else "feature"
    if row["flagged"]:
        size = "a major" if row["psi"] >= PSI_MAJOR else "a moderate"
        mean = (f"; mean {_g(row['mean_reference'])} at fitting, {_g(row['mean_new'])} now"
                if np.isfinite(row["mean_reference"]) and np.isfinite(row["mean_new"]) else "")
        out.append(f"{var} ({what}): {size} shift of its distribution (PSI {row['psi']:.2f}, "
                   f"threshold {threshold:.2f}; p {_p(row['p_value'])}){mean}.")
    # the chance that a new row lies beyond the fitting range (or has an unseen level)
    # is about 2 / (n + 1) when nothing changed
    for count, text in ((row["n_out_of_range"], "outside the range seen at fitting"),
                        (row["n_unseen"], "with a level the model never saw")):
        share = count / max(row["n_new"], 1)
        if count and share >= 0.01 and _surprise_p(int(count), int(row["n_new"]),
                                                   2 / (n_reference + 1)) < cut:
            out.append(f"{var} ({what}): {int(count):,} new row(s) ({share:.1%}) {text}; the "
                       "model extrapolates for them.")
    return out


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _g(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-6 else "0"
