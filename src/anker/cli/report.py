"""``anker report``: one self-contained HTML report on a file of benefit records."""

from __future__ import annotations

import argparse
import shlex
import warnings
from pathlib import Path

from anker.cli._args import MAX_N_BOOT, calendar_days, whole_number
from anker.cli._config import add_column_arguments, finish_parser

NAME = "report"
HELP = ("fit (or load) the four tests, compare the cohorts, test the 3.7-day break-even, "
        "audit fairness and write one self-contained HTML report")
METHODS = ("naive", "gcomp", "iptw", "aipw")


def add_common(parser: argparse.ArgumentParser, *, n_boot: int, horizon: bool = True) -> None:
    """Options shared with ``anker demo`` (whose horizon is in calendar days)."""
    parser.add_argument("--n-boot", type=whole_number(0, MAX_N_BOOT), default=n_boot, metavar="N",
                        help=f"bootstrap replicates of the cohort comparison (default {n_boot}; "
                             "0: normal intervals)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    if horizon:
        parser.add_argument("--horizon", type=calendar_days, default=365.0, metavar="DAYS",
                            help="RMST horizon in calendar days (default 365)")
    parser.add_argument("--method", choices=METHODS, default="aipw",
                        help="estimator reported as the coaching effect (default aipw)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file, one row per benefit spell, two cohorts")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--model", default=None,
                        help="model file from `anker fit` (default: fit the tests on the data)")
    add_common(parser, n_boot=1000, horizon=False)
    parser.add_argument("--extrapolate", action="store_true",
                        help="profile beyond the follow-up of the data (see anker profile)")
    add_column_arguments(parser)
    finish_parser(parser)


def command_line(name: str, args: argparse.Namespace, positional: list[str],
                 options: list[str]) -> str:
    """The command as it can be typed again, for the report's footer."""
    words = ["anker", name, *positional]
    for option in options:
        value = getattr(args, option.replace("-", "_"))
        if value is not None:
            words += [f"--{option}", f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(words)


def check_out_file(path: str) -> Path:
    from anker.cli._io import check_out_path

    return check_out_path(path)


def run(args: argparse.Namespace) -> int:
    from anker.cli._config import resolve, say_warnings
    from anker.cli._io import read_records
    from anker.cli.compare import comparison_arguments
    from anker.cli.fit import configured_model
    from anker.report import write_report
    from anker.report.job import run_job

    resolve(args, NAME)
    out = check_out_file(args.out)
    data = read_records(args.data)
    if args.model:
        from anker.profile import AnkerModel

        model = AnkerModel.load(args.model)
    else:
        model = configured_model(args, data)
    if args.cohort_col not in data.columns and "cohort_col" not in args.given:
        # records of one cohort: a report of the tests, without the comparison (said below)
        kwargs = {"cohort_col": None, "time_unit": args.time_unit}
    else:
        kwargs = comparison_arguments(args, data)
    results = run_job(data, model=model, method=args.method, n_boot=args.n_boot,
                      seed=args.seed, say=lambda line: print(f"  {line}"), fit=not args.model,
                      extrapolate=bool(args.extrapolate), **kwargs)
    say_warnings(results.warnings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(out, **results.report_arguments(), data_path=args.data,
                     model_path=args.model, seed=args.seed, command=command_line(
                         NAME, args, [args.data], ["out", "model", "config", "n-boot", "seed",
                                                   "horizon", "method", "time-unit"]))
    say_warnings(caught, shown=results.warnings)
    print(f"report written to {out}")
    return 0
