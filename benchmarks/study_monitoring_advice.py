"""How often does anker.monitor advise what, per seed and sample size? (docs/monitoring_advice.md)

Not a timing benchmark (run_all.py does not run it): a simulation study of the
advice rule against the generator's known truth.

- ``fresh``: a model fitted on one random half of the 2004 inflow is monitored
  on the other half; any flag is a false alarm.
- ``cycle``: a model fitted on the 2004 cohort is monitored on the 2007
  inflow. The fitted labour-market test's true calibration-in-the-large on
  that inflow (``true_citl``) follows from the generator's true probabilities
  of work within 6 months: the intercept a solving sum(p_true - expit(a +
  logit p_model)) = 0.

Usage::

    python benchmarks/study_monitoring_advice.py fresh 4000 0-99 out.csv
    python benchmarks/study_monitoring_advice.py cycle 20000 0-9 out.csv [--hazard-ratio 1.3]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

import anker


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(v) for v in text.split("-"))
        return list(range(low, high + 1))
    return [int(v) for v in text.split(",")]


def true_level_error(model, new: pd.DataFrame, p_true: np.ndarray) -> float:
    """The fitted labour-market test's calibration-in-the-large against the true probabilities."""
    offset = logit(np.clip(model.labour_market.predict_proba(new).to_numpy(), 1e-12, 1 - 1e-12))
    return float(brentq(lambda a: float(np.sum(p_true - expit(a + offset))), -5, 5))


def run(mode: str, n: int, seeds: list[int], hazard_ratio: float | None) -> pd.DataFrame:
    rows = []
    extra = {} if hazard_ratio is None else {"coaching_hazard_ratio": hazard_ratio}
    for seed in seeds:
        pop = anker.simulate_population(n_per_cohort=n, seed=seed, **extra)
        df = pop.data
        old = df[df["cohort"] == "casemanagement_2004"]
        if mode == "cycle":
            fit, new = old, df[df["cohort"] == "coaching_2007"]
        else:
            order = np.random.default_rng(seed).permutation(len(old))
            fit, new = old.iloc[order[: n // 2]], old.iloc[order[n // 2:]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = anker.AnkerModel().fit(fit)
            mon = anker.monitor(model, new)
            truth = true_level_error(model, new,
                                     pop.truth.rows.loc[new.index, "p_work_6m"].to_numpy())
        for test, r in mon.calibration.iterrows():
            rows.append({"mode": mode, "n_per_cohort": n, "seed": seed, "test": test,
                         "advice": mon.advice.loc[test, "advice"],
                         "citl": r["calibration_in_the_large"],
                         "citl_ci_low": r["calibration_in_the_large_ci_low"],
                         "citl_ci_high": r["calibration_in_the_large_ci_high"],
                         "reference_se": r["citl_se"] * np.sqrt(1 + r["n"] / r["n_fit"]),
                         "true_citl": truth if test == "labour_market" else np.nan,
                         "slope": r["calibration_slope"], "expected_slope": r["expected_slope"],
                         "discrimination": r["discrimination"],
                         "discrimination_at_fit": r["discrimination_at_fit"],
                         "discrimination_apparent": r.get("discrimination_apparent", np.nan),
                         "n_flags": len(mon.flags),
                         "psi_flagged": ",".join(mon.psi.index[mon.psi["flagged"]])})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fresh", "cycle"])
    parser.add_argument("n_per_cohort", type=int)
    parser.add_argument("seeds", help="e.g. 0-99 or 2005,0,1")
    parser.add_argument("out", help="CSV of one row per seed and test")
    parser.add_argument("--hazard-ratio", type=float, default=None,
                        help="the generator's coaching hazard ratio (default: the generator's, "
                             "as in the shipped data)")
    args = parser.parse_args()
    out = run(args.mode, args.n_per_cohort, _seeds(args.seeds), args.hazard_ratio)
    out.to_csv(args.out, index=False)
    runs = out.groupby("seed")["n_flags"].first()
    print(f"{args.mode}, {args.n_per_cohort} per cohort: {len(runs)} runs, "
          f"{int((runs > 0).sum())} with a flag")
    print(out.groupby("test")["advice"].value_counts().unstack(fill_value=0).to_string())


if __name__ == "__main__":
    main()
