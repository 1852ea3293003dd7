"""Tests for anker.costbenefit and anker.plots.costbenefit.

Expected numbers are hand computations from the IWI report R05/22 figures
(EUR 15 million extra, 450 coaches, caseload 170, 3.7 days) written out in
the tests, or direct counts over the bootstrap replicates of a fake comparison.
"""

from __future__ import annotations

import dataclasses
import io
import math
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from scipy import stats  # noqa: E402

import anker  # noqa: E402
from anker.costbenefit import (  # noqa: E402
    BENEFIT_DAYS_PER_CALENDAR_DAY,
    BreakEven,
    CostBenefit,
    capacity_gap,
    cost_benefit,
    earn_back_share,
)

IWI_DAILY_BENEFIT = 15e6 / (450 * 170 * 3.7)  # implied by the report's 3.7 days


def fake_comparison(rmst_difference=-10.0, ci=(-16.0, -4.0), boot=None, horizon=365):
    return SimpleNamespace(rmst_difference=rmst_difference, ci=ci, boot_differences=boot,
                           horizon=horizon, method="aipw")


# --- the report's numbers ------------------------------------------------------------

def test_iwi_2005_reproduces_the_report():
    be = anker.BreakEven.iwi_2005()
    assert round(be.days, 1) == 3.7
    assert be.clients == 76_500
    assert round(be.cost_per_client, 2) == 196.08  # 15e6 / 76,500 = 196.078...
    assert be.coaches_needed(120_000) == 706  # 120,000 / 170 = 705.9, rounded up
    assert round(be.daily_benefit, 2) == 52.99
    assert be.daily_benefit == pytest.approx(IWI_DAILY_BENEFIT, rel=1e-12)
    assert be.days == pytest.approx(3.7, rel=1e-12)
    assert be.calendar_days == pytest.approx(3.7 * 365 / 261)


def test_benefit_days_are_working_days():
    assert BENEFIT_DAYS_PER_CALENDAR_DAY == 261 / 365


def test_from_days_inverts_days():
    be = BreakEven.from_days(5.0, extra_cost=1e6, coaches=10, caseload=100)
    assert be.daily_benefit == pytest.approx(1e6 / (1000 * 5.0))
    assert be.days == pytest.approx(5.0)


def test_capacity_gap_of_the_report():
    gap = anker.BreakEven.iwi_2005().capacity_gap(120_000)
    assert gap.places == 76_500
    assert gap.shortfall == 120_000 - 76_500
    assert gap.coaches_needed == 706
    assert gap.extra_coaches == 706 - 450


def test_coaches_needed_rounds_up_but_not_on_exact_multiples():
    assert capacity_gap(340, coaches=1, caseload=170).coaches_needed == 2
    assert capacity_gap(341, coaches=1, caseload=170).coaches_needed == 3
    # 0.3 / 0.1 is 2.9999999999999996 in floating point: still 3 coaches
    assert capacity_gap(0.3, coaches=1, caseload=0.1).coaches_needed == 3


def test_capacity_without_a_gap():
    gap = capacity_gap(50_000, coaches=450, caseload=170)
    assert gap.shortfall == 0 and gap.extra_coaches == 0
    assert gap.coaches_needed == math.ceil(50_000 / 170)


def test_earn_back_share():
    assert earn_back_share(execution_cost=60e6, benefit_expenditure=6e9) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="benefit_expenditure"):
        earn_back_share(execution_cost=60e6, benefit_expenditure=0)


# --- validation ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["extra_cost", "coaches", "caseload", "daily_benefit"])
@pytest.mark.parametrize("bad", [0, -170, float("nan"), float("inf")])
def test_bad_numbers_name_the_argument(name, bad):
    values = {"extra_cost": 15e6, "coaches": 450, "caseload": 170, "daily_benefit": 53.0}
    with pytest.raises(ValueError, match=name):
        BreakEven(**{**values, name: bad})


@pytest.mark.parametrize("bad", ["170", None, True, [170]])
def test_non_numbers_are_refused(bad):
    with pytest.raises(TypeError, match="caseload"):
        BreakEven(extra_cost=15e6, coaches=450, caseload=bad, daily_benefit=53.0)


def test_break_even_is_frozen():
    be = BreakEven.iwi_2005()
    with pytest.raises(dataclasses.FrozenInstanceError):
        be.caseload = 200
    with pytest.raises(ValueError, match="caseload"):
        dataclasses.replace(be, caseload=0)


