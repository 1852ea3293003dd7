"""The implementations before issue 13 (national scale), kept verbatim as references.

tests/test_outcome_scale.py checks that the blocked, memory-lean versions in
`anker.outcome` give the same numbers as these on small data (1e-10 relative).
"""

from __future__ import annotations

import numpy as np


def gformula_reference(models, X_target: np.ndarray, weights: np.ndarray, horizon: float):
    """Mean F_work(h) and time lost to work over the target rows, with gradients per model."""
    times = np.unique(np.concatenate([m[0].times for m in models.values()]))
    jump = {k: np.zeros(times.size) for k in models}
    for k, (infl, _) in models.items():
        jump[k][np.searchsorted(times, infl.times)] = infl.hazard
    value = np.zeros(2)
    grads = {k: (np.zeros((2, m[0].fit.coef.size)), np.zeros((2, m[0].times.size)))
             for k, m in models.items()}
    a = np.vstack((np.ones(times.size), horizon - times))  # F and the time lost
    zc = {k: X_target - m[0].fit.center for k, m in models.items()}
    r = {k: np.exp(zc[k] @ m[0].fit.coef) for k, m in models.items()}
    cum = {k: np.concatenate(([0.0], np.cumsum(jump[k])[:-1])) for k in models}  # Lambda(t_j-)
    S_before = np.exp(-sum(r[k][:, None] * cum[k][None, :] for k in models))
    inc = S_before * r["work"][:, None] * jump["work"][None, :]  # (rows, times)
    per_row = inc @ a.T  # (rows, 2)
    value = weights @ per_row
    # F = sum_j a_j S(t_j-) r_w lambda_wj; d/d lambda_km: -r_k sum_{j > m} (...) + [k = w] r_w S(t_m-)
    for k, (infl, _) in models.items():
        idx = np.searchsorted(times, infl.times)
        later = np.stack([np.cumsum((inc * a_row)[:, ::-1], axis=1)[:, ::-1] for a_row in a])
        later = np.concatenate((later[:, :, 1:], np.zeros((2, inc.shape[0], 1))), axis=2)
        g_haz = -np.einsum("i,i,qij->qj", weights, r[k], later)
        if k == "work":
            g_haz += (weights * r[k]) @ S_before * a
        lam_inc = (inc * cum[k][None, :]) @ a.T  # (rows, 2): sum_j a_j Lambda_k(t_j-) inc_j
        grad_beta = -((weights * r[k])[:, None] * lam_inc).T @ zc[k]
        if k == "work":
            grad_beta += ((weights[:, None] * (inc @ a.T)).T @ zc[k])
        grads[k] = (grad_beta, g_haz[:, idx])
    return value, per_row, grads
