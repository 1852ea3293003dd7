"""Break-even figures: the tornado of the sensitivity grid and net benefit against days saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from anker.plots._axes import figure_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from anker.costbenefit import BreakEven, CostBenefit

_LABELS = {
    "caseload": "caseload",
    "coaches": "coaches",
    "extra_cost": "extra cost",
    "daily_benefit": "daily benefit",
}


def tornado(
    be: BreakEven, *, changes: tuple[float, float] = (-0.2, 0.2), ax: Axes | None = None
) -> Figure:
    """Break-even days with one input at a time at its low and high value.

    One bar per input, from the base break-even to its value with the input
    changed by each of ``changes`` (relative, default -20 % and +20 %);
    the widest range on top.

    Parameters
    ----------
    be : BreakEven
    changes : (float, float), keyword-only
        The lower and the higher relative change, each above -1.
    ax : matplotlib Axes, optional, keyword-only
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import anker
    >>> fig = anker.plots.tornado(anker.BreakEven.iwi_2005())
    """
    low_change, high_change = sorted(changes)
    table = be.tornado_table(changes=(low_change, high_change))[::-1]  # barh draws bottom-up
    grid = be.sensitivity(changes=(low_change, high_change)).set_index(["parameter", "change"])["days"]
    fig, ax = figure_axes(ax, (6.0, 3.2))
    positions = np.arange(len(table))
    for change, color in ((low_change, "#4c72b0"), (high_change, "#dd8452")):
        days = np.array([grid[(name, change)] for name in table.index])
        ax.barh(positions, days - be.days, left=be.days, color=color, height=0.6,
                label=f"input {change:+.0%}")
        for y, value in zip(positions, days, strict=True):
            right = value >= be.days
            ax.annotate(f"{value:.2f}", (value, y), xytext=(3 if right else -3, 0),
                        textcoords="offset points", ha="left" if right else "right",
                        va="center", fontsize=8)
    ax.axvline(be.days, color="black", linewidth=1)
    ax.set_yticks(positions, [_LABELS.get(name, name) for name in table.index])
    pad = 0.2 * (table["high"].max() - table["low"].min())
    ax.set_xlim(table["low"].min() - pad, table["high"].max() + pad)
    ax.set_xlabel(f"break-even, benefit days per guided client (base {be.days:.2f})")
    ax.set_title(f"Break-even with one input at a time {low_change:+.0%} / {high_change:+.0%}")
    ax.set_ylim(-0.6, len(table) + 0.2)  # a free row on top for the legend
    ax.legend(fontsize=8, loc="upper right", ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def break_even_curve(
    be: BreakEven,
    *,
    cost_benefit: CostBenefit | None = None,
    max_days: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Net benefit of coaching against benefit days saved per guided client.

    The line is ``days_saved * daily_benefit * guided_clients - extra_cost``
    (EUR million); it crosses zero at the break-even. With ``cost_benefit``
    the measured days saved and their CI are drawn on it.

    Parameters
    ----------
    be : BreakEven
    cost_benefit : CostBenefit, optional, keyword-only
        A `anker.cost_benefit` result; its guided clients are used for the line.
    max_days : float, optional, keyword-only
        Right end of the days axis; default covers the break-even and the CI.
    ax : matplotlib Axes, optional, keyword-only

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import anker
    >>> fig = anker.plots.break_even_curve(anker.BreakEven.iwi_2005())
    """
    clients = be.clients if cost_benefit is None else cost_benefit.guided_clients
    threshold = be.extra_cost / (be.daily_benefit * clients)
    candidates = [2 * threshold]
    if cost_benefit is not None:
        candidates += [1.1 * cost_benefit.ci[1], 1.1 * cost_benefit.days_saved]
    low_end = min(0.0, 1.1 * cost_benefit.ci[0]) if cost_benefit is not None else 0.0
    high_end = max(candidates) if max_days is None else float(max_days)
    days = np.linspace(low_end, high_end, 200)
    net_million = (days * be.daily_benefit * clients - be.extra_cost) / 1e6

    fig, ax = figure_axes(ax, (6.0, 3.6))
    ax.plot(days, net_million, color="#4c72b0", label="net benefit")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1,
               label=f"break-even {threshold:.2f} days")
    if cost_benefit is not None:
        ax.axvspan(*cost_benefit.ci, color="#dd8452", alpha=0.25,
                   label=f"{cost_benefit.level:.0%} CI ({cost_benefit.ci_method.split(' (')[0]})")
        ax.plot([cost_benefit.days_saved], [cost_benefit.net_benefit / 1e6], "o", color="#dd8452",
                label=f"measured {cost_benefit.days_saved:.2f} days, "
                      f"P(> break-even) {cost_benefit.p_exceeds_break_even:.2f}")
    ax.set_xlabel("benefit days saved per guided client")
    ax.set_ylabel("net benefit, EUR million a year")
    ax.set_title(f"{clients:,.0f} guided clients, EUR {be.daily_benefit:.2f} per benefit day")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
