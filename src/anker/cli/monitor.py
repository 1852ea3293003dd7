"""``anker monitor``: has a new inflow drifted from the fitting data; keep, recalibrate or refit?"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

NAME = "monitor"
HELP = ("compare a new inflow with the fitting data of a saved model: PSI per feature and "
        "score, calibration per test where outcomes are known, and keep / recalibrate / refit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file of the new inflow")
    parser.add_argument("--model", required=True, help="model file written by `anker fit`")
    parser.add_argument("--out", default=None,
                        help="write the PSI table (CSV or Parquet), one row per feature and score")
    parser.add_argument("--json", default=None, dest="json_out",
                        help="write flags, advice, PSI and calibration as one JSON file")
    parser.add_argument("--psi-threshold", type=float, default=0.10,
                        help="PSI from which a shift counts (default 0.10)")


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records, write_table
    from anker.monitoring.drift import monitor
    from anker.profile import AnkerModel

    for path, flag in ((args.out, "--out"), (args.json_out, "--json")):
        if path is not None and not Path(path).parent.is_dir():
            raise FileNotFoundError(f"{flag}: folder {str(Path(path).parent)!r} does not exist")
    model = AnkerModel.load(args.model)
    df = read_records(args.data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # monitor reports what it could not use in its notes
        result = monitor(model, df, psi_threshold=args.psi_threshold)
    print(result.to_text())
    if args.out:
        write_table(result.psi, args.out)
        print(f"PSI table -> {args.out}")
    if args.json_out:
        payload = {"flags": result.flags, "notes": result.notes, "settings": result.settings,
                   "advice": result.advice.reset_index().to_dict(orient="records"),
                   "psi": json.loads(result.psi.reset_index().to_json(orient="records")),
                   "calibration": None if result.calibration is None else json.loads(
                       result.calibration.reset_index().to_json(orient="records"))}
        Path(args.json_out).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        print(f"monitoring report -> {args.json_out}")
    return 0
