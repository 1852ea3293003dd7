"""Tests for anker.plots.diagnostics: each figure renders and shows what it was given."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from anker import diagnostics, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _renders(fig) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_reliability_diagram_from_table_draws_non_empty_bins():
    y = [0, 1, 0, 1, 1, 0, 1, 0]
    p = [0.1, 0.15, 0.12, 0.9, 0.95, 0.85, 0.55, 0.45]
    with pytest.warns(UserWarning, match="empty"):
        table = diagnostics.reliability_table(y, p, bins=10, strategy="uniform")
    fig = plots.reliability_diagram(table)
    _renders(fig)
    points = [line for line in fig.axes[0].lines if line.get_marker() == "o"]
    assert len(points) == 1 and len(points[0].get_xdata()) == int((table["n"] > 0).sum())
    assert "empty bins not drawn" in fig.axes[0].get_title()


def test_reliability_diagram_from_outcomes_and_predictions():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.6, 2_000)
    fig = plots.reliability_diagram(rng.random(2_000) < p, p, bins=5, label="NT")
    _renders(fig)
    points = next(line for line in fig.axes[0].lines if line.get_marker() == "o")
    assert len(points.get_xdata()) == 5
    assert "NT" in [text.get_text() for text in fig.axes[0].get_legend().get_texts()]


def test_reliability_diagram_refuses_a_table_without_its_columns():
    with pytest.raises(ValueError, match="lacks columns"):
        plots.reliability_diagram(pd.DataFrame({"n": [1]}))


def test_score_distributions_one_outline_per_group_and_reports_missing():
    rng = np.random.default_rng(1)
    scores = pd.Series(rng.beta(2, 5, 600))
    cohort = pd.Series(rng.choice(["casemanagement_2004", "coaching_2007", "other"], 600),
                       name="cohort")
    cohort.iloc[:4] = None
    with pytest.warns(UserWarning, match="4 rows with a missing score or group"):
        fig = plots.score_distributions(scores, cohort, bins=20)
    _renders(fig)
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert len(legend) == 3 and legend[0].startswith("casemanagement_2004")
    assert sum(int(t.split("n = ")[1].split(",")[0].replace(",", "")) for t in legend) == 596


def test_score_distributions_refuses_misaligned_series():
    with pytest.raises(ValueError, match="different indexes"):
        plots.score_distributions(pd.Series([0.1, 0.2]), pd.Series(["a", "b"], index=[5, 6]))


def test_coefficient_forest_rows_and_truth_markers():
    summary = pd.DataFrame({"coef": [-1.2, 0.5, -0.2, 0.1], "ci_low": [-1.5, 0.3, -0.5, -0.1],
                            "ci_high": [-0.9, 0.7, 0.1, 0.3]},
                           index=["intercept", "age", "prior_sanctions", "tightness"])
    truth = {"age": 0.45, "prior_sanctions": -0.3, "not_a_term": 1.0}
    with pytest.warns(UserWarning, match="truth for 1 terms not drawn"):
        fig = plots.coefficient_forest(summary, truth=truth,
                                       terms=["age", "prior_sanctions", "tightness"])
    _renders(fig)
    ax = fig.axes[0]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == [
        "tightness", "prior_sanctions", "age"]
    crosses = next(line for line in ax.lines if line.get_marker() == "x")
    assert sorted(crosses.get_xdata()) == [-0.3, 0.45]


def test_coefficient_forest_unknown_term_raises():
    summary = pd.DataFrame({"coef": [0.5], "ci_low": [0.3], "ci_high": [0.7]}, index=["age"])
    with pytest.raises(ValueError, match=r"terms \['sex'\]"):
        plots.coefficient_forest(summary, terms=["sex"])


def test_fairness_bars_one_bar_per_group_flags_outside_band():
    audit = pd.DataFrame({"group": ["nl", "eu", "other", "none"],
                          "fpr_ratio": [1.0, 1.4, 0.7, np.nan]})
    fig = plots.fairness_bars(audit, group_col="group")
    _renders(fig)
    ax = fig.axes[0]
    bars = [patch for patch in ax.patches if patch.get_width() == pytest.approx(0.6)]
    assert len(bars) == 4
    colors = [to_hex(bar.get_facecolor()) for bar in bars]
    assert colors[0] == colors[3] != colors[1] == colors[2]
    assert "2 outside the shaded band 0.8-1.25" in ax.get_title()
    assert "n/a" in [text.get_text() for text in ax.texts]
    band = [patch for patch in ax.patches if patch not in bars]
    assert len(band) == 1
    assert band[0].get_y() == pytest.approx(0.8) and band[0].get_height() == pytest.approx(0.45)


def test_fairness_bars_missing_metric_names_it():
    with pytest.raises(ValueError, match="fnr_ratio"):
        plots.fairness_bars(pd.DataFrame({"fpr_ratio": [1.0]}), metric="fnr_ratio")