@given(
    extra_cost=st.floats(1, 1e9), coaches=st.floats(1, 1e4),
    caseload=st.floats(1, 1e3), daily_benefit=st.floats(1, 1e3),
)
def test_days_times_clients_times_daily_benefit_is_the_cost(extra_cost, coaches, caseload, daily_benefit):
    be = BreakEven(extra_cost=extra_cost, coaches=coaches, caseload=caseload, daily_benefit=daily_benefit)
    assert be.days * be.clients * be.daily_benefit == pytest.approx(extra_cost, rel=1e-9)


# --- sensitivity ---------------------------------------------------------------------

def test_sensitivity_grid_against_hand_computation():
    be = BreakEven.iwi_2005()
    grid = be.sensitivity()
    assert list(grid.columns) == ["parameter", "change", "value", "days", "days_change"]
    assert len(grid) == 4 * 5
    assert sorted(grid["change"].unique()) == [-0.2, -0.1, 0.0, 0.1, 0.2]
    b = IWI_DAILY_BENEFIT
    by_hand = {
        "extra_cost": lambda c: 15e6 * (1 + c) / (450 * 170 * b),
        "coaches": lambda c: 15e6 / (450 * (1 + c) * 170 * b),
        "caseload": lambda c: 15e6 / (450 * 170 * (1 + c) * b),
        "daily_benefit": lambda c: 15e6 / (450 * 170 * b * (1 + c)),
    }
    base = {"extra_cost": 15e6, "coaches": 450, "caseload": 170, "daily_benefit": b}
    for row in grid.itertuples():
        assert row.days == pytest.approx(by_hand[row.parameter](row.change), rel=1e-12)
        assert row.value == pytest.approx(base[row.parameter] * (1 + row.change))
        assert row.days_change == pytest.approx(row.days - 3.7)
    # the report's own figures: 20 % lower caseload needs 3.7 / 0.8 days
    caseload_low = grid.query("parameter == 'caseload' and change == -0.2")["days"].item()
    assert caseload_low == pytest.approx(4.625)


def test_sensitivity_custom_changes_and_bad_changes():
    grid = BreakEven.iwi_2005().sensitivity(changes=[-0.5, 0.5])
    assert len(grid) == 8
    extra = grid.query("parameter == 'extra_cost'")["days"].tolist()
    assert extra == pytest.approx([3.7 * 0.5, 3.7 * 1.5])
    for bad in ([-1.0], [float("nan")], []):
        with pytest.raises(ValueError, match="changes"):
            BreakEven.iwi_2005().sensitivity(changes=bad)


def test_tornado_table_is_low_high_per_parameter():
    table = BreakEven.iwi_2005().tornado_table()
    assert set(table.index) == {"caseload", "coaches", "extra_cost", "daily_benefit"}
    assert table.loc["extra_cost", "low"] == pytest.approx(3.7 * 0.8)
    assert table.loc["extra_cost", "high"] == pytest.approx(3.7 * 1.2)
    assert table.loc["caseload", "low"] == pytest.approx(3.7 / 1.2)
    assert table.loc["caseload", "high"] == pytest.approx(3.7 / 0.8)
    assert table["range"].is_monotonic_decreasing
    assert table.index[-1] == "extra_cost"  # 1.48 days wide against 1.54 for the others


# --- cost_benefit against a measured effect ------------------------------------------

def test_unit_conversion_and_net_benefit():
    be = BreakEven.iwi_2005()
    cb = cost_benefit(fake_comparison(rmst_difference=-10.0, boot=np.array([-12.0, -8.0])), be)
    assert cb.days_saved == pytest.approx(10 * 261 / 365)
    assert cb.net_benefit == pytest.approx(10 * 261 / 365 * be.daily_benefit * 76_500 - 15e6)
    assert cb.break_even_days == pytest.approx(be.days)
    assert cb.guided_clients == 76_500
    assert cb.horizon == 365 and cb.method == "aipw" and cb.n_boot == 2


