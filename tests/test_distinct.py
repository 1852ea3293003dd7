"""distinct_times counts whole-number durations instead of sorting them: the same as np.unique."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from anker.survival.distinct import distinct_times

whole = arrays(np.float64, st.integers(0, 300), elements=st.integers(-50, 5_000).map(float))
anything = arrays(np.float64, st.integers(0, 300),
                  elements=st.floats(allow_nan=True, allow_infinity=True, width=64))


@settings(max_examples=200, deadline=None)
@given(st.one_of(whole, anything, whole.map(lambda a: a * 0.5), whole.map(lambda a: a * 1e7)))
def test_distinct_times_is_np_unique(values):
    times, index = distinct_times(values)
    want_times, want_index = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(times, want_times)
    np.testing.assert_array_equal(index, want_index)


def test_whole_days_are_counted_not_sorted(monkeypatch):
    # the counting path itself, not the np.unique fallback, gives these answers
    def refuse(*args, **kwargs):
        raise AssertionError("np.unique called")

    days = np.ceil(np.random.default_rng(0).exponential(300.0, 10_000))
    want_times, want_index = np.unique(days, return_inverse=True)
    monkeypatch.setattr(np, "unique", refuse)
    times, index = distinct_times(days)
    np.testing.assert_array_equal(times, want_times)
    np.testing.assert_array_equal(index, want_index)
