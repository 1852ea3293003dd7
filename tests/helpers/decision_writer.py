"""Crash-test fixture: write decisions to a log until killed.

Usage: ``python decision_writer.py PATH TAG N_READY``. After each commit it
prints ``committed ROW_ID TAG I`` (flushed), and ``ready`` after the
N_READY-th record, then keeps writing until the test kills it.
"""

from __future__ import annotations

import sys

from anker.decisions import DecisionLog


def main(path: str, tag: str, n_ready: int) -> None:
    log = DecisionLog(path)
    i = 0
    while True:
        i += 1
        override = i % 3 == 0
        row_id = log.record(
            client_id=f"{tag}-{i}",
            advice="trajectory",
            decision="no trajectory" if override else "trajectory",
            reason=f"reason {i}" if override else None,
            coach_id=f"k{i % 5}",
            scores={"i": i, "p_work_6m": i / 1000},
        )
        print(f"committed {row_id} {tag} {i}", flush=True)
        if i == n_ready:
            print("ready", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
