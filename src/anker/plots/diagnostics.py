"""Model-check figures: reliability diagram, score distributions, coefficient forest, fairness bars.

Each function draws results that were already computed (a reliability table,
scores, a test's ``summary``, a fairness audit) and returns the Figure.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from anker.plots._axes import figure_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_OK, _FLAG, _TRUTH = "#4c72b0", "#c44e52", "#dd8452"


def _require(frame: object, columns: list[str], name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    if missing := [c for c in columns if c not in frame.columns]:
        raise ValueError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")
    return frame


def reliability_diagram(table_or_y: object, p: object = None, *, bins: int = 10,
                        strategy: str = "quantile", label: str | None = None,
                        ax: Axes | None = None) -> Figure:
    """Observed rate against mean predicted probability per bin, with Wilson CIs.

    Parameters
    ----------
    table_or_y : DataFrame or array-like
        A :func:`anker.diagnostics.reliability_table`, or the 0/1 outcomes
        when ``p`` is given (the table is then computed with ``bins`` and
        ``strategy``).
    p : array-like, optional
        Predicted probabilities, only with outcomes as first argument.
    label : str, optional, keyword-only
        Legend label for the points (e.g. the test's name).
    ax : matplotlib Axes, optional, keyword-only
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> prob = rng.uniform(0.05, 0.6, 1_000)
    >>> fig = reliability_diagram(rng.random(1_000) < prob, prob)
    """
    if p is None:
        table = _require(table_or_y, ["mean_predicted", "observed_rate", "ci_low", "ci_high", "n"],
                         "table_or_y")
    else:
        from anker.diagnostics import reliability_table

        table = reliability_table(table_or_y, p, bins=bins, strategy=strategy)
    drawn = table[table["n"] > 0]
    fig, ax = figure_axes(ax, (4.8, 4.6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    ax.errorbar(drawn["mean_predicted"], drawn["observed_rate"],
                # a Kaplan-Meier interval of a small bin need not contain its point: never < 0
                yerr=np.clip([drawn["observed_rate"] - drawn["ci_low"],
                              drawn["ci_high"] - drawn["observed_rate"]], 0, None),
                fmt="o-", color=_OK, capsize=3, markersize=4, linewidth=1,
                label=label or f"observed (95% CI), n = {int(table['n'].sum()):,}")
    upper = float(np.nanmax([drawn["mean_predicted"].max(), drawn["ci_high"].max(), 0.05]))
    limit = min(1.0, 1.1 * upper)
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed rate")
    empty = int((table["n"] == 0).sum())
    ax.set_title("Reliability" + (f" ({empty} empty bins not drawn)" if empty else ""))
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def score_distributions(scores: pd.Series, groups: pd.Series, *, bins: int = 40,
                        density: bool = True, xlabel: str = "risk score",
                        ax: Axes | None = None) -> Figure:
    """Histogram of risk scores per cohort or group, as outlines on one axis.

    Rows with a missing score or group are left out with a warning that says
    how many.

    Parameters
    ----------
    scores : Series
        Risk scores (e.g. ``test.predict_proba(df)``).
    groups : Series
        Cohort or group label per row, on the same index as ``scores``.
    bins : int, keyword-only
        Common bins over the range of all scores.
    density : bool, keyword-only
        Scale each group to unit area, so groups of different size compare.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> cohort = pd.Series(rng.choice(["casemanagement_2004", "coaching_2007"], 500))
    >>> fig = score_distributions(pd.Series(rng.beta(2, 5, 500)), cohort)
    """
    if not isinstance(scores, pd.Series) or not isinstance(groups, pd.Series):
        raise TypeError("scores and groups must be pandas Series on one index")
    if not scores.index.equals(groups.index):
        raise ValueError("scores and groups have different indexes; align them first")
    keep = scores.notna() & groups.notna()
    if dropped := int((~keep).sum()):
        warnings.warn(f"{dropped} rows with a missing score or group are not drawn",
                      UserWarning, stacklevel=2)
    scores, groups = scores[keep].astype(float), groups[keep]
    if scores.empty:
        raise ValueError("no rows with both a score and a group")
    levels = (list(groups.cat.categories) if isinstance(groups.dtype, pd.CategoricalDtype)
              else sorted(groups.unique(), key=str))
    edges = np.histogram_bin_edges(scores, bins=bins)
    fig, ax = figure_axes(ax, (6.0, 3.6))
    for level in levels:
        values = scores[groups == level]
        if values.empty:
            continue
        ax.hist(values, bins=edges, density=density, histtype="step", linewidth=1.5,
                label=f"{level} (n = {len(values):,}, mean {values.mean():.3f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "count")
    ax.set_title(f"Distribution of {xlabel} by {groups.name or 'group'}")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def coefficient_forest(summary: pd.DataFrame, *, truth: dict[str, float] | None = None,
                       terms: list[str] | None = None, estimate: str = "coef",
                       ax: Axes | None = None) -> Figure:
    """Forest plot of coefficients with their CIs, optionally with the true values.

    Parameters
    ----------
    summary : DataFrame
        A test's ``summary``: index = term names, columns ``estimate`` (default
        ``coef``), ``ci_low``, ``ci_high`` on the same (log-odds or log-hazard) scale.
    truth : dict, optional, keyword-only
        True value per term (e.g. ``pop.truth.coefficients["compliance"]``),
        drawn as crosses; keys not in the plotted terms are reported in a warning.
    terms : list of str, optional, keyword-only
        The terms to draw, in this order; by default all (drop the intercept here).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"coef": [0.5, -0.2], "ci_low": [0.3, -0.5],
    ...                         "ci_high": [0.7, 0.1]}, index=["age", "prior_sanctions"])
    >>> fig = coefficient_forest(summary, truth={"age": 0.45})
    """
    _require(summary, [estimate, "ci_low", "ci_high"], "summary")
    if terms is not None:
        if missing := [t for t in terms if t not in summary.index]:
            raise ValueError(f"terms {missing} are not in the summary index")
        summary = summary.loc[terms]
    if summary.empty:
        raise ValueError("summary has no terms to draw")
    rows = summary[::-1]  # first term on top
    positions = np.arange(len(rows))
    fig, ax = figure_axes(ax, (6.0, 0.9 + 0.32 * len(rows)))
    ax.errorbar(rows[estimate], positions,
                xerr=[rows[estimate] - rows["ci_low"], rows["ci_high"] - rows[estimate]],
                fmt="o", color=_OK, capsize=3, markersize=4, label="estimate (CI)")
    if truth:
        if unused := sorted(set(truth) - set(rows.index)):
            warnings.warn(f"truth for {len(unused)} terms not drawn (not plotted): {unused[:5]}",
                          UserWarning, stacklevel=2)
        known = [(y, truth[term]) for y, term in zip(positions, rows.index, strict=True)
                 if term in truth]
        if known:
            ys, xs = zip(*known, strict=True)
            ax.plot(xs, ys, "x", color=_TRUTH, markersize=8, markeredgewidth=2, label="true value")
    ax.axvline(0.0, color="grey", linewidth=1, linestyle="--")
    ax.set_yticks(positions, [str(term) for term in rows.index])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(estimate)
    ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def fairness_bars(audit: pd.DataFrame, metric: str = "fpr_ratio", *,
                  band: tuple[float, float] = (0.8, 1.25), group_col: str | None = None,
                  ax: Axes | None = None) -> Figure:
    """Bars of a fairness ratio per group, with the acceptable band shaded.

    Bars outside ``band`` are drawn in red; a group whose ratio is undefined
    (e.g. no negatives to have false positives) is labelled "n/a", not hidden.

    Parameters
    ----------
    audit : DataFrame
        The output of :func:`anker.audit_fairness`: one row per group.
    metric : str
        The ratio column to draw, e.g. ``"fpr_ratio"`` or ``"fnr_ratio"``.
    band : (float, float), keyword-only
        The acceptable range, shaded (default 0.8-1.25, the four-fifths rule).
    group_col : str, optional, keyword-only
        Column with the group labels; by default the index.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> audit = pd.DataFrame({"fpr_ratio": [1.0, 1.4, 0.9]}, index=["nl", "eu", "other"])
    >>> fig = fairness_bars(audit)
    """
    _require(audit, [metric] + ([group_col] if group_col else []), "audit")
    if audit.empty:
        raise ValueError("audit has no groups")
    low, high = sorted(band)
    labels = [str(g) for g in (audit[group_col] if group_col else audit.index)]
    values = pd.to_numeric(audit[metric], errors="coerce").to_numpy(dtype=float)
    outside = (values < low) | (values > high)
    positions = np.arange(len(values))
    fig, ax = figure_axes(ax, (1.6 + 0.7 * len(values), 3.6))
    ax.axhspan(low, high, color="#55a868", alpha=0.15)
    ax.axhline(1.0, color="grey", linewidth=1)
    ax.bar(positions, np.nan_to_num(values), color=np.where(outside, _FLAG, _OK), width=0.6)
    for x, value in zip(positions, values, strict=True):
        ax.annotate("n/a" if np.isnan(value) else f"{value:.2f}", (x, 0 if np.isnan(value) else value),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(positions, labels, rotation=30 if max(map(len, labels)) > 8 else 0, ha="right"
                  if max(map(len, labels)) > 8 else "center")
    ax.set_ylim(0, max(high, np.nanmax(values, initial=0)) * 1.15)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ')} by group: {int(outside.sum())} outside the "
                 f"shaded band {low:g}-{high:g}", fontsize=10)
    fig.tight_layout()
    return fig
