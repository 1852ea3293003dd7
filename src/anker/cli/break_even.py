"""``anker break-even``: the benefit days each guided client must leave WW earlier.

Without options it prints the IWI 2005 figures (3.7 days, 76,500 clients,
EUR 196 per client, 706 coaches for 120,000 hand-overs); every input can
be changed. Derivation: docs/break_even.md.
"""

from __future__ import annotations

import argparse

from anker.cli._args import positive_number

NAME = "break-even"
HELP = ("Break-even of reintegration coaching: benefit days each guided client must "
        "leave WW earlier to pay for the extra cost (IWI 2005 figures by default).")

# the report's inputs; the daily benefit is implied by its 3.7 days: 15e6 / (76,500 * 3.7)
_IWI_DAILY_BENEFIT = 15e6 / (450 * 170 * 3.7)


def _count(value: float) -> str:
    """A count with thousands separators, decimals only when it has them."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def sensitivity_table(be):
    """Break-even days with each input 20 % lower and 20 % higher, labelled by the change
    (not by which value is smaller), widest range first."""
    grid = be.sensitivity(changes=(-0.2, 0.2))
    table = grid.pivot(index="parameter", columns="change", values="days")
    table = table.rename(columns={-0.2: "-20 %", 0.2: "+20 %"})[["-20 %", "+20 %"]]
    table["range"] = (table["+20 %"] - table["-20 %"]).abs()
    table.columns.name = None
    return table.sort_values("range", ascending=False, kind="stable")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra-cost", type=positive_number, default=15e6, metavar="EUR",
                        help="structural extra execution cost of coaching, euros a year (default 15e6)")
    parser.add_argument("--coaches", type=positive_number, default=450.0, metavar="N",
                        help="number of coaches (default 450)")
    parser.add_argument("--caseload", type=positive_number, default=170.0, metavar="N",
                        help="clients per coach per year (default 170)")
    parser.add_argument("--daily-benefit", type=positive_number, default=_IWI_DAILY_BENEFIT,
                        metavar="EUR", help="WW benefit per benefit day (working day), euros "
                        "(default 52.99, implied by the report's 3.7 days)")
    parser.add_argument("--inflow", type=positive_number, default=120_000.0, metavar="N",
                        help="claimants handed over for coaching a year (default 120000)")
    parser.add_argument("--sensitivity", action="store_true",
                        help="also print the break-even days with each input 20 %% lower and higher")


def run(args: argparse.Namespace) -> int:
    from anker.costbenefit import BreakEven

    be = BreakEven(extra_cost=args.extra_cost, coaches=args.coaches,
                   caseload=args.caseload, daily_benefit=args.daily_benefit)
    gap = be.capacity_gap(args.inflow)
    rows = [
        ("extra execution cost", f"EUR {be.extra_cost:,.0f} a year"),
        ("coaches", _count(be.coaches)),
        ("caseload", f"{_count(be.caseload)} clients per coach a year"),
        ("daily benefit", f"EUR {be.daily_benefit:,.2f} per benefit day"),
        ("clients guided", f"{be.clients:,.0f} a year"),
        ("cost per client", f"EUR {be.cost_per_client:,.2f}"),
        ("break-even", f"{be.days:.2f} benefit days earlier off benefit per guided client"),
        ("", f"({be.calendar_days:.2f} calendar days; 261 benefit days a year)"),
        ("hand-overs", f"{_count(gap.inflow)} a year, {_count(gap.shortfall)} without a place"),
        ("coaches needed", f"{gap.coaches_needed:,} at caseload {_count(be.caseload)} "
                           f"({gap.extra_coaches:,} more than {_count(be.coaches)})"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print(f"{label:<{width}}  {text}")
    if args.sensitivity:
        print("\nbreak-even benefit days, each input 20 % lower / higher:")
        print(sensitivity_table(be).round(2).to_string())
    return 0
