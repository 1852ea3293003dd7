"""``anker fit``: fit the four ANKER tests on records and save one JSON model file."""

from __future__ import annotations

import argparse
import warnings

NAME = "fit"
HELP = "fit the four ANKER tests on client records and save the model as JSON"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file, one row per benefit spell")
    parser.add_argument("--out", required=True, help="model file to write (JSON)")
    parser.add_argument("--wwb-threshold", type=float, default=0.5,
                        help="P(exhausting) above which early WWB hand-over is advised (default 0.5)")


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records
    from anker.profile import AnkerModel

    df = read_records(args.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = AnkerModel(wwb_threshold=args.wwb_threshold).fit(df)
    model.save(args.out)
    for w in caught:
        print(f"warning: {w.message}")
    print(f"fitted the four ANKER tests on {len(df):,} records; model written to {args.out}")
    for name, test in model.tests.items():
        print(f"  {name:<17} {len(test.features)} features")
    return 0
