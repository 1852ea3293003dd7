"""``anker compare``: compare two cohorts on time on benefit (RMST difference) from a CSV file.

Prints the summary of `anker.compare_cohorts`: the estimand, the naive and
adjusted RMST differences in calendar and benefit days with bootstrap CIs,
sizes, the log-rank test, the Cox hazard ratio and the proportional hazards
check.
"""

from __future__ import annotations

import argparse
import warnings

from anker.cli._args import MAX_N_BOOT, whole_number
from anker.cli._config import add_column_arguments, finish_parser

NAME = "compare"
HELP = ("Compare two cohorts (e.g. casemanagement 2004 vs coaching 2007) on restricted mean "
        "time on benefit: naive, g-computation, IPTW and doubly robust estimates with CIs.")

_METHODS = ("naive", "gcomp", "iptw", "aipw", "did", "did_adjusted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA.csv", help="one row per benefit spell (CSV, "
                        ".csv.gz, Parquet or a folder of Parquet files)")
    parser.add_argument("--method", choices=_METHODS, default=None,
                        help="estimator reported as the RMST difference (default aipw, or naive "
                             "with --estimators naive); all are listed")
    parser.add_argument("--estimators", choices=("all", "naive"), default="all",
                        help="all (default): every estimator; naive: the unadjusted Kaplan-Meier "
                             "comparison alone, from counts per (cohort, duration), with no model "
                             "(time on benefit only)")
    parser.add_argument("--outcome", choices=("auto", "paid_days", "time_on_benefit"),
                        default="auto",
                        help="paid_days: E[min(T, entitlement, horizon)]; time_on_benefit: "
                             "E[min(T, horizon)]; auto (default): paid days when the data hold "
                             "the entitlement column")
    parser.add_argument("--n-boot", type=whole_number(0, MAX_N_BOOT), default=1000, metavar="N",
                        help=f"bootstrap replicates (default 1000, at most {MAX_N_BOOT:,}; 0: "
                             "normal intervals)")
    parser.add_argument("--seed", type=whole_number(0), default=0, metavar="S",
                        help="seed of the bootstrap (default 0)")
    parser.add_argument("--other", default=None, metavar="COHORT",
                        help="the other cohort, when the cohort column holds more than two")
    parser.add_argument("--comparison-col", default=None, metavar="COL",
                        help="0/1 column of a comparison group: adds difference in differences")
    add_column_arguments(parser)
    finish_parser(parser)


def comparison_arguments(args: argparse.Namespace, df) -> dict:
    """The keyword arguments of `compare_cohorts` that the flags and the file describe."""
    from anker.cli._config import match_label, missing_defaults, require
    from anker.outcome.compare import DEFAULT_COVARIATES
    from anker.outcome.options import resolve_cluster_col
    from anker.schema import resolve_time_unit

    # coaches share their own effect over the caseload: cluster on coach_id when present,
    # unless --cluster-col names another column or 'none'
    # (the naive comparison from counts resamples spells: no clusters unless asked for)
    naive_only = getattr(args, "estimators", "all") == "naive"
    default_cluster = "none" if naive_only else "auto"
    cluster_col = resolve_cluster_col(default_cluster if args.cluster_col is None
                                      else args.cluster_col, df)
    require(df, [(args.cohort_col, "--cohort-col"), (args.duration_col, "--duration-col"),
                 (args.event_col, "--event-col"), (cluster_col, "--cluster-col")],
            data=args.data)
    if args.covariates is None:
        if not naive_only:
            missing_defaults(df, DEFAULT_COVARIATES, flag="--covariates", data=args.data,
                             what="covariates of the cohort comparison")
    else:
        require(df, [(c, "--covariates") for c in args.covariates], data=args.data)
    reference = match_label(df[args.cohort_col], args.reference)
    cohorts = None
    if getattr(args, "other", None) is not None:
        if reference is None:
            raise ValueError("--other needs --reference")
        cohorts = (reference, match_label(df[args.cohort_col], args.other, flag="--other"))
    unit = resolve_time_unit(args.time_unit)
    horizon = args.horizon if args.horizon is not None else float(unit.from_days(365.0))
    return dict(cohort_col=args.cohort_col, reference=reference, cohorts=cohorts,
                duration_col=args.duration_col, event_col=args.event_col,
                covariates=args.covariates, horizon=horizon, cluster_col=cluster_col,
                time_unit=unit)


def run(args: argparse.Namespace) -> int:
    from anker.cli._config import resolve, say_warnings, unused
    from anker.cli._io import read_records
    from anker.outcome import compare_cohorts

    resolve(args, NAME)
    unused(args, ["tests", "features"], why="the comparison adjusts for --covariates")
    df = read_records(args.data)
    kwargs = comparison_arguments(args, df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if args.estimators == "naive":
                # the naive comparison needs no covariates; it names any that are given
                kwargs["covariates"] = args.covariates or []
            method = args.method or ("naive" if args.estimators == "naive" else "aipw")
            cmp = compare_cohorts(df, **kwargs, method=method, n_boot=args.n_boot,
                                  seed=args.seed, comparison_col=args.comparison_col,
                                  estimators=args.estimators, outcome=args.outcome)
        except ValueError as exc:
            if "horizon" in str(exc) and "horizon" not in args.given:
                raise ValueError(f"{exc} (the default horizon is 365 calendar days in "
                                 f"{kwargs['time_unit'].label}: pass --horizon)") from None
            raise
    print(cmp.summary)
    # caveats are in the summary's notes already; anything else is shown once, briefly
    say_warnings(caught, shown=[" ".join(n.split()) for n in cmp.notes])
    return 0
