"""``anker letter``: one plain-language letter per client, in Dutch or English, as text or HTML."""

from __future__ import annotations

import argparse
import html
import re
import warnings
from pathlib import Path

from anker.cli._args import whole_number

NAME = "letter"
HELP = ("write each client a plain-language letter (Dutch or English) about the advice: what "
        "it is, what weighed most, that the coach decides, how to object")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="CSV or Parquet file of the clients")
    parser.add_argument("--model", required=True, help="model file written by `anker fit`")
    parser.add_argument("--out", required=True,
                        help="folder for one file per client, or one .html / .txt file for all")
    parser.add_argument("--language", choices=("nl", "en"), default="nl",
                        help="nl (default) or en")
    parser.add_argument("--format", choices=("text", "html"), default="text", dest="fmt",
                        help="text (default) or html, for a folder of letters")
    parser.add_argument("--id-col", default="client_id", help="column with the client number")
    parser.add_argument("--contact", default=None, help="the organisation's contact details")
    parser.add_argument("--sender", default=None, help="the letter's signature")
    parser.add_argument("--limit", type=whole_number(1), default=None, metavar="N",
                        help="only the first N clients")


def _file_name(client_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", client_id) or "client"


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import read_records
    from anker.monitoring.letter import client_letter
    from anker.profile import AnkerModel

    out = Path(args.out)
    single = out.suffix.lower() in (".html", ".htm", ".txt")
    folder = out.parent if single else out
    if not folder.is_dir():
        raise FileNotFoundError(f"--out: folder {str(folder)!r} does not exist")
    model = AnkerModel.load(args.model)
    df = read_records(args.data)
    if args.limit:
        df = df.head(args.limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        letters = client_letter(model, df, language=args.language, client_col=args.id_col,
                                contact=args.contact, sender=args.sender)
    if single and out.suffix.lower() == ".txt":
        out.write_text("\n\f\n".join(letter.text for letter in letters), encoding="utf-8")
    elif single:
        body = "\n<hr>\n".join(letter.html for letter in letters)
        out.write_text(f'<!DOCTYPE html>\n<html lang="{args.language}"><head><meta '
                       f'charset="utf-8"><title>{html.escape(letters[0].subject)}</title></head>'
                       f"<body>\n{body}\n</body></html>\n", encoding="utf-8")
    else:
        for letter in letters:
            suffix = ".html" if args.fmt == "html" else ".txt"
            (out / f"{_file_name(letter.client_id)}{suffix}").write_text(
                letter.html if args.fmt == "html" else letter.text, encoding="utf-8")
    print(f"wrote {len(letters):,} letter(s) ({args.language}) -> {args.out}")
    return 0
