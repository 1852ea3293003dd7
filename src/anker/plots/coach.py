"""Outcome per coach: the funnel plot of risk-adjusted O/E against expected count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from anker.plots._axes import figure_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from anker.outcome.coach import CoachOutcome

_RATIOS = {"oe_ratio": "O/E", "shrunken_oe": "shrunken O/E"}


def funnel(result: CoachOutcome, *, ratio: str = "oe_ratio", max_labels: int = 10,
           ax: Axes | None = None) -> Figure:
    """Funnel plot: each group's O/E against its expected count, with control limits.

    The 95 % and 99.8 % limits around the target ratio narrow as the
    expected count grows, so a small caseload is not read as an outlier for
    a ratio it could reach by chance. Groups outside the 99.8 % limits are
    drawn in red (the most extreme labelled); groups with fewer than ``min_clients``
    clients are drawn hollow and never flagged.

    Parameters
    ----------
    result : CoachOutcome
        From :func:`anker.outcome_by_coach`.
    ratio : {"oe_ratio", "shrunken_oe"}, keyword-only
        Which ratio to draw. The limits are those of the plain O/E; shrunken
        ratios lie inside them by construction and are shown for comparison.
    max_labels : int, keyword-only
        Label at most this many flagged groups, those with the largest
        absolute z first (0: no labels).
    ax : matplotlib Axes, optional, keyword-only
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import anker
    >>> df = anker.simulate_population(n_per_cohort=4_000, seed=3).data
    >>> df = df[df["cohort"] == "coaching_2007"]
    >>> res = anker.outcome_by_coach(df, case_mix=anker.BenefitDurationTest().fit(df))
    >>> fig = anker.plots.funnel(res)
    """
    if ratio not in _RATIOS:
        raise ValueError(f"ratio must be one of {sorted(_RATIOS)}, got {ratio!r}")
    table = result.table
    drawable = table[np.isfinite(table[ratio]) & (table["expected"] > 0)]
    fig, ax = figure_axes(ax, (6.4, 4.2))

    if len(drawable):
        low_e, high_e = 0.8 * drawable["expected"].min(), 1.25 * drawable["expected"].max()
    else:
        low_e, high_e = 1.0, 100.0
    grid = np.geomspace(low_e, high_e, 300)
    limits = result.control_limits(grid)
    for tag, style, text in (("95", "--", "95 % limits"), ("998", "-", "99.8 % limits")):
        ax.plot(grid, limits[f"limit{tag}_low"], style, color="#4c72b0", linewidth=1, label=text)
        ax.plot(grid, limits[f"limit{tag}_high"], style, color="#4c72b0", linewidth=1)
    ax.axhline(result.target, color="black", linewidth=0.8,
               label=f"target O/E = {result.target:.3g}")

    small = drawable["too_small"].to_numpy()
    flagged = drawable["flag"].to_numpy()
    normal = ~small & ~flagged
    ax.scatter(drawable["expected"][normal], drawable[ratio][normal], s=18, color="#555555",
               alpha=0.8, label=f"{result.group_col} ({int(normal.sum())})")
    if flagged.any():
        ax.scatter(drawable["expected"][flagged], drawable[ratio][flagged], s=26,
                   color="#c44e52", label=f"outside 99.8 % ({int(flagged.sum())})")
        if max_labels > 0:
            extreme = drawable[flagged].reindex(
                drawable[flagged]["z"].abs().sort_values(ascending=False).index[:max_labels])
            for name, row in extreme.iterrows():
                ax.annotate(str(name), (row["expected"], row[ratio]), xytext=(3, 3),
                            textcoords="offset points", fontsize=7, color="#c44e52")
    if small.any():
        ax.scatter(drawable["expected"][small], drawable[ratio][small], s=18,
                   facecolors="none", edgecolors="#555555",
                   label=f"fewer than {result.min_clients} clients ({int(small.sum())})")
    ax.set_xscale("log")
    ax.set_xlabel(f"expected count E from the case mix ({result.outcome})")
    ax.set_ylabel(f"{_RATIOS[ratio]}, observed / expected")
    not_drawn = len(table) - len(drawable)
    note = f"; {not_drawn} group(s) with E = 0 not drawn" if not_drawn else ""
    ax.set_title(f"Outcome per {result.group_col}, case mix: {result.case_mix}{note}",
                 fontsize=10)
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    fig.tight_layout()
    return fig
