"""``anker fit``: fit the ANKER tests (all four, or those of ``--tests``) and save one JSON model file."""

from __future__ import annotations

import argparse
import warnings

from anker.cli._config import add_column_arguments, finish_parser

NAME = "fit"
HELP = "fit the four ANKER tests (or those of --tests) on client records and save the model as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file, one row per benefit spell")
    parser.add_argument("--out", required=True, help="model file to write (JSON)")
    parser.add_argument("--wwb-threshold", type=float, default=0.5,
                        help="P(exhausting) above which early WWB hand-over is advised (default 0.5)")
    add_column_arguments(parser)
    finish_parser(parser)


def configured_model(args: argparse.Namespace, df):
    """The unfitted AnkerModel the flags and the file describe, after checking its columns."""
    from anker.cli._config import build_tests, missing_defaults, require
    from anker.profile import AnkerModel

    tests = build_tests(args)
    for name, test in tests.items():
        if "features" not in args.given and "features" not in args.site.get(name, {}):
            missing_defaults(df, test.features, flag="--features", data=args.data,
                             what=f"features of the {name} test")
        columns = [(f, "--features") for f in test.features]
        if name == "benefit_duration":
            columns += [(test.duration_col, "--duration-col"), (test.event_col, "--event-col")]
        else:
            columns.append((getattr(test, "outcome_col", None),
                            f"outcome_col in the [{name}] table of --config, or leave the test "
                            "out with --tests"))
        require(df, columns, data=args.data)
    return AnkerModel(**tests, tests=list(tests),
                      wwb_threshold=getattr(args, "wwb_threshold", None) or 0.5)


def run(args: argparse.Namespace) -> int:
    from anker.cli._config import resolve, say_warnings, unused
    from anker.cli._io import read_records

    resolve(args, NAME)
    unused(args, ["cohort_col", "reference", "covariates", "horizon", "cluster_col"],
           why="an option of the cohort comparison: anker compare, anker report")
    df = read_records(args.data)
    model = configured_model(args, df)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(df)
    model.save(args.out)
    say_warnings(caught)
    which = "the four ANKER tests" if not model.not_assessed else f"{', '.join(model.tests)}"
    print(f"fitted {which} on {len(df):,} records; model written to {args.out}")
    for name, test in model.tests.items():
        unit = f"; durations in {test.time_unit.label}" if hasattr(test, "time_unit") else ""
        print(f"  {name:<17} {len(test.features)} features{unit}")
    return 0
