"""``anker simulate``: write a synthetic WW data set with a known truth."""

from __future__ import annotations

import argparse

from anker.cli._args import MAX_N_PER_COHORT, number_between, whole_number

NAME = "simulate"
HELP = "write synthetic casemanagement (2004) and coaching (2007) cohorts to CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n-per-cohort", type=whole_number(1, MAX_N_PER_COHORT), default=20_000,
                        help=f"spells per cohort (default 20000, at most {MAX_N_PER_COHORT:,})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--coaching-hazard-ratio", type=number_between(0.2, 5.0), default=None,
                        help="multiplier of the exit hazard under coaching (default: the "
                        "generator's, about 5 benefit days of effect; between 0.2 and 5)")
    parser.add_argument("--out", required=True, help="CSV file to write (.csv or .csv.gz)")


def run(args: argparse.Namespace) -> int:
    from anker.cli._io import check_out_path
    from anker.synthetic import simulate_population, write_csv

    out = check_out_path(args.out)
    kwargs = {}
    if args.coaching_hazard_ratio is not None:
        kwargs["coaching_hazard_ratio"] = args.coaching_hazard_ratio
    pop = simulate_population(args.n_per_cohort, args.seed, **kwargs)
    write_csv(pop.data, out)
    print(f"wrote {len(pop.data):,} spells to {out} "
          f"(true coaching effect: {pop.truth.coaching_effect_days:.2f} calendar days, "
          f"{pop.truth.coaching_effect_benefit_days:.2f} benefit days of RMST at "
          f"{pop.truth.horizon} days)")
    return 0
