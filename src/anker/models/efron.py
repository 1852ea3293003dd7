"""Efron's tie handling beyond the fit: the baseline hazard, exact score residuals, linearisation.

`anker.models.cox.fit_cox` maximises Efron's partial likelihood but reports
the Breslow baseline. With whole-day benefit durations ties are heavy, and
R's ``survfit.coxph`` (and ``riskRegression``) predict from an Efron fit
with the Efron baseline, and ``residuals(fit, type = "score")`` gives the
exact Efron score residuals. Both are here, for unweighted fits.

At an event time with d tied exits, risk-set sums S0, S1 and tied sums T0, T1
(r_i = exp((z_i - center)' beta)), for l = 0 .. d-1:
den_l = S0 - (l/d) T0 and m_l = (S1 - (l/d) T1) / den_l. Then

- baseline hazard jump: a = sum_l 1 / den_l;
- score residual of person k: U_k = sum_j [delta_kj sum_l (z_k - m_l) / d
  - r_k sum_l c_kl (z_k - m_l) / den_l], c_kl = 1 - l/d for the tied exits
  and 1 for the others at risk (R's ``coxscore``);
- the jump's linearisation in person i's weight:
  delta_ij a / d - r_i sum_l c_il / den_l^2 - (sum_l m_l / den_l)' dbeta_i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anker._threads import map_chunks
from anker.models.cox import CoxFit

# rows per block where a per-row (rows x p) array is formed
_SCORE_ROWS = 32_768


@dataclass(frozen=True)
class EfronTerms:
    """Per event time (``times``): the pieces of the Efron baseline and its linearisation."""

    times: np.ndarray
    hazard: np.ndarray          # a_j = sum_l 1 / den_l
    event_weight: np.ndarray    # a_j / d_j
    compensator: np.ndarray     # sum_l 1 / den_l^2
    tied: np.ndarray            # sum_l (l / d) / den_l^2
    beta_path: np.ndarray       # (K, p): sum_l m_l / den_l
    mean_death: np.ndarray      # (K, p): sum_l m_l / d
    tied_mean: np.ndarray       # (K, p): sum_l (l / d) m_l / den_l
    tied_hazard: np.ndarray     # sum_l (l / d) / den_l


@dataclass(frozen=True)
class TieSums:
    """Per event time, sums over its tied exits l = 0 .. d-1 of f_l = l / d and
    inv_l = 1 / (S0 - f_l T0): ``inv`` = sum inv_l, ``inv2`` = sum inv_l^2,
    ``f_inv`` = sum f_l inv_l, ``f_inv2`` = sum f_l inv_l^2, ``f2_inv2`` = sum f_l^2 inv_l^2."""

    inv: np.ndarray
    inv2: np.ndarray
    f_inv: np.ndarray
    f_inv2: np.ndarray
    f2_inv2: np.ndarray


def tie_sums(d: np.ndarray, S0: np.ndarray, T0: np.ndarray, *, efron: bool = True) -> TieSums:
    """The scalar sums over tied exits that every Efron quantity is built from.

    One entry per exit (l, event time), summed per event time: the cost is the
    number of exits, where a loop over l would pass over every event time once
    per tie of the most tied day. ``efron=False``: Breslow (f_l = 0).

    Examples
    --------
    >>> s = tie_sums(np.array([2.0, 0.0]), np.array([10.0, 4.0]), np.array([4.0, 0.0]))
    >>> float(s.inv[0]) == 1 / 10 + 1 / 8, float(s.f_inv[0]) == 0.5 / 8, float(s.inv[1])
    (True, True, 0.0)
    """
    K = d.size
    ties = d.astype(np.int64)
    time = np.repeat(np.arange(K), ties)
    first = np.cumsum(ties) - ties
    frac = (np.arange(time.size) - first[time]) / d[time] if efron else np.zeros(time.size)
    inv = 1.0 / (S0[time] - frac * T0[time])
    inv2 = inv * inv

    def per_time(values: np.ndarray) -> np.ndarray:
        return np.bincount(time, weights=values, minlength=K)

    return TieSums(per_time(inv), per_time(inv2), per_time(frac * inv), per_time(frac * inv2),
                   per_time(frac * frac * inv2))


@dataclass(frozen=True)
class EfronSums:
    """The additive pieces of `EfronTerms` per event time: sums over rows, so the sums of two
    sets of rows (two partitions of a data set) are the sums of their union.

    ``lived0`` (K,) and ``lived1`` (K, p): sums of r and r (z - center) over the rows whose
    duration lies in [t_j, t_j+1) (risk-set sums are their sums from the end); ``tied0``,
    ``tied1``: the same over the exits at t_j; ``d``: exits at t_j; ``event_weight``: their
    summed case weights.
    """

    lived0: np.ndarray
    lived1: np.ndarray
    tied0: np.ndarray
    tied1: np.ndarray
    d: np.ndarray
    event_weight: np.ndarray

    def __add__(self, other: EfronSums) -> EfronSums:
        return EfronSums(*(a + b for a, b in zip(self._fields(), other._fields(), strict=True)))

    def _fields(self) -> tuple[np.ndarray, ...]:
        return (self.lived0, self.lived1, self.tied0, self.tied1, self.d, self.event_weight)


def efron_sums(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
               weights: np.ndarray | None = None) -> EfronSums:
    """The `EfronSums` of some rows of a fit's data (at the fit's coefficients and centre)."""
    Z = np.asarray(Z, dtype=float)
    durations = np.asarray(durations, dtype=float)
    is_event = np.asarray(events, dtype=float) > 0
    w = None if weights is None else np.asarray(weights, dtype=float)
    times = fit.baseline_times
    # bucket j: the rows whose duration lies in [t_j, t_j+1) (-1: before the first event
    # time, in no risk set); exits count at their own event time
    bucket = np.searchsorted(times, durations, side="right") - 1
    blocks = [slice(b, b + _SCORE_ROWS) for b in range(0, Z.shape[0], _SCORE_ROWS)]
    parts = map_chunks(
        lambda chunks: _sums_of_blocks(fit, Z, durations, bucket, is_event, w, chunks), blocks)
    return parts[0] + parts[1]


def _sums_of_blocks(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, bucket: np.ndarray,
                    is_event: np.ndarray, w: np.ndarray | None, blocks) -> EfronSums:
    """`EfronSums` of some row blocks: each block's (rows x p) values counted into (time, term)
    cells by one flat bincount while in cache (a column at a time would pass over all of Z
    once per term)."""
    K, p = fit.baseline_times.size, Z.shape[1]
    terms = np.arange(p)
    lived0, tied0, d, event_weight = (np.zeros(K) for _ in range(4))
    lived1, tied1 = np.zeros(K * p), np.zeros(K * p)
    for rows in blocks:
        zc = Z[rows] - fit.center
        wb = np.ones(zc.shape[0]) if w is None else w[rows]
        r = np.exp(zc @ fit.coef)
        r *= wb
        zc *= r[:, None]
        b = bucket[rows]
        live = b >= 0
        lived0 += np.bincount(b[live], weights=r[live], minlength=K)
        lived1 += np.bincount((b[live, None] * p + terms).ravel(), weights=zc[live].ravel(),
                              minlength=K * p)
        ev = is_event[rows]
        g = np.searchsorted(fit.baseline_times, durations[rows][ev])
        tied0 += np.bincount(g, weights=r[ev], minlength=K)
        tied1 += np.bincount((g[:, None] * p + terms).ravel(), weights=zc[ev].ravel(),
                             minlength=K * p)
        d += np.bincount(g, minlength=K)
        event_weight += np.bincount(g, weights=wb[ev], minlength=K)
    return EfronSums(lived0=lived0, lived1=lived1.reshape(K, p), tied0=tied0,
                     tied1=tied1.reshape(K, p), d=d, event_weight=event_weight)


def efron_terms(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                weights: np.ndarray | None = None) -> EfronTerms:
    """The Efron pieces of a fit of ``Z`` on (durations, events).

    With case ``weights`` the sums are weighted and each tied exit counts with
    the tied exits' mean weight (R's rule); the linearisation pieces are those
    of the unweighted fit.
    """
    return efron_terms_from_sums(fit.baseline_times, efron_sums(fit, Z, durations, events, weights))


def efron_terms_from_sums(times: np.ndarray, sums: EfronSums) -> EfronTerms:
    """`EfronTerms` from the `EfronSums` of all the fit's rows (added up over partitions)."""
    S0 = np.cumsum(sums.lived0[::-1])[::-1]
    S1 = np.cumsum(sums.lived1[::-1], axis=0)[::-1]
    T1, d = sums.tied1, sums.d
    mean_w = sums.event_weight / np.maximum(d, 1)
    ties = tie_sums(d, S0, sums.tied0)
    hazard = mean_w * ties.inv
    # m_l = (S1 - f_l T1) / den_l is linear in f_l, so each sum over l is two scalar sums
    path = S1 * ties.inv2[:, None] - T1 * ties.f_inv2[:, None]
    mean_death = (S1 * ties.inv[:, None] - T1 * ties.f_inv[:, None]) / np.maximum(d, 1)[:, None]
    tied_mean = S1 * ties.f_inv2[:, None] - T1 * ties.f2_inv2[:, None]
    return EfronTerms(times, hazard, hazard / np.maximum(d, 1), ties.inv2, ties.f_inv2, path,
                      mean_death, tied_mean, ties.f_inv)


