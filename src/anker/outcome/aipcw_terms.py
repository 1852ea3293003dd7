"""The regime's own rows in `anker.outcome.aipcw.regime_means`: IPCW, psi and their gradients.

A row's augmentation and censoring terms live on the grid only up to its end
e_i = index of min(X_i, tau_i): the censoring martingale of row i has its
at-risk part R_il = [l < e_i + C_i] (C_i = 1 when censored before tau_i) and
its jump dN_il = [l = e_i] C_i. So the (rows x grid) work of a chunk stops at
the chunk's last end, and sums over rows of terms that are constant in l
(such as [l < e_i] a_i) are bincounts over e followed by a cumulative sum
over the grid rather than (rows x grid) matrices.

Notation as in `anker.outcome.aipcw`: ahead_il = integral from g_l to tau_i
of S_i, Q_il = g_l + ahead_il / S_il, G the censoring survival, D_il =
omega_i coef_il / S_il the augmentation's weight on the outcome hazard, and
P_il = sum_{k < l} D_ik.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Sums:
    """Gradient sums a regime accumulates over the row chunks (see `RegimeMeans`)."""

    out_hazard: np.ndarray
    out_beta: np.ndarray
    c_hazard: np.ndarray | None
    c_beta: np.ndarray | None
    min_g: float = 1.0

    def add(self, other: Sums) -> Sums:
        """The sums of two sets of chunks."""
        def plus(a, b):
            return None if a is None else a + b

        return Sums(self.out_hazard + other.out_hazard, self.out_beta + other.out_beta,
                    plus(self.c_hazard, other.c_hazard), plus(self.c_beta, other.c_beta),
                    min(self.min_g, other.min_g))


@dataclass(frozen=True)
class CensoringOnGrid:
    """The censoring model read on the grid: cumulative hazard and jumps; ``km`` for a KM curve.

    ``risk(rows)`` gives (exp(z'b), centred z) of a Cox censoring model.
    """

    risk: object
    lam: np.ndarray
    jump: np.ndarray
    km: np.ndarray | None


@dataclass(frozen=True)
class OwnRows:
    """A chunk's rows of the regime's own cohort, sorted by their end e.

    ``S``: survival on the grid (at least ``end.max() + 1`` columns); ``S_tau``:
    the same with cells at or past each row's tau set to 0; ``m_ls``: (m_i,
    integral of Lambda S up to tau_i).
    """

    index: np.ndarray
    S: np.ndarray
    S_tau: np.ndarray
    r: np.ndarray
    zc: np.ndarray
    m_ls: np.ndarray
    end: np.ndarray
    x: np.ndarray
    d: np.ndarray
    tau: np.ndarray
    omega: np.ndarray


def _suffix(values: np.ndarray, at: np.ndarray, width: int, *, strict: bool) -> np.ndarray:
    """sum_i values_i [at_i > l] (strict) or [at_i >= l] for l < width."""
    bucket = np.bincount(at, weights=values, minlength=width)[:width]
    total = np.cumsum(bucket[::-1])[::-1]
    return np.concatenate((total[1:], [0.0])) if strict else total


def _shift_diff(a: np.ndarray, first: float) -> np.ndarray:
    """a[:, l] - a[:, l - 1], with ``first`` before column 0."""
    out = np.empty(a.shape)
    out[:, 0] = a[:, 0] - first
    np.subtract(a[:, 1:], a[:, :-1], out=out[:, 1:])
    return out


def _at(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """a[rows, cols] of a per-row (b, W) array or a shared (1, W) one (the Kaplan-Meier G)."""
    return a[rows if a.shape[0] > 1 else 0, cols]


def own_rows(sums: Sums, times: np.ndarray, weights_m: np.ndarray, lam: np.ndarray,
             cens: CensoringOnGrid | None, rows: OwnRows, ipcw: np.ndarray,
             psi: np.ndarray) -> np.ndarray:
    """Write ipcw and psi of the chunk's own rows and add their gradient terms to ``sums``.

    ``weights_m``: the grid's (widths, widths * Lambda) columns, as `regime_means` forms them.

    Returns r_i P_i(e_i + 1), the weight of ahead_il beyond the row's end in the
    outcome hazard gradient, which the caller carries with the rows' other
    weights on S.
    """
    b, end = rows.index.size, rows.end
    W = int(end.max()) + 1
    g, lam_w = times[:W], lam[:W]
    cols = np.arange(W)
    S = rows.S[:, :W]
    pieces = rows.S_tau[:, : W - 1] * weights_m[: W - 1, 0]
    tail, tail_l = (rows.S_tau[:, W - 1 :] @ weights_m[W - 1 : rows.S_tau.shape[1]]).T
    # summed from the far end: where S is tiny its small terms are not added to a large sum
    ahead = np.empty((b, W))
    ahead[:, W - 1] = 0.0
    if W > 1:
        np.cumsum(pieces[:, ::-1], axis=1, out=ahead[:, W - 2 :: -1])
    ahead += tail[:, None]
    seen = (rows.d == 1) | (rows.x >= rows.tau)
    cen = np.flatnonzero(~seen)
    e_c = end[cen]
    at_risk = cols[None, :] < (end + ~seen)[:, None]
    # Q where the row is at risk of censoring; 0 where S underflows (there ahead / S is 0 / 0)
    usable = at_risk & (S > 0)
    Q = np.divide(ahead, S, out=np.zeros((b, W)), where=usable)
    np.add(Q, g[None, :], out=Q, where=usable)
    y = np.minimum(rows.x, rows.tau)
    k = np.arange(b)
    if cens is not None:
        if cens.km is not None:
            G = cens.km[None, :W]
            rc, zcc = np.ones(b), np.zeros((b, 0))
        else:
            rc, zcc = cens.risk(rows.index)
            # past a row's own end G may underflow; those cells are masked out below
            G = np.multiply.outer(-rc, cens.lam[:W])
            np.maximum(G, -700.0, out=G)
            np.exp(G, out=G)
        inv_g = 1.0 / G
        g_at_y = np.where(end > 0, _at(G, k, np.maximum(end - 1, 0)), 1.0)
    else:
        g_at_y = np.ones(b)
    if seen.any():
        sums.min_g = min(sums.min_g, float(g_at_y[seen].min()))
    term1 = np.where(seen, y / g_at_y, 0.0)
    ipcw[rows.index] = term1
    if cens is None:
        psi[rows.index] = np.where(seen, y, 0.0)
        psi[rows.index[cen]] += Q[cen, e_c]
        coef = np.zeros((b, W))
        coef[cen, e_c] = 1.0
    else:
        # dM^C weights: -(1/G_l - 1/G_{l-1}) while at risk, 1/G_{e-1} at a censoring
        coef = (cols[None, :] < end[:, None]) * _shift_diff(inv_g, 1.0)
        np.negative(coef, out=coef)
        inv_prev_e = np.where(e_c > 0, _at(inv_g, cen, np.maximum(e_c - 1, 0)), 1.0)
        coef[cen, e_c] = inv_prev_e
        QC = Q * coef
        psi[rows.index] = term1 + QC.sum(axis=1)
    D = coef * rows.omega[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(D, S, out=D)
    # where S underflows the weight is 0 / 0 or x / 0: such a cell carries nothing
    if not np.isfinite(D).all():
        D[~np.isfinite(D)] = 0.0
    P = np.cumsum(D, axis=1)
    p_end = P[:, -1]
    # P_i(l) - P_i(end): the part of sum_i r_i ahead_il P_il not carried by the caller
    beyond = np.empty((b, W))
    beyond[:, 0] = -p_end
    np.subtract(P[:, :-1], p_end[:, None], out=beyond[:, 1:])
    sums.out_hazard[1, :W] -= rows.r @ (ahead * beyond)
    # sum_l D_il (integral from g_l to tau_i of Lambda S) = sum_k pieces_k lam_k P_ik (+ the tail)
    beta_scalar = ((pieces * P[:, : W - 1]) @ lam_w[:-1] + p_end * tail_l
                   - (D * ahead) @ lam_w)
    sums.out_beta[1] -= (rows.r * beta_scalar) @ rows.zc
    if cens is not None:
        _censoring_terms(sums, cens, W, Q, QC, inv_g, end, seen, cen, term1,
                         rows.omega * rc, zcc, y)
    return rows.r * p_end


def _censoring_terms(sums: Sums, cens: CensoringOnGrid, W: int, Q: np.ndarray, QC: np.ndarray,
                     inv_g: np.ndarray, end: np.ndarray, seen: np.ndarray, cen: np.ndarray,
                     term1: np.ndarray, factor: np.ndarray, zcc: np.ndarray, y: np.ndarray) -> None:
    """Add d psi_i / d lambda^C_m and d psi_i / d beta^C (the module notes of aipcw) to ``sums``.

    bracket_im = b1 + b2 with b1 = [seen, m < e_i] term1_i and b2 = C_i [m <= e_i] dn_i
    - R_im Q_im / G_im - sum_{k > m} R_ik Q_ik (1/G_ik - 1/G_i,k-1), dn_i = Q_ie / G_ie.
    """
    e_c = end[cen]
    QI = Q * inv_g
    dn = QI[cen, e_c]
    b1 = _suffix((factor * term1)[seen], end[seen], W, strict=True)
    dn_part = _suffix(factor[cen] * dn, e_c, W, strict=False)
    # sum_i factor_i R_ik Q_ik (1/G_ik - 1/G_i,k-1) = -factor @ QC + the censorings' Q / G
    v = -(factor @ QC) + np.bincount(e_c, weights=factor[cen] * dn, minlength=W)[:W]
    later = np.concatenate((np.cumsum(v[::-1])[::-1][1:], [0.0]))
    sums.c_hazard[0, :W] += b1
    sums.c_hazard[1, :W] += b1 + dn_part - factor @ QI - later
    if cens.km is None:
        lam_c = cens.lam[:W]
        y_prev = np.maximum(end - 1, 0)
        s1 = term1 * np.where(end > 0, lam_c[y_prev], 0.0)
        # sum_l Q_il (lam_l / G_il - lam_{l-1} / G_i,l-1), lam_{-1} = 0
        h = inv_g * lam_c[None, :]
        h[:, 1:] -= h[:, :-1].copy()
        s2 = np.zeros(factor.size)
        s2[cen] = dn * lam_c[e_c]
        s2 -= (Q * h).sum(axis=1)
        sums.c_beta[0] += (factor * s1) @ zcc
        sums.c_beta[1] += (factor * (s1 + s2)) @ zcc
