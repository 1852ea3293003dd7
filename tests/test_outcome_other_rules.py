"""Paid days when the cohorts' entitlement rules differ (a reform): ``entitlement_other_col``.

Not the generator's world: three covariates, entitlements that are step
functions of work history with different steps per cohort, an outcome hazard
quadratic in x1 (the Cox model, linear in x1, is wrong), censoring that
depends on x2. The ATT on paid days prices each other-cohort spell at its own
entitlement, so the weighted reference spells must end at the entitlement the
other cohort's rules give them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import anker
from anker.outcome.estimators import estimate_all

H = 365.0


def _reform_world(seed: int, n: int = 10_000):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = (rng.random(n) < 0.4).astype(float)
    wh = rng.uniform(0, 20, n)  # years of work history
    lp = -0.2 + 0.6 * x1 - 0.5 * x2 + 0.05 * (wh - 10)
    A = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    rate0 = np.exp(0.8 * x1 ** 2 - 0.4 * x1 + 0.3 * x2 + 0.03 * wh) / 200.0
    t0 = np.ceil(rng.exponential(1 / rate0))
    t1 = np.ceil(t0 / 1.25)
    ent0 = np.where(wh < 5, 200, 420)                                 # the old rules
    ent1 = np.where(wh < 8, 100, np.where(wh < 14, 250, 420))         # the new rules: shorter
    own, other = np.where(A == 1, ent1, ent0), np.where(A == 1, ent0, ent1)
    c = np.ceil(rng.exponential(np.where(x2 == 1, 500, 900)))
    T = np.where(A == 1, t1, t0)
    cap = np.full(n, H)
    truth = float(np.mean((np.minimum.reduce([t1, ent1, cap])
                           - np.minimum.reduce([t0, ent1, cap]))[A == 1]))
    df = pd.DataFrame({"arm": np.where(A == 1, "new", "old"),
                       "days": np.minimum.reduce([T, own, c]),
                       "out": (T <= np.minimum(own, c)).astype(int),
                       "x1": x1, "x2": x2, "wh": wh, "ent": own, "ent_x": other})
    return df, truth


KW = dict(cohort_col="arm", reference="old", duration_col="days", event_col="out",
          covariates=["x1", "x2", "wh"], horizon=H, entitlement_col="ent", n_boot=0,
          exit_reason_col=None)


def _z_errors(entitlement_other_col):
    out = {m: [] for m in ("gcomp", "iptw", "aipw")}
    for seed in (1, 2):
        df, truth = _reform_world(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = anker.compare_cohorts(df, entitlement_other_col=entitlement_other_col, **KW)
        for m in out:
            out[m].append((cmp.estimates.loc[m, "estimate"] - truth) / cmp.estimates.loc[m, "se"])
    return {m: float(np.mean(z)) for m, z in out.items()}, cmp


def test_weighting_is_right_on_paid_days_with_the_other_rules_and_wrong_without():
    # Mean of two z-scores: SD 0.71 when unbiased, so |mean| < 2.5 fails 1 in 2,000.
    # Measured: iptw 0.22 and 1.24 SE, aipw -1.36 and 0.53; gcomp (wrong outcome model)
    # -9.4 and -7.6: the scenario bites, and aipw's weighting side carries it.
    z, cmp = _z_errors("ent_x")
    assert abs(z["iptw"]) < 2.5, z
    assert abs(z["aipw"]) < 2.5, z
    assert z["gcomp"] < -4, z
    assert cmp.entitlement_other_col == "ent_x"
    assert any("under the other cohort's rules" in note for note in cmp.notes)
    assert not any("entitlement rules differ" in note for note in cmp.notes)
    # without the column iptw prices the old rules (measured -8.4 and -7.3 SE), and says so
    z, cmp = _z_errors(None)
    assert abs(z["iptw"]) > 4, z
    assert cmp.entitlement_other_col is None
    assert any("entitlement rules differ" in note for note in cmp.notes)


def test_the_default_column_is_picked_up_and_checked():
    df, _ = _reform_world(3, n=3_000)
    df = df.rename(columns={"ent_x": "entitlement_days_other_rules"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = anker.compare_cohorts(df, **KW)
        assert cmp.entitlement_other_col == "entitlement_days_other_rules"
        # the other cohort's rows may leave it empty: only reference spells use it
        df.loc[df["arm"] == "new", "entitlement_days_other_rules"] = np.nan
        again = anker.compare_cohorts(df, **KW)
    assert again.estimates.loc["iptw", "estimate"] == pytest.approx(cmp.estimates.loc["iptw", "estimate"])
    bad = df.copy()
    bad.loc[bad.index[bad["arm"] == "old"][:3], "entitlement_days_other_rules"] = np.nan
    with pytest.raises(anker.AnkerDataError, match="entitlement_days_other_rules.*3 missing"):
        anker.compare_cohorts(bad, **KW)
    with pytest.raises(anker.AnkerDataError, match="'nope' is not a column"):
        anker.compare_cohorts(df, entitlement_other_col="nope", **KW)
    with pytest.raises(ValueError, match="paid_days"):
        anker.compare_cohorts(df, entitlement_other_col="entitlement_days_other_rules",
                              outcome="time_on_benefit", **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ate = anker.compare_cohorts(df, estimand="ate", **KW)
    assert ate.entitlement_other_col is None
    assert any("ATT only" in note for note in ate.notes)


def test_other_rules_contributions_match_leave_one_out():
    # the influence values with per-regime restriction times, against the jackknife on
    # continuous times (no ties), as the other contribution tests
    rng = np.random.default_rng(17)
    n = 600
    x = rng.normal(size=n)
    A = (rng.random(n) < 1 / (1 + np.exp(-0.5 * x))).astype(float)
    T = 100 * rng.exponential(size=n) / np.exp(0.5 * x + 0.3 * A)
    C = 300 * rng.exponential(size=n) / np.exp(0.4 * x)
    own = np.where(A == 1, np.where(x > 0, 60.0, 150.0), 150.0)
    other = np.where(x > 0, 60.0, 150.0)  # the new rules, for the reference spells
    end = np.minimum(T, own)
    d, e = np.minimum(end, C), ((T <= C) & (T <= own)).astype(float)
    X = np.column_stack((x, rng.normal(size=n)))
    kw = dict(tau=np.minimum(own, 150.0), tau_reference=other, propensity="balance")
    est = estimate_all(d, e, A, X, 150.0, **kw)
    rows = rng.choice(n, 40, replace=False)
    for m in ("iptw", "aipw"):
        res = est.results[m]
        loo = np.array([estimate_all(np.delete(d, i), np.delete(e, i), np.delete(A, i),
                                     np.delete(X, i, axis=0), 150.0, influence=False,
                                     tau=np.delete(kw["tau"], i), tau_reference=np.delete(other, i),
                                     propensity="balance").results[m].estimate for i in rows])
        jk = res.estimate - loo
        assert np.corrcoef(jk, res.contribution[rows])[0, 1] > 0.995, m
        assert np.linalg.norm(res.contribution[rows]) / np.linalg.norm(jk) == pytest.approx(1, abs=0.05)
