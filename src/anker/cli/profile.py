"""``anker profile``: profile clients with a saved model."""

from __future__ import annotations

import argparse
import warnings

from anker.cli._config import add_column_arguments, finish_parser

NAME = "profile"
HELP = "profile clients with a fitted model: scores, route, advice and top factors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file of clients to profile")
    parser.add_argument("--model", required=True, help="model file written by `anker fit`")
    parser.add_argument("--out", required=True, help="CSV or Parquet file for the profiles")
    parser.add_argument("--id-col", default="client_id",
                        help="column to use as the row key of the output (default client_id)")
    parser.add_argument("--extrapolate", action="store_true",
                        help="give P(on benefit) beyond the follow-up of the fitting data and "
                             "trajectory gains outside the common support (default: NaN, with a "
                             "warning)")
    parser.add_argument("--engine", choices=("stream", "memory", "dask"), default="stream",
                        help="stream: read, score and write in chunks (default; CSV, .gz, Parquet "
                             "file or folder); memory: the whole file at once; dask: a Parquet "
                             "file or folder on a local Dask cluster (pip install 'anker[dask]')")
    parser.add_argument("--chunk-rows", type=int, default=200_000,
                        help="rows per chunk of the streaming engine (default 200,000)")
    add_column_arguments(parser)
    finish_parser(parser)


def _chosen(model, args):
    """The model, or the part of it that --tests names; a --time-unit must match the model's."""
    from anker.profile import AnkerModel

    bd = model.benefit_duration
    if "time_unit" in args.given and bd is not None:
        from anker.schema import resolve_time_unit

        if resolve_time_unit(args.time_unit) != bd.time_unit:
            raise ValueError(f"--time-unit {args.time_unit}: the model counts durations in "
                             f"{bd.time_unit.label} (set when it was fitted, `anker fit "
                             "--time-unit`); leave --time-unit out")
    if not args.tests:
        return model
    absent = [t for t in args.tests if t not in model.tests]
    if absent:
        raise ValueError(f"--tests: {absent} not in the model (it holds {list(model.tests)})")
    return AnkerModel(**{t: model.tests[t] for t in args.tests}, tests=args.tests,
                      wwb_threshold=model.wwb_threshold, top_factors=model.top_factors)


def run(args: argparse.Namespace) -> int:
    from anker.cli._config import require, resolve, say_warnings, unused
    from anker.cli._io import read_records, write_table
    from anker.cli._stream import profile_rules, schema_rules
    from anker.cli._summary import StreamSummary
    from anker.profile import AnkerModel
    from anker.schema import validate

    resolve(args, NAME)
    unused(args, ["features", "duration_col", "event_col", "cohort_col", "reference",
                  "covariates", "horizon", "cluster_col"],
           why="the model file holds the tests' columns")
    model = _chosen(AnkerModel.load(args.model), args)
    if args.engine != "memory":  # chunks, or partitions on a local Dask cluster (cli._stream)
        from anker.cli._stream import run_profile

        return run_profile(model, args)
    # the streaming engine's checks, by the same code: the columns the profile reads
    df = read_records(args.data, **profile_rules(model, args.id_col))
    if args.id_col in df.columns:
        df = df.set_index(args.id_col, drop=False)
    needed = {f for t in model.tests.values() for f in t.features}
    require(df, [(f, "the same column names as the fitting data") for f in sorted(needed)],
            data=args.data)
    known = [c for c in schema_rules(model, args.id_col) if c in df.columns]
    if known:
        validate(df, columns=known)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles = model.profile(df, extrapolate=bool(args.extrapolate))
    write_table(profiles, args.out)
    say_warnings(caught)
    summary = StreamSummary()
    summary.add(profiles)
    print(summary.line(args.out))
    return 0
