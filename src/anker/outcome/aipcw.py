"""Restricted means under one regime: g-computation, IPTW with IPCW, and augmented IPCW.

For a regime a (0 reference, 1 other) and per-row restriction times tau_i
(the horizon; or min(entitlement, horizon) for paid days), with Y = min(T, tau):

- ``m_i`` = integral_0^tau_i S_a(t | x_i) dt from the outcome Cox model of regime a;
- ``ipcw_i`` = Delta_i Y_i / G_i(Y_i-), Delta_i = 1 when Y_i is seen (an exit, or
  followed up to tau_i), G_i the censoring survival of the row's own cohort;
- ``psi_i`` = ipcw_i + sum_k Q_i(u_k) / G_i(u_k) dM^C_i(u_k), the augmented IPCW
  pseudo-outcome (Bai, Tsiatis & O'Brien 2013), with Q_i(u) = E[Y | T > u, x_i]
  from the outcome model and dM^C the censoring martingale increment. In
  discrete time G_i(u) = prod_{u_k <= u} (1 - h_ik) and an exit at u_k comes
  before a censoring at u_k; with that convention psi_i has mean E[Y | x_i]
  when either the outcome model or the censoring model is right (exactly,
  not only in continuous time: whole days are heavily tied).

The regime's mean is then sum_i pi_i m_i / sum pi + sum_{A_i = a} omega_i (psi_i - m_i)
(``aipw``), sum pi_i m_i / sum pi (``gcomp``) or sum_{A_i = a} omega_i ipcw_i
(``iptw``), with target weights pi (ATT: the other cohort; ATE: everyone) and
normalised propensity weights omega. `regime_means` also returns the
gradients of these means with respect to both Cox models' coefficients and
baseline hazard jumps, so that `anker.models.cox_functionals.CoxInfluence`
turns them into per-person contributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anker._threads import map_chunks
from anker.models.cox_functionals import CoxInfluence
from anker.outcome.aipcw_terms import CensoringOnGrid, OwnRows, Sums, own_rows
from anker.survival import product_limit

# cells per chunk of (rows x grid) matrices: ~1.2 MB per float64 array, so the
# working set of a chunk stays in a core's L2 cache (3M cells measured 2x slower)
_CELLS_PER_CHUNK = 150_000


@dataclass(frozen=True)
class Grid:
    """All times that matter up to the largest restriction time: 0, observed times, tau values."""

    times: np.ndarray  # g_0 = 0 < g_1 < ... < g_L = max tau

    @classmethod
    def build(cls, durations: np.ndarray, tau: np.ndarray) -> Grid:
        top = float(tau.max())
        inside = durations[durations <= top]
        return cls(np.unique(np.concatenate(([0.0], inside, tau))))

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.times)

    def index(self, t: np.ndarray) -> np.ndarray:
        """Grid index of times that lie on the grid."""
        return np.searchsorted(self.times, t)

    def step(self, times: np.ndarray, jumps: np.ndarray) -> np.ndarray:
        """Cumulative sum of ``jumps`` at ``times`` read at every grid point."""
        cum = np.concatenate(([0.0], np.cumsum(jumps)))
        return cum[np.searchsorted(times, self.times, side="right")]

    def on_fit_times(self, grad: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Pick a (k, L + 1) gradient over grid points at a fit's jump times (all on the grid)."""
        return grad[:, self.index(times)]


