"""``anker card``: the Algorithm Register entry of a saved model, as Markdown or JSON."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

NAME = "card"
HELP = ("write the Dutch Algorithm Register entry of a saved model (Markdown or JSON): "
        "measured performance per group, the protected-attribute policy, override rates")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file written by `anker fit`")
    parser.add_argument("--out", required=True,
                        help="file to write: .json for JSON, anything else Markdown")
    parser.add_argument("--data", default=None,
                        help="CSV or Parquet records with outcomes to measure performance on")
    parser.add_argument("--decisions", default=None,
                        help="decision log (SQLite file) for the override rates")
    parser.add_argument("--organisation", default=None,
                        help="JSON file with the organisation's fields (lawful_basis, contact_email, "
                             "proportionality, ...)")


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records
    from anker.errors import AnkerDataError
    from anker.monitoring.card import model_card
    from anker.profile import AnkerModel

    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise FileNotFoundError(f"--out: cannot write {args.out!r} (a folder, or its folder "
                                "does not exist)")
    model = AnkerModel.load(args.model)
    data = read_records(args.data) if args.data else None
    organisation = None
    if args.organisation:
        path = Path(args.organisation)
        if not path.is_file():
            raise FileNotFoundError(f"--organisation: file {args.organisation!r} does not exist")
        try:
            organisation = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AnkerDataError(f"--organisation: {args.organisation!r} is not JSON ({exc})") \
                from None
        if not isinstance(organisation, dict):
            raise AnkerDataError("--organisation: expected a JSON object of field: text")
    log = None
    if args.decisions:
        from anker.decisions import DecisionLog

        if not Path(args.decisions).is_file():
            raise FileNotFoundError(f"--decisions: file {args.decisions!r} does not exist")
        log = DecisionLog(args.decisions)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            card = model_card(model, data=data, decisions=log, organisation=organisation)
    finally:
        if log is not None:
            log.close()
    out.write_text(card.to_json() if out.suffix.lower() == ".json" else card.to_markdown(),
                   encoding="utf-8")
    print(f"register entry -> {args.out} ({len(card.fields)} fields; to be filled in by the "
          f"organisation: {', '.join(card.to_be_filled) or 'none'})")
    return 0
