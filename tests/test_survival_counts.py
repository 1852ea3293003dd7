"""anker.survival.counts: Kaplan-Meier, RMST, log-rank and the bootstrap from counts.

The truth here is the row-level estimator of anker.survival on the same data
(itself tested against R and lifelines in tests/test_survival.py): the counts
feed the same formulas, so the results must agree to rounding (1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anker.survival import (
    bootstrap_km_rmst,
    bootstrap_km_rmst_from_counts,
    combine_counts,
    kaplan_meier,
    kaplan_meier_from_counts,
    logrank_from_counts,
    logrank_test,
    rmst,
    rmst_from_counts,
    survival_counts,
)

TOL = 1e-10  # the same floating-point operations on the same counts: rounding only


def _spells(seed: int, n: int, *, unit: float = 1.0, groups=("a", "b", "c")):
    """Whole time units, censoring that depends on a covariate (not the shipped generator)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    group = rng.choice(np.array(groups), size=n)
    shift = np.array([0.0, 0.3, -0.2])[np.searchsorted(np.array(groups), group)]
    latent = rng.weibull(1.3, n) * 200 * np.exp(-0.5 * x - shift)
    censor = rng.uniform(50, 600, n) * np.exp(0.4 * x)   # covariate-dependent censoring
    durations = np.ceil(np.minimum(latent, censor) / unit)
    events = (latent <= censor).astype(float)
    return durations, events, group


def _split(arrays, n_parts: int, seed: int):
    """Random, uneven partitions of the rows."""
    n = len(arrays[0])
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.sort(np.random.default_rng(seed + 1).choice(np.arange(1, n), n_parts - 1, replace=False))
    return [tuple(a[part] for a in arrays) for part in np.split(order, cuts)]


@pytest.mark.parametrize("unit", [1.0, 7.0])
def test_kaplan_meier_and_rmst_from_partition_counts_equal_the_rows(unit):
    durations, events, group = _spells(1, 5000, unit=unit)
    counts = combine_counts(survival_counts(*part) for part in _split((durations, events, group), 5, 2))
    horizon = 300 / unit
    for label in ("a", "b", "c"):
        member = group == label
        rows = kaplan_meier(durations[member], events[member])
        from_counts = kaplan_meier_from_counts(counts, label)
        for field in ("times", "n_at_risk", "n_events", "survival", "variance"):
            np.testing.assert_allclose(getattr(from_counts, field), getattr(rows, field),
                                       rtol=0, atol=TOL, err_msg=field)
        estimate, se = rmst(durations[member], events[member], horizon)
        c_estimate, c_se = rmst_from_counts(counts, horizon, label)
        assert abs(c_estimate - estimate) < TOL and abs(c_se - se) < TOL


def test_logrank_from_counts_equals_the_rows_for_two_and_three_groups():
    durations, events, group = _spells(3, 4000)
    counts = combine_counts(survival_counts(*part) for part in _split((durations, events, group), 4, 5))
    three = logrank_test(durations, events, group)
    c_three = logrank_from_counts(counts)
    assert c_three.degrees_of_freedom == 2
    assert abs(c_three.statistic - three.statistic) < TOL * max(1, three.statistic)
    assert abs(c_three.p_value - three.p_value) < TOL
    # a pair: times that only the third group has must not enter the test
    pair = group != "c"
    two = logrank_test(durations[pair], events[pair], group[pair])
    c_two = logrank_from_counts(counts.select(["a", "b"]))
    assert abs(c_two.statistic - two.statistic) < TOL * max(1, two.statistic)
    np.testing.assert_allclose(c_two.expected, two.expected, rtol=1e-12)
    assert c_two.groups.tolist() == ["a", "b"]


def test_bootstrap_from_counts_gives_the_replicates_of_the_rows_for_a_seed():
    # 2 x 3000 spells in weeks: far more spells than cells, so the row-level door draws
    # multinomial counts too, from the same random stream
    durations, events, group = _spells(7, 6000, unit=7.0, groups=("a", "b"))
    counts = survival_counts(durations, events, group)
    rows = bootstrap_km_rmst(durations, events, group, 40, n_boot=300, seed=11, reference="b")
    cells = bootstrap_km_rmst_from_counts(counts, 40, n_boot=300, seed=11, reference="b")
    assert cells.groups.tolist() == ["b", "a"]
    np.testing.assert_allclose(cells.rmst_replicates, rows.rmst_replicates, rtol=0, atol=TOL)
    np.testing.assert_allclose(cells.rmst, rows.rmst, rtol=0, atol=TOL)
    np.testing.assert_allclose(cells.se, rows.se, rtol=0, atol=TOL)


def test_bootstrap_from_counts_has_the_spread_of_a_resample_of_spells():
    # whole days and few spells: the row-level door resamples spells, a different stream;
    # the spread must still be that of the Greenwood SE (the bootstrap's own target)
    durations, events, group = _spells(9, 1200, groups=("a", "b"))
    cells = bootstrap_km_rmst_from_counts(survival_counts(durations, events, group), 250,
                                          n_boot=2000, seed=3)
    ratio = cells.difference_replicates.std() / np.hypot(*cells.se)
    assert 0.9 < ratio < 1.1   # 2,000 replicates: the SD of an SD estimate is about 1.6 %


def test_counts_refuse_bad_input_with_clear_messages():
    with pytest.raises(ValueError, match="events must be 0 or 1"):
        survival_counts([1, 2], [0, 2])
    with pytest.raises(ValueError, match="durations contains 1 missing"):
        survival_counts([1, np.nan], [0, 1])
    counts = survival_counts([1, 2, 3], [1, 0, 1], ["a", "a", "b"])
    with pytest.raises(ValueError, match="name one with group="):
        kaplan_meier_from_counts(counts)
    with pytest.raises(ValueError, match="group 'z' is not in the counts"):
        rmst_from_counts(counts, 1, "z")
    with pytest.raises(ValueError, match="beyond the last follow-up time in group 'a'"):
        rmst_from_counts(counts, 3, "a")
    with pytest.raises(ValueError, match="no counts to combine"):
        combine_counts([])
    with pytest.raises(ValueError, match="exactly two"):
        bootstrap_km_rmst_from_counts(survival_counts([1, 2], [1, 1]), 1, n_boot=10, seed=0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans(), st.sampled_from(["x", "y"])),
                min_size=1, max_size=60),
       st.integers(1, 5), st.integers(0, 10_000))
def test_counts_of_any_split_add_up_to_the_counts_of_the_whole(rows, n_parts, seed):
    durations = np.array([r[0] for r in rows], dtype=float)
    events = np.array([r[1] for r in rows], dtype=float)
    groups = np.array([r[2] for r in rows])
    whole = survival_counts(durations, events, groups)
    part_of = np.random.default_rng(seed).integers(0, n_parts, durations.size)
    parts = [survival_counts(durations[part_of == k], events[part_of == k], groups[part_of == k])
             for k in range(n_parts) if (part_of == k).any()]
    combined = combine_counts(parts)
    assert combined.groups.tolist() == whole.groups.tolist()
    np.testing.assert_array_equal(combined.times, whole.times)
    np.testing.assert_array_equal(combined.n_events, whole.n_events)
    np.testing.assert_array_equal(combined.n_total, whole.n_total)
