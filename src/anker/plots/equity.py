"""Accuracy equity: false positive and false negative rate ratios per group across thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def accuracy_equity_curves(table: pd.DataFrame, *, band: tuple[float, float] = (0.8, 1.25),
                           figsize: tuple[float, float] = (10.0, 4.0)) -> Figure:
    """Two panels, FPR ratio and FNR ratio against the threshold, one line per group.

    Takes the table of :func:`anker.fairness.accuracy_equity` and draws it; the
    shaded band is the acceptable ratio range (four-fifths rule and its inverse).

    Examples
    --------
    >>> import anker
    >>> from anker.fairness import accuracy_equity
    >>> df = anker.simulate_population(n_per_cohort=1_500, seed=1).data
    >>> table = accuracy_equity(anker.ComplianceTest().fit(df), df, "migration_background")
    >>> fig = anker.plots.accuracy_equity_curves(table)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['FPR ratio', 'FNR ratio']
    """
    import matplotlib.pyplot as plt

    needed = {"threshold", "fpr_ratio", "fnr_ratio"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise ValueError(f"expected the table of anker.fairness.accuracy_equity (columns "
                         f"{sorted(needed)})")
    group_col = table.attrs.get("group_col")
    columns = [group_col] if isinstance(group_col, str) else list(group_col or [])
    columns = [c for c in columns if c in table.columns]
    if not columns:
        raise ValueError("the table names no group column (attrs['group_col'])")
    fig, axes = plt.subplots(1, 2, figsize=figsize, sharex=True)
    for ax, metric, label in ((axes[0], "fpr_ratio", "FPR ratio"),
                              (axes[1], "fnr_ratio", "FNR ratio")):
        ax.axhspan(band[0], band[1], color="0.9", zorder=0)
        ax.axhline(1.0, color="0.5", lw=0.8)
        for group, part in table.groupby(columns, sort=False):
            name = " & ".join(map(str, group)) if isinstance(group, tuple) else str(group)
            values = part[metric].to_numpy(dtype=float)
            ax.plot(part["threshold"], np.where(np.isfinite(values), values, np.nan),
                    marker="o", ms=3, label=name)
        ax.set_xlabel("threshold on the score")
        ax.set_ylabel(label)
    axes[1].legend(fontsize=8, frameon=False)
    reference = table.attrs.get("reference")
    fig.suptitle(f"Accuracy equity of {table.attrs.get('test', 'the test')}: ratios to "
                 f"{' & '.join(map(str, reference)) if isinstance(reference, tuple) else reference}"
                 f" (shaded: {band[0]:g}-{band[1]:g})", fontsize=10)
    fig.tight_layout()
    return fig