def test_p_exceeds_break_even_is_a_direct_count():
    rng = np.random.default_rng(5)
    boot = rng.normal(-6.0, 2.0, size=999)  # calendar days, coaching minus reference
    cb = cost_benefit(fake_comparison(rmst_difference=-6.0, boot=boot), BreakEven.iwi_2005())
    days_per_replicate = -boot * 261 / 365
    expected = sum(1 for d in days_per_replicate if d > 3.7) / 999
    assert cb.p_exceeds_break_even == pytest.approx(expected, abs=1e-12)
    assert 0 < cb.p_exceeds_break_even < 1
    assert cb.ci_method == "bootstrap percentile"
    assert cb.ci == pytest.approx(tuple(np.quantile(days_per_replicate, [0.025, 0.975])))
    net_per_replicate = days_per_replicate * IWI_DAILY_BENEFIT * 76_500 - 15e6
    assert cb.net_benefit_ci == pytest.approx(tuple(np.quantile(net_per_replicate, [0.025, 0.975])))


def test_small_hand_counted_replicates():
    # benefit days: 10.01, 7.15, 4.29, 2.15, -1.43 -> three of five above 3.7
    boot = np.array([-14.0, -10.0, -6.0, -3.0, 2.0])
    cb = cost_benefit(fake_comparison(boot=boot), BreakEven.iwi_2005())
    assert cb.p_exceeds_break_even == 3 / 5


def test_guided_clients_moves_the_bar():
    be = BreakEven.iwi_2005()
    boot = np.array([-14.0, -10.0, -6.0, -3.0, 2.0])
    cb = cost_benefit(fake_comparison(boot=boot), be, guided_clients=38_250)
    # half the clients for the same cost: 7.4 benefit days each; only -14 calendar days (10.01) clears it
    assert cb.break_even_days == pytest.approx(7.4)
    assert cb.p_exceeds_break_even == 1 / 5
    assert cb.net_benefit == pytest.approx(10 * 261 / 365 * be.daily_benefit * 38_250 - 15e6)
    with pytest.raises(ValueError, match="guided_clients"):
        cost_benefit(fake_comparison(boot=boot), be, guided_clients=0)


def test_normal_fallback_without_bootstrap():
    cb = cost_benefit(fake_comparison(rmst_difference=-10.0, ci=(-16.0, -4.0)), BreakEven.iwi_2005())
    assert "normal" in cb.ci_method and cb.n_boot == 0 and cb.boot_days_saved is None
    se_calendar = 12.0 / (2 * stats.norm.ppf(0.975))
    # the CI in benefit days is the comparison's CI converted
    assert cb.ci == pytest.approx((4.0 * 261 / 365, 16.0 * 261 / 365))
    expected_p = stats.norm.sf(3.7, loc=10 * 261 / 365, scale=se_calendar * 261 / 365)
    assert cb.p_exceeds_break_even == pytest.approx(expected_p)


def test_level_changes_the_percentiles():
    boot = np.linspace(-20, 0, 101)
    cb = cost_benefit(fake_comparison(boot=boot), BreakEven.iwi_2005(), level=0.8)
    assert cb.ci == pytest.approx(tuple(np.quantile(-boot * 261 / 365, [0.1, 0.9])))


def test_non_finite_replicates_are_counted_and_left_out():
    boot = np.array([-14.0, np.nan, -10.0, -6.0, np.inf, -3.0, 2.0])
    with pytest.warns(UserWarning, match="left out 2 of 7"):
        cb = cost_benefit(fake_comparison(boot=boot), BreakEven.iwi_2005())
    assert cb.n_boot == 5 and cb.p_exceeds_break_even == 3 / 5


@pytest.mark.parametrize(
    ("comparison", "error", "match"),
    [
        (object(), TypeError, "rmst_difference"),
        (fake_comparison(rmst_difference=float("nan")), ValueError, "rmst_difference"),
        (fake_comparison(ci=(4.0, -4.0)), ValueError, "ci"),
        (fake_comparison(boot=np.zeros((3, 2))), ValueError, "1-D"),
        (fake_comparison(boot=np.array([1.0])), ValueError, "boot_differences"),
    ],
)
def test_bad_comparisons(comparison, error, match):
    with pytest.raises(error, match=match):
        cost_benefit(comparison, BreakEven.iwi_2005())


def test_bad_break_even_and_level():
    with pytest.raises(TypeError, match="break_even"):
        cost_benefit(fake_comparison(), {"days": 3.7})
    with pytest.raises(ValueError, match="level"):
        cost_benefit(fake_comparison(), BreakEven.iwi_2005(), level=95)


