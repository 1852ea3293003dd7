"""Kaplan-Meier curves per cohort and the adjusted counterfactual curve of a cohort comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from anker.plots._axes import figure_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_REFERENCE_COLOR = "#4c72b0"
_OTHER_COLOR = "#dd8452"


def _step(ax: Axes, times: np.ndarray, survival: np.ndarray, until: float, **kwargs: Any) -> None:
    """Draw a right-continuous step curve that starts at S(0) = 1 and stops at ``until``."""
    keep = times <= until
    x = np.concatenate(([0.0], times[keep], [until]))
    last = survival[keep][-1] if keep.any() else 1.0
    y = np.concatenate(([1.0], survival[keep], [last]))
    ax.step(x, y, where="post", **kwargs)


def _step_values(times: np.ndarray, survival: np.ndarray, grid: np.ndarray) -> np.ndarray:
    position = np.searchsorted(times, grid, side="right") - 1
    return np.where(position >= 0, survival[np.maximum(position, 0)], 1.0)


def survival_curves(cmp: Any, *, adjusted: bool = True, weighted: bool = False,
                    shade: bool = True, until: float | None = None,
                    ax: Axes | None = None) -> Figure:
    """Share still on benefit against time (in the comparison's unit): KM per cohort and the
    adjusted curves.

    Draws the Kaplan-Meier curve of each cohort (solid) and, with
    ``adjusted``, the g-computation curves of the other cohort's spells
    under its own regime and under the reference regime (dashed); the area
    between those two up to the horizon is shaded: it is the adjusted RMST
    difference (``cmp.estimates.loc["gcomp"]``). With ``weighted`` the
    ATT-weighted Kaplan-Meier curve of the reference cohort (IPTW) is drawn too.

    Parameters
    ----------
    cmp : CohortComparison
        A `anker.compare_cohorts` result; nothing is refitted.
    adjusted, weighted, shade : bool, keyword-only
        Which curves to draw and whether to shade the RMST difference.
    until : float, keyword-only
        Right end of the x axis, in the comparison's ``time_unit``; default the horizon x 1.25,
        so the horizon line is visible.
    ax : matplotlib Axes, keyword-only
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import anker
    >>> pop = anker.simulate_population(n_per_cohort=800, seed=2)
    >>> cmp = anker.compare_cohorts(pop.data, covariates=["age", "tightness"], method="gcomp",
    ...                             n_boot=0)
    >>> fig = anker.plots.survival_curves(cmp)
    >>> fig.axes[0].get_xlabel()
    'calendar days since inflow'
    """
    fig, ax = figure_axes(ax, (7.0, 4.2))
    unit = getattr(cmp, "time_unit", None)
    label, short = ("calendar days", "d") if unit is None else (unit.label, unit.short)
    short = "d" if short == "days" else short
    horizon = float(cmp.horizon)
    until = horizon * 1.25 if until is None else float(until)
    km = cmp.curves["km"]

    def end(curve) -> float:  # a curve stops at its last observed time, not drawn flat beyond
        return min(until, float(curve.times[-1])) if len(curve.times) else until

    _step(ax, km["reference"].times, km["reference"].survival, end(km["reference"]),
          color=_REFERENCE_COLOR, linewidth=1.6, label=f"{cmp.reference} (Kaplan-Meier)")
    _step(ax, km["other"].times, km["other"].survival, end(km["other"]), color=_OTHER_COLOR,
          linewidth=1.6, label=f"{cmp.other} (Kaplan-Meier)")
    if weighted and "reference_weighted" in km:
        curve = km["reference_weighted"]
        _step(ax, curve.times, curve.survival, end(curve), color=_REFERENCE_COLOR, linewidth=1.0,
              linestyle=":", label=f"{cmp.reference}, weighted to {cmp.other} (IPTW)")
    if adjusted and "gcomp_reference" in cmp.curves:
        times, own = cmp.curves["gcomp_other"]
        _, counterfactual = cmp.curves["gcomp_reference"]
        _step(ax, times, own, horizon, color=_OTHER_COLOR, linewidth=1.1, linestyle="--",
              label=f"{cmp.other}, model (own regime)")
        _step(ax, times, counterfactual, horizon, color=_REFERENCE_COLOR, linewidth=1.1,
              linestyle="--", label=f"{cmp.other} under the {cmp.reference} regime (model)")
        if shade:
            grid = np.concatenate(([0.0], times, [horizon]))
            ax.fill_between(grid, _step_values(times, own, grid),
                            _step_values(times, counterfactual, grid), step="post",
                            color="grey", alpha=0.35, linewidth=0,
                            label=_shade_label(cmp, label))
    ax.axvline(horizon, color="black", linewidth=0.8, linestyle="-.")
    ax.annotate(f"horizon {horizon:g} {short}", (horizon, 0.0), xytext=(3, 4),
                textcoords="offset points", fontsize=8)
    ax.set_xlim(0, until)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{label} since inflow")
    ax.set_ylabel("share still on benefit")
    ax.set_title(f"Time on benefit: {cmp.other} vs {cmp.reference}")
    ax.legend(fontsize=7.5, loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


def _shade_label(cmp, label: str) -> str:
    """The shaded area is the latent RMST difference; paid days are a different number."""
    if getattr(cmp, "outcome", "time_on_benefit") == "paid_days":
        return ("area between the curves: adjusted latent time on benefit "
                f"(the paid-days estimate, {cmp.estimates.loc['gcomp', 'estimate']:.1f} {label}, "
                "also stops at entitlement end)")
    return f"adjusted RMST difference: {cmp.estimates.loc['gcomp', 'estimate']:.1f} {label}"
