"""``anker profile``: profile clients with a saved model."""

from __future__ import annotations

import argparse
import warnings

NAME = "profile"
HELP = "profile clients with a fitted model: scores, route, advice and top factors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file of clients to profile")
    parser.add_argument("--model", required=True, help="model file written by `anker fit`")
    parser.add_argument("--out", required=True, help="CSV or Parquet file for the profiles")
    parser.add_argument("--id-col", default="client_id",
                        help="column to use as the row key of the output (default client_id)")
    parser.add_argument("--engine", choices=("stream", "memory", "dask"), default="stream",
                        help="stream: read, score and write in chunks (default; CSV, .gz, Parquet "
                             "file or folder); memory: the whole file at once; dask: a Parquet "
                             "file or folder on a local Dask cluster (pip install 'anker[dask]')")
    parser.add_argument("--chunk-rows", type=int, default=200_000,
                        help="rows per chunk of the streaming engine (default 200,000)")


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records, write_table
    from anker.profile import AnkerModel

    model = AnkerModel.load(args.model)
    if args.engine != "memory":  # chunks, or partitions on a local Dask cluster (cli._stream)
        from anker.cli._stream import run_profile

        return run_profile(model, args)
    df = read_records(args.data)
    if args.id_col in df.columns:
        df = df.set_index(args.id_col, drop=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        profiles = model.profile(df)
    write_table(profiles, args.out)
    for w in caught:
        print(f"warning: {w.message}")
    counts = profiles["route"].value_counts().to_dict()
    print(f"profiled {len(profiles):,} clients -> {args.out} "
          f"(route A {counts.get('A', 0):,}, route B {counts.get('B', 0):,}; "
          f"trajectory advised {int((profiles['trajectory_advice'] == 'trajectory').sum()):,}; "
          f"WWB flag {int(profiles['wwb_flag'].sum()):,})")
    return 0
