"""Row chunks of (rows x something) work shared by two threads, reproducibly.

numpy releases the GIL inside exp, the products and the cumulative sums, so two
threads over disjoint chunks use two cores. Every chunk goes to a fixed thread
(every second chunk), each thread sums its own chunks in their order and the
two sums are added in thread order: the result does not depend on the timing.
BLAS is held to one thread inside, as two BLAS pools on two cores only contend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from threadpoolctl import threadpool_limits

WORKERS = 2


def map_chunks(work: Callable[[Sequence[Any]], Any], chunks: Sequence[Any]) -> list[Any]:
    """``[work(chunks[0::2]), work(chunks[1::2])]``, the two run side by side.

    Examples
    --------
    >>> map_chunks(sum, [1, 2, 3, 4, 5])
    [9, 6]
    """
    chunks = list(chunks)
    if len(chunks) < WORKERS:
        return [work(chunks[j::WORKERS]) for j in range(WORKERS)]
    results: list[Any] = [None] * WORKERS
    errors: list[BaseException] = []

    def run(j: int) -> None:
        try:
            results[j] = work(chunks[j::WORKERS])
        except BaseException as err:  # re-raised in the caller's thread
            errors.append(err)

    with threadpool_limits(limits=1, user_api="blas"):
        threads = [threading.Thread(target=run, args=(j,)) for j in range(1, WORKERS)]
        for t in threads:
            t.start()
        run(0)
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return results