@dataclass(frozen=True)
class Model:
    """A fitted Cox model ready to predict for every row under one regime.

    ``infl`` linearises the fit over ``rows`` (indices of the analysed data it
    was fitted on); ``Z`` is the prediction design of every row (the cohort
    column, if any, set to the regime). ``product_limit``: G is a product of
    (1 - lambda_k) (Kaplan-Meier of censoring) rather than exp(-r Lambda).
    """

    infl: CoxInfluence
    rows: np.ndarray
    Z: np.ndarray
    product_limit: bool = False
    note: str | None = None

    def risk(self, rows: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fit = self.infl.fit
        zc = self.Z[rows] - fit.center
        return np.exp(zc @ fit.coef), zc


@dataclass(frozen=True)
class RegimeMeans:
    """Per-row values and the gradients of the regime's three means (see the module docstring).

    ``outcome_grad_*`` rows: (gcomp, aipw); ``censor_grad_*`` rows: (iptw, aipw).
    Hazard gradients are over the fit's jump times (``infl.times``).
    """

    m: np.ndarray
    ipcw: np.ndarray
    psi: np.ndarray
    outcome_grad_beta: np.ndarray
    outcome_grad_hazard: np.ndarray
    censor_grad_beta: np.ndarray | None
    censor_grad_hazard: np.ndarray | None
    mean_survival: np.ndarray
    min_censoring_survival: float


def _chunks(order: np.ndarray, width: int):
    size = max(256, _CELLS_PER_CHUNK // max(width, 1))
    for begin in range(0, order.size, size):
        yield order[begin : begin + size]


def _censoring_hazard(grid: Grid, censoring: Model) -> tuple[np.ndarray, np.ndarray]:
    """The censoring model's cumulative baseline hazard on the grid and its jumps."""
    lam_c = grid.step(censoring.infl.times, censoring.infl.hazard)
    return lam_c, np.diff(np.concatenate(([0.0], lam_c)))


def _censoring_km(jump_c: np.ndarray) -> np.ndarray:
    """The censoring Kaplan-Meier curve on the grid from its hazard jumps."""
    if (jump_c >= 1.0).any():
        raise FloatingPointError("censoring survival reaches 0")
    return product_limit(np.ones(jump_c.size), jump_c)


def _row_order(grid: Grid, durations: np.ndarray, tau_idx: np.ndarray,
               own: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order chunks take the rows in, and each row's last grid index min(X, tau).

    Rows sorted by restriction time keep a chunk's tau mostly shared; the
    regime's own rows, last and sorted by where they end, let a chunk's
    per-row work stop at its rows' ends instead of the horizon.
    """
    end = grid.index(np.minimum(durations, tau))
    others, mine = np.flatnonzero(~own), np.flatnonzero(own)
    others = others[np.argsort(tau_idx[others], kind="stable")]
    mine = mine[np.lexsort((end[mine], tau_idx[mine]))]
    return np.concatenate((others, mine)), end


def _before_tau(E: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[:, :max T] with each row's cells from its own T on set to 0."""
    top = int(T.max())
    view = E[:, :top]
    if T.min() < top:
        view = view * (np.arange(top)[None, :] < T[:, None])
    return view


def regime_means(grid: Grid, durations: np.ndarray, events: np.ndarray, tau: np.ndarray,
                 own: np.ndarray, coef_m: np.ndarray, omega: np.ndarray, outcome: Model,
                 censoring: Model | None, target: np.ndarray) -> RegimeMeans:
    """Values and gradients for one regime.

    Parameters
    ----------
    grid : the time grid.
    durations, events, tau : per row (calendar days; 0/1; restriction times on the grid).
    own : bool mask of the rows in the regime's cohort (where ipcw and psi are formed).
    coef_m : (n, 2) coefficients of m_i in the gcomp and aipw means.
    omega : (n,) normalised propensity weights (0 outside ``own``).
    outcome, censoring : the regime's models (censoring None: no censoring, G = 1).
    target : (n,) weights averaging the g-computation curve ``mean_survival``.

    Every row needs S_i on the whole grid only through sums that are products
    with it (m_i, the mean curve, the hazard gradient as sum_k w_k F(k) over
    k >= l); only the regime's own rows need (rows x grid) work, and only up to
    their own end min(X_i, tau_i), past which every such cell is 0.
    """
    n, L1 = durations.size, grid.times.size
    widths = grid.widths
    lam = grid.step(outcome.infl.times, outcome.infl.hazard)
    weights_m = np.column_stack((widths, widths * lam[:-1]))  # m_i and its d/d(log r) part
    tau_idx = grid.index(tau)
    m = np.zeros(n)
    ipcw = np.full(n, np.nan)
    psi = np.full(n, np.nan)
    has_c = censoring is not None
    cens = None
    if has_c:
        lam_c, jump_c = _censoring_hazard(grid, censoring)
        cens = CensoringOnGrid(censoring.risk, lam_c, jump_c,
                               _censoring_km(jump_c) if censoring.product_limit else None)
    order, end = _row_order(grid, durations, tau_idx, own, tau)

    def work(chunks):
        """One thread's chunks: its own sums; m, ipcw and psi written at its rows."""
        sums = Sums(np.zeros((2, L1)), np.zeros((2, outcome.Z.shape[1])),
                    np.zeros((2, L1)) if has_c else None,
                    np.zeros((2, censoring.Z.shape[1])) if has_c else None)
        F = np.zeros((2, L1 - 1))  # F_j(k) = sum over rows with tau_i > g_k of c_ij S_i(g_k)
        survival_sum = np.zeros(L1)
        for rows in chunks:
            r, zc = outcome.risk(rows)
            E = np.multiply.outer(-r, lam)
            np.exp(E, out=E)
            survival_sum += target[rows] @ E
            T = tau_idx[rows]
            Et = _before_tau(E, T)
            m_ls = Et @ weights_m[: Et.shape[1]]
            m[rows] = m_ls[:, 0]
            cm = coef_m[rows]
            sums.out_beta -= (cm * (r * m_ls[:, 1])[:, None]).T @ zc
            c = cm * r[:, None]
            sub = own[rows]
            if sub.any():
                # the regime's own rows come last in the order: a chunk's own rows are its tail
                s = slice(int(np.argmax(sub)), None)
                rs = rows[s]
                chunk = OwnRows(rs, E[s], Et[s], r[s], zc[s], m_ls[s], end[rs], durations[rs],
                                events[rs], tau[rs], omega[rs])
                c[s, 1] += own_rows(sums, grid.times, weights_m, lam, cens, chunk, ipcw, psi)
            F[:, : Et.shape[1]] += c.T @ Et
        return sums, F, survival_sum

    (sums, F, survival_sum), (more, F_more, survival_more) = map_chunks(
        work, list(_chunks(order, L1)))
    sums = sums.add(more)
    F += F_more
    survival_sum += survival_more
    # sum_i c_ij ahead_i(l) = sum_{k >= l} w_k F_j(k)
    sums.out_hazard[:, :-1] -= np.cumsum((F * widths)[:, ::-1], axis=1)[:, ::-1]
    c_hazard = sums.c_hazard
    if has_c and censoring.product_limit:
        c_hazard = c_hazard / (1.0 - cens.jump)[None, :]
    total_target = max(float(target.sum()), 1e-300)
    return RegimeMeans(
        m=m, ipcw=ipcw, psi=psi,
        outcome_grad_beta=sums.out_beta,
        outcome_grad_hazard=grid.on_fit_times(sums.out_hazard, outcome.infl.times),
        censor_grad_beta=sums.c_beta,
        censor_grad_hazard=grid.on_fit_times(c_hazard, censoring.infl.times) if has_c else None,
        mean_survival=survival_sum / total_target, min_censoring_survival=sums.min_g,
    )


def ipcw_product_limit(grid: Grid, durations: np.ndarray, events: np.ndarray, tau: np.ndarray,
                       own: np.ndarray, omega: np.ndarray,
                       censoring: Model | None) -> tuple[np.ndarray, np.ndarray | None]:
    """IPCW values and their censoring gradient under a Kaplan-Meier censoring model.

    What `regime_means` gives for ``ipcw`` and row 0 of ``censor_grad_hazard``
    when G is one product-limit curve and nothing else is asked (the
    unadjusted mean of paid days): ipcw_i = Delta_i Y_i / G(Y_i-) on ``own``
    rows, and d (sum_i omega_i ipcw_i) / d lambda^C_l = sum over seen rows
    with Y_i > g_l of omega_i ipcw_i / (1 - lambda^C_l), a reverse cumulative
    sum over the grid. O(n log n), where `regime_means` fills (rows x grid)
    matrices.
    """
    if censoring is not None and not censoring.product_limit:
        raise ValueError("ipcw_product_limit needs a product-limit (Kaplan-Meier) censoring model")
    g = grid.times
    rs = np.flatnonzero(own)
    x, d, t_o = durations[rs], events[rs], tau[rs]
    seen = (d == 1) | (x >= t_o)
    y = np.minimum(x, t_o)
    ipcw = np.full(durations.size, np.nan)
    if censoring is None:
        ipcw[rs] = np.where(seen, y, 0.0)
        return ipcw, None
    _, jump_c = _censoring_hazard(grid, censoring)
    g_common = _censoring_km(jump_c)
    first_at_or_after = np.searchsorted(g, y, side="left")
    y_prev = first_at_or_after - 1
    g_at_y = np.where(y_prev >= 0, g_common[np.maximum(y_prev, 0)], 1.0)
    term1 = np.where(seen, y / g_at_y, 0.0)
    ipcw[rs] = term1
    # grid points l with g_l < Y_i are l < first_at_or_after_i
    bucket = np.bincount(first_at_or_after, weights=omega[rs] * term1, minlength=g.size + 1)
    above = np.cumsum(bucket[::-1])[::-1][1:]
    grad = above[: g.size] / (1.0 - jump_c)
    return ipcw, grid.on_fit_times(grad[None, :], censoring.infl.times)


def model_contributions(model: Model, grad_beta: np.ndarray, grad_hazard: np.ndarray,
                        n: int) -> np.ndarray:
    """(n, k) contributions of every analysed row through a model's estimation."""
    out = np.zeros((n, grad_beta.shape[0]))
    out[model.rows] = model.infl.contributions(grad_beta, grad_hazard)
    return out