def test_summary_and_repr():
    cb = cost_benefit(fake_comparison(boot=np.array([-14.0, -10.0, -6.0, -3.0])), BreakEven.iwi_2005())
    assert isinstance(cb, CostBenefit)
    summary = cb.summary
    assert list(summary.columns) == ["estimate", "ci_low", "ci_high", "unit"]
    assert summary.loc["days saved per client", "estimate"] == pytest.approx(cb.days_saved)
    assert summary.loc["net benefit", "ci_low"] == pytest.approx(cb.net_benefit_ci[0])
    assert summary.loc["RMST difference (other minus reference)", "estimate"] == -10.0
    assert summary.loc["P(days saved > break-even)", "estimate"] == 0.75
    assert "bootstrap percentile" in repr(cb) and "<table" in cb._repr_html_()


# --- plots ---------------------------------------------------------------------------

def _renders(fig) -> bool:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getbuffer().nbytes > 1000


def test_tornado_renders():
    fig = anker.plots.tornado(BreakEven.iwi_2005())
    assert isinstance(fig, matplotlib.figure.Figure)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] != "extra cost" and len(labels) == 4  # widest range on top
    assert _renders(fig)


def test_break_even_curve_renders_with_and_without_a_measurement():
    be = BreakEven.iwi_2005()
    assert _renders(anker.plots.break_even_curve(be))
    cb = cost_benefit(fake_comparison(boot=np.array([-14.0, -10.0, -6.0, -3.0])), be)
    fig, ax = plt.subplots()
    assert anker.plots.break_even_curve(be, cost_benefit=cb, ax=ax) is fig
    line = ax.get_lines()[0]
    zero = np.interp(0.0, line.get_ydata(), line.get_xdata())  # net benefit crosses 0 at 3.7 days
    assert zero == pytest.approx(3.7, rel=1e-3)
    assert _renders(fig)


# --- level, SE, scale and clustering of the comparison (issue 10) -------------------

def test_normal_fallback_reads_the_comparisons_se_and_level():
    # a comparison made at level 0.9 without a bootstrap: its CI is +-1.645 SE, not +-1.96
    se = 4.0
    z90 = stats.norm.ppf(0.95)
    cmp = SimpleNamespace(rmst_difference=-10.0, ci=(-10 - z90 * se, -10 + z90 * se), se=se,
                          level=0.9, horizon=365, method="aipw", boot_differences=None)
    cb = cost_benefit(cmp, BreakEven.iwi_2005())
    assert cb.level == 0.9
    se_days = se * 261 / 365
    assert cb.ci == pytest.approx((10 * 261 / 365 - z90 * se_days, 10 * 261 / 365 + z90 * se_days))
    assert cb.p_exceeds_break_even == pytest.approx(stats.norm.sf(3.7, 10 * 261 / 365, se_days))
    assert "comparison.se" in cb.ci_method
    # without an se attribute the SE comes off the CI at the comparison's own level
    del cmp.se
    again = cost_benefit(cmp, BreakEven.iwi_2005())
    assert again.p_exceeds_break_even == pytest.approx(cb.p_exceeds_break_even)
    assert "level 0.9" in again.ci_method


def test_priced_scale_and_resampling_unit_are_named():
    boot = np.array([-14.0, -10.0, -6.0, -3.0])
    paid = SimpleNamespace(rmst_difference=-8.0, ci=(-14.0, -3.0), horizon=365, method="aipw",
                           boot_differences=boot, outcome="paid_days", cluster_col="coach_id",
                           level=0.95)
    cb = cost_benefit(paid, BreakEven.iwi_2005())
    assert cb.scale == "paid_days" and "paid days" in repr(cb)
    assert "coach_id" in cb.resampling and "coach_id" in repr(cb)
    latent = SimpleNamespace(**{**vars(paid), "outcome": "time_on_benefit", "cluster_col": None})
    cb = cost_benefit(latent, BreakEven.iwi_2005())
    assert "not paid" in repr(cb) and cb.resampling == "spells"


def test_cost_benefit_on_a_paid_days_comparison():
    pop = anker.simulate_population(1_500, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = anker.compare_cohorts(pop.data, outcome="paid_days", n_boot=0, level=0.9,
                                    cluster_col="coach_id", exit_reason_col=None)
    cb = cost_benefit(cmp, BreakEven.iwi_2005())
    assert cb.level == 0.9 and cb.scale == "paid_days"
    assert cb.days_saved == pytest.approx(-cmp.rmst_difference * 261 / 365)
    z90 = stats.norm.ppf(0.95)
    assert cb.ci[1] - cb.ci[0] == pytest.approx(2 * z90 * cmp.se * 261 / 365)