def efron_score_residuals(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                          terms: EfronTerms | None = None) -> np.ndarray:
    """Exact Efron score residuals (n, p), as R's ``residuals(coxph, type = "score")``.

    Examples
    --------
    >>> from anker.models.cox import fit_cox
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 1))
    >>> t = np.ceil(10 * rng.exponential(size=300) / np.exp(0.5 * x[:, 0]))
    >>> fit = fit_cox(x, t, np.ones(300))
    >>> abs(float(efron_score_residuals(fit, x, t, np.ones(300)).sum())) < 1e-8  # the score at the MLE
    True
    """
    return efron_score_product(fit, Z, durations, events, out=np.empty(np.shape(Z)),
                               terms=terms)


def efron_score_product(fit: CoxFit, Z: np.ndarray, durations: np.ndarray, events: np.ndarray,
                        *, out: np.ndarray, matrix: np.ndarray | None = None,
                        terms: EfronTerms | None = None) -> np.ndarray:
    """``out = U @ matrix`` (``U`` the `efron_score_residuals`; ``U`` itself without ``matrix``),
    a block of rows at a time, the blocks shared by two threads.

    No (n, p) temporary is held: at national scale each is hundreds of MB. ``out``
    may be ``Z`` itself (each block of rows is read before it is written).
    """
    terms = terms or efron_terms(fit, Z, durations, events)
    Z = np.asarray(Z, dtype=float)
    durations = np.asarray(durations, dtype=float)
    is_event = np.asarray(events, dtype=float) > 0
    cum_a = np.concatenate(([0.0], np.cumsum(terms.hazard)))
    cum_b = np.concatenate((np.zeros((1, Z.shape[1])), np.cumsum(terms.beta_path, axis=0)))

    def work(blocks) -> None:
        for rows in blocks:
            Zc = Z[rows] - fit.center
            r = np.exp(Zc @ fit.coef)
            lived = np.searchsorted(terms.times, durations[rows], side="right")
            score = Zc * cum_a[lived][:, None]
            score -= cum_b[lived]
            score *= -r[:, None]
            exits = is_event[rows]
            j = lived[exits] - 1
            z_event = Zc[exits]
            # (z - mean_death) + r (z tied_hazard - tied_mean)
            at_event = z_event - terms.mean_death[j]
            z_event *= terms.tied_hazard[j, None]
            z_event -= terms.tied_mean[j]
            z_event *= r[exits, None]
            at_event += z_event
            score[exits] += at_event
            out[rows] = score if matrix is None else score @ matrix

    # each thread writes its own rows of out: nothing is summed across threads
    map_chunks(work, [slice(b, b + _SCORE_ROWS) for b in range(0, Z.shape[0], _SCORE_ROWS)])
    return out
