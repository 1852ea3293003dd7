"""``anker report``: one self-contained HTML report on a file of benefit records."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from anker.cli._args import calendar_days, whole_number

NAME = "report"
HELP = ("fit (or load) the four tests, compare the cohorts, test the 3.7-day break-even, "
        "audit fairness and write one self-contained HTML report")
METHODS = ("naive", "gcomp", "iptw", "aipw")


def add_common(parser: argparse.ArgumentParser, *, n_boot: int) -> None:
    """Options shared with ``anker demo``."""
    parser.add_argument("--n-boot", type=whole_number(0), default=n_boot, metavar="N",
                        help=f"bootstrap replicates of the cohort comparison (default {n_boot}; "
                             "0: normal intervals)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument("--horizon", type=calendar_days, default=365.0, metavar="DAYS",
                        help="RMST horizon in calendar days (default 365)")
    parser.add_argument("--method", choices=METHODS, default="aipw",
                        help="estimator reported as the coaching effect (default aipw)")
    parser.add_argument("--cluster-col", default="auto", metavar="COL",
                        help="resample whole clusters in the bootstrap (default: coach_id when "
                             "the data have it; 'none': spells as independent)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file, one row per benefit spell, two cohorts")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--model", default=None,
                        help="model file from `anker fit` (default: fit the tests on the data)")
    add_common(parser, n_boot=1000)


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
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"--out: {path!r} is a folder; give the HTML file to write")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"--out: folder {str(out.parent)!r} does not exist")
    return out


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records
    from anker.report import write_report
    from anker.report.job import run_job

    out = check_out_file(args.out)
    data = read_records(args.data)
    model = None
    if args.model:
        from anker.profile import AnkerModel

        model = AnkerModel.load(args.model)
    results = run_job(data, model=model, horizon=args.horizon, method=args.method,
                      n_boot=args.n_boot, seed=args.seed, cluster_col=args.cluster_col,
                      say=lambda line: print(f"  {line}"))
    for warning in results.warnings:
        print(f"warning: {warning}")
    write_report(out, **results.report_arguments(), data_path=args.data, model_path=args.model,
                 seed=args.seed, command=command_line(
                     NAME, args, [args.data], ["out", "model", "n-boot", "seed", "horizon",
                                               "method", "cluster-col"]))
    print(f"report written to {out}")
    return 0
