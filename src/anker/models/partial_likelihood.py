"""Cox's partial likelihood, its gradient and information, from sums per day.

`anker.models.cox.fit_cox` maximises this with the shared Newton driver.
Benefit durations are whole days, so 500,000 spells fall on about a thousand
distinct times. The rows are sorted once by time (exits first within a day)
and each day split in two runs: its exits and its censorings. One Newton
evaluation is then

- ``eta = X beta`` and ``r = w exp(eta)`` (one matrix-vector product);
- per run, the sums of ``r`` and ``r x`` (a ``reduceat`` over the runs), so the
  risk-set sums S0, S1 at every exit time are reverse cumulative sums over
  the days, and the tied sums T0, T1 of Efron's rule are the exit runs;
- one weighted Gram matrix ``X' D X``: the risk-set second moments
  ``sum_j a_j S2_j`` collapse to a weight per row, ``r_i`` times the sum of
  ``a_j`` over the exit times the row has lived through; they are never formed
  per time.

The runs and the Gram matrix are taken in chunks of a few thousand rows that
stay in cache, so one evaluation reads the design twice (``X beta`` and the
chunks) and writes no n x p temporaries.
"""

from __future__ import annotations

import numpy as np

_CHUNK_ROWS = 4096


def time_order(durations: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Positions that sort the rows by time, exits before censorings within a time.

    Stable, so tied rows keep their input order. Whole-day durations within
    32,767 days of each other sort by a radix sort on one 16-bit key.

    Examples
    --------
    >>> time_order(np.array([3.0, 1, 3, 1]), np.array([0.0, 0, 1, 1])).tolist()
    [3, 1, 2, 0]
    """
    low = durations.min() if durations.size else 0.0
    span = durations.max() - low if durations.size else 0.0
    if span < 32_767 and np.array_equal(durations, np.floor(durations)):
        key = ((durations - low) * 2 + (events <= 0)).astype(np.uint16)
        return np.argsort(key, kind="stable")
    return np.lexsort((-events, durations))


def sorted_columns(X: np.ndarray, order: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``X[order].T`` as a (p, len(order)) C-ordered array (``out`` if given), gathered in row blocks.

    Each block is gathered and transposed while it is in cache, with no (n, p)
    intermediate.
    """
    n, p = X.shape
    if X.flags.f_contiguous and X.dtype == np.float64:
        # each column is contiguous: a gather along each of them, no transposition. The
        # positions are valid by construction; mode="raise" would gather into a buffer the
        # size of out and copy it over (at 2 x 10^6 x 25 a 400 MB temporary, 3x the time)
        return np.take(X.T, order, axis=1, out=out, mode="wrap")
    out = np.empty((p, order.size)) if out is None else out
    for lo in range(0, order.size, _CHUNK_ROWS):
        out[:, lo : lo + _CHUNK_ROWS] = X[order[lo : lo + _CHUNK_ROWS]].T
    return out


class SortedSpells:
    """Spells sorted by time with their days, tied exits and cache-sized chunks.

    Parameters
    ----------
    X : (n, p) array
        Covariates; any memory layout (a column-major design is used in place
        when its rows are already in time order).
    durations, events, weights : (n,) arrays
        Checked by the caller: finite durations, 0/1 events, weights >= 0.
    efron : bool
        Efron's rule for tied exits; False gives Breslow's.
    overwrite_X : bool
        A design already in time order may be centred in place.
    """

    def __init__(self, X: np.ndarray, durations: np.ndarray, events: np.ndarray,
                 weights: np.ndarray, *, efron: bool, overwrite_X: bool = False) -> None:
        n, p = X.shape
        order = time_order(durations, events)
        in_order = bool(np.all(order[1:] > order[:-1])) if n > 1 else True
        t = durations[order]
        e = events[order] > 0
        w = weights[order]
        self.n, self.p, self.w, self.t, self.e = n, p, w, t, e
        # the design sorted and centred, (p, n) with rows of contiguous values: the
        # caller's array is never written to
        if in_order:
            XT, owned = X.T, overwrite_X and X.flags.writeable
        elif X.flags.f_contiguous:
            XT, owned = np.take(X.T, order, axis=1), True
        else:
            XT, owned = sorted_columns(X, order), True
        self.center = (XT @ w) / w.sum()
        if not np.isfinite(self.center).all():  # fit_cox refuses it
            self.XT = XT
        elif owned:
            XT -= self.center[:, None]
            self.XT = XT
        else:
            self.XT = np.subtract(XT, self.center[:, None], order="C")
        # days: runs of equal times; within a day the exits come first
        day_start = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        day_exits = np.add.reduceat(e.astype(np.int64), day_start)
        self.day_start, self.day_len = day_start, np.diff(np.r_[day_start, n])
        exit_days = np.flatnonzero(day_exits > 0)
        self.exit_days = exit_days                      # day of each event time
        self.event_times = t[day_start[exit_days]]
        self.d_count = day_exits[exit_days].astype(float)
        m = exit_days.size
        # runs: per day its exits, then its censorings; empty runs are left out
        run_start = np.column_stack([day_start, day_start + day_exits]).ravel()
        run_len = np.column_stack([day_exits, self.day_len - day_exits]).ravel()
        kept = run_len > 0
        self.run_start = run_start[kept]
        run_index = np.cumsum(kept) - 1                 # position among the kept runs
        self.day_first_run = run_index[0::2] + (~kept[0::2])  # first kept run of each day
        self.exit_run = run_index[0::2][exit_days]      # the exit run of each event time
        # chunks of whole runs, about _CHUNK_ROWS rows each
        cuts = np.unique(np.searchsorted(self.run_start, np.arange(0, n, _CHUNK_ROWS)))
        cuts = cuts[cuts < self.run_start.size]
        bounds = np.r_[self.run_start[cuts], n]
        self.chunks = [(int(lo), int(hi), int(a), int(b)) for lo, hi, a, b in
                       zip(bounds[:-1], bounds[1:], cuts, np.r_[cuts[1:], self.run_start.size],
                           strict=True)]
        # the exit rows, in time order: their event time, and Efron's l / d
        self.exit_rows = np.flatnonzero(e)
        self.group = np.repeat(np.arange(m), self.d_count.astype(np.int64))
        self.group_start = np.r_[0, np.cumsum(self.d_count)[:-1]].astype(np.int64)
        we = w[self.exit_rows]
        self.w_exit = we
        self.d_weight = np.add.reduceat(we, self.group_start) if m else np.zeros(0)
        # tied exits count with their mean weight (R's rule)
        self.mean_w = (self.d_weight / self.d_count)[self.group]
        if efron:
            self.phi = (np.arange(self.group.size) - self.group_start[self.group]) \
                / self.d_count[self.group]
        else:
            self.phi = None
        self.efron = efron
        # sum over the exits of w (x - center): the constant part of the score
        exit_w = np.zeros(n)
        exit_w[self.exit_rows] = we
        self.exit_x = self.XT @ exit_w

    def column_sd(self) -> np.ndarray:
        """Unweighted standard deviation of each column (for the monotone-likelihood check)."""
        sq = np.zeros(self.p)
        total = np.zeros(self.p)
        for lo, hi, _, _ in self.chunks:
            block = self._block(lo, hi)
            total += block.sum(axis=1)
            sq += np.einsum("ij,ij->i", block, block)
        return np.sqrt(np.maximum(sq / self.n - (total / self.n) ** 2, 0.0))

    def _block(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo:hi of the centred design, transposed (p x rows), each row contiguous:
        a view, read only, or a copy of a column-major chunk."""
        block = self.XT[:, lo:hi]
        return block if block.strides[1] == block.itemsize else np.ascontiguousarray(block)

    def sample(self, step: int) -> SortedSpells:
        """Every ``step``-th row in time order: a smaller problem with the same times."""
        rows = slice(0, None, step)
        return SortedSpells(self.XT[:, rows].T, self.t[rows], self.e[rows].astype(float),
                            self.w[rows], efron=self.efron)

    def risk_sums(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``eta``, ``r = w exp(eta)`` (rows in time order) and S0 at each event time."""
        eta = beta @ self.XT
        r = self.w * np.exp(eta)
        # risk set of an event time: its day and every later day
        day_r = np.add.reduceat(r, self.day_start)
        return eta, r, np.cumsum(day_r[::-1])[::-1][self.exit_days]

    def evaluate(self, beta: np.ndarray, l2: float = 0.0):
        """Log partial likelihood, gradient and information (minus the Hessian) at ``beta``."""
        p = self.p
        eta, r, risk0 = self.risk_sums(beta)
        re = r[self.exit_rows]
        t0 = np.add.reduceat(re, self.group_start)
        g = self.group
        den = risk0[g] - (self.phi * t0[g] if self.efron else 0.0)
        if (den <= 0).any():
            raise FloatingPointError("risk set sum not positive")
        mw = self.mean_w
        loglik = float(self.w_exit @ eta[self.exit_rows] - mw @ np.log(den)
                       - 0.5 * l2 * beta @ beta)
        inv = mw / den
        s_a = np.add.reduceat(inv, self.group_start)
        s_c = np.add.reduceat(inv / den, self.group_start)
        # each row's weight in X' D X: r times the s_a of the event times it lived through,
        # less, for an exit, r s_b of its own time (Efron); >= 0 because l / d < 1
        day_a = np.zeros(self.day_len.size)
        day_a[self.exit_days] = s_a
        D = r * np.repeat(np.cumsum(day_a), self.day_len)
        if self.efron:
            phi = self.phi
            s_b = np.add.reduceat(inv * phi, self.group_start)
            s_d = np.add.reduceat(inv * phi / den, self.group_start)
            s_e = np.add.reduceat(inv * phi**2 / den, self.group_start)
            D[self.exit_rows] -= re * s_b[g]
        root = np.sqrt(np.maximum(D, 0.0))
        run_sums = np.empty((p, self.run_start.size))
        info = np.zeros((p, p))
        for lo, hi, a, b in self.chunks:
            block = self._block(lo, hi)
            run_sums[:, a:b] = np.add.reduceat(block * r[lo:hi], self.run_start[a:b] - lo,
                                               axis=1)
            block = block * root[lo:hi]
            info += block @ block.T
        day_r1 = np.add.reduceat(run_sums, self.day_first_run, axis=1).T
        r1 = np.cumsum(day_r1[::-1], axis=0)[::-1][self.exit_days]
        grad = self.exit_x - s_a @ r1 - l2 * beta
        info -= (r1 * s_c[:, None]).T @ r1
        if self.efron:
            t1 = run_sums[:, self.exit_run].T
            grad += s_b @ t1
            cross = (r1 * s_d[:, None]).T @ t1
            info += cross + cross.T
            info -= (t1 * s_e[:, None]).T @ t1
        if l2:
            info += l2 * np.eye(p)
        return loglik, grad, info
