"""``anker compare``: compare two cohorts on time on benefit (RMST difference) from a CSV file.

Prints the summary of `anker.compare_cohorts`: the estimand, the naive and
adjusted RMST differences in calendar and benefit days with bootstrap CIs,
sizes, the log-rank test, the Cox hazard ratio and the proportional hazards
check.
"""

from __future__ import annotations

import argparse
import warnings

from anker.cli._args import calendar_days, whole_number

NAME = "compare"
HELP = ("Compare two cohorts (e.g. casemanagement 2004 vs coaching 2007) on restricted mean "
        "time on benefit: naive, g-computation, IPTW and doubly robust estimates with CIs.")

_METHODS = ("naive", "gcomp", "iptw", "aipw", "did", "did_adjusted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA.csv", help="one row per benefit spell (CSV)")
    parser.add_argument("--horizon", type=calendar_days, default=365.0, metavar="DAYS",
                        help="RMST horizon in calendar days (default 365)")
    parser.add_argument("--method", choices=_METHODS, default="aipw",
                        help="estimator reported as the RMST difference (default aipw); "
                             "all are listed")
    parser.add_argument("--covariates", default=None, metavar="A,B,C",
                        help="comma-separated covariate columns (default: the inflow "
                             "covariates; protected attributes only when listed)")
    parser.add_argument("--n-boot", type=whole_number(0), default=1000, metavar="N",
                        help="bootstrap replicates (default 1000; 0: normal intervals)")
    parser.add_argument("--seed", type=whole_number(0), default=0, metavar="S",
                        help="seed of the bootstrap (default 0)")
    parser.add_argument("--cohort-col", default="cohort", metavar="COL",
                        help="column naming the cohort (default cohort)")
    parser.add_argument("--reference", default=None, metavar="COHORT",
                        help="reference cohort (default casemanagement_2004 when present)")
    parser.add_argument("--other", default=None, metavar="COHORT",
                        help="the other cohort, when the cohort column holds more than two")
    parser.add_argument("--duration-col", default="duration_days", metavar="COL",
                        help="spell length in calendar days (default duration_days)")
    parser.add_argument("--event-col", default="exited", metavar="COL",
                        help="1 = spell ended, 0 = censored (default exited)")
    parser.add_argument("--cluster-col", default="auto", metavar="COL",
                        help="resample whole clusters in the bootstrap (default: coach_id when "
                             "the data have it; 'none': spells as independent)")
    parser.add_argument("--comparison-col", default=None, metavar="COL",
                        help="0/1 column of a comparison group: adds difference in differences")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from anker.outcome import compare_cohorts
    from anker.outcome.options import resolve_cluster_col

    try:
        df = pd.read_csv(args.data)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{args.data}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{args.data}: not a readable CSV file ({exc})") from None
    covariates = None
    if args.covariates is not None:
        covariates = [c.strip() for c in args.covariates.split(",") if c.strip()]
    cohorts = None
    if args.other is not None:
        if args.reference is None:
            raise ValueError("--other needs --reference")
        cohorts = (args.reference, args.other)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cmp = compare_cohorts(
            df, cohort_col=args.cohort_col, reference=args.reference, cohorts=cohorts,
            duration_col=args.duration_col, event_col=args.event_col, covariates=covariates,
            horizon=args.horizon, method=args.method, n_boot=args.n_boot, seed=args.seed,
            comparison_col=args.comparison_col,
            cluster_col=resolve_cluster_col(args.cluster_col, df),
        )
    print(cmp.summary)
    # caveats are in the summary's notes already; anything else is shown once, briefly
    shown = set(cmp.notes)
    for w in caught:
        message = " ".join(str(w.message).split())
        if message not in shown:
            shown.add(message)
            print(f"warning: {message}")
    return 0
