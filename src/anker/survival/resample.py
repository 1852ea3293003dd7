"""How the bootstrap draws a resample: people with replacement, within strata, a block at a time.

`anker.survival.bootstrap` draws every resample here, through two doors that
give the same resamples for the same generator state: `_draw_indices`
returns the resampled positions (for the refit and Kaplan-Meier-cell
bootstraps) and `_resample_sum` the sum of a resample's values (for the
multiplier bootstrap) without forming them. A stratum's draw is first split
over blocks of `_BLOCK` people (one multinomial), then drawn uniformly within
each block, so each block's counting stays in cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _strata_blocks(n: int, strata: Any) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Rows sorted by stratum and each stratum's (start, size) block in that order."""
    if strata is None:
        return np.arange(n), [(0, n)]
    strata = np.asarray(strata)
    if strata.shape != (n,):
        raise ValueError(f"strata has shape {strata.shape}, the data have {n} rows")
    _, codes = np.unique(strata, return_inverse=True)
    sizes = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.argsort(codes, kind="stable"), list(zip(starts.tolist(), sizes.tolist(), strict=True))


# bins per block of a stratum's draw: a block's counts (512 KB) stay in a core's L2 cache
_BLOCK = _WORD = 1 << 16


def _stratum_draws(rng: np.random.Generator, size: int):
    """One resample of a stratum of ``size`` people, as (first bin, bins, draws) per block.

    First how many of the ``size`` draws fall in each block of `_BLOCK` bins
    (one multinomial), then each block's draws uniformly within it: the same
    multinomial counts as ``size`` uniform draws over the stratum, while each
    block's counting stays in cache.
    """
    if size <= _BLOCK:
        yield 0, size, rng.integers(0, size, size, dtype=np.uint32)
        return
    starts = np.arange(0, size, _BLOCK)
    widths = np.minimum(_BLOCK, size - starts)
    totals = rng.multinomial(size, widths / size)
    for start, width, total in zip(starts.tolist(), widths.tolist(), totals.tolist(), strict=True):
        if width == _WORD:
            # a block of 2**16 people: each 16 bits of the generator's raw output is one
            # exactly uniform draw, four per 64-bit word, against one bounded draw each
            words = rng.bit_generator.random_raw(-(-total // 4))
            yield start, width, words.view(np.uint16)[:total]
        else:
            yield start, width, rng.integers(0, width, total, dtype=np.uint32)


def _draw_indices(
    rng: np.random.Generator, blocks: tuple[np.ndarray, list[tuple[int, int]]], n_rows: int
) -> np.ndarray:
    """(n_rows, n) resampled positions in the stratum-sorted row order (``blocks[0]``).

    One call per replicate and stratum, so the random stream, and with it
    every replicate, is the same however the replicates are chunked. Within
    a stratum the positions come grouped by block, not in draw order.
    """
    order, spans = blocks
    index = np.empty((n_rows, order.size), dtype=np.int64)
    for row in index:
        for start, size in spans:
            at = start
            for first, _, drawn in _stratum_draws(rng, size):
                row[at : at + drawn.size] = drawn
                row[at : at + drawn.size] += start + first
                at += drawn.size
    return index


def _resample_sum(
    rng: np.random.Generator, spans: list[tuple[int, int]], columns: np.ndarray,
    scratch: tuple[np.ndarray, np.ndarray] | None = None, pool: Any = None,
) -> np.ndarray:
    """sum_i W_i x_i for one resample: W the multinomial counts of each person.

    ``columns`` is (k, n), the values in the stratum-sorted row order, each
    column's values contiguous. The same calls on the random stream as
    `_draw_indices` (the same resamples through either door); each block's
    counts meet their values in cache. ``scratch``: the (intp, float) buffers of
    `_scratch`, reused across calls instead of new arrays per block. ``pool``: an
    executor with one worker; the draws are still made here, in stream order,
    and every second block is counted there (numpy counts without the GIL), its
    sum added last, so the result does not depend on the timing.
    """
    index, counts = scratch if scratch is not None else _scratch(spans)
    blocks = [(start + first, width, drawn) for start, size in spans
              for first, width, drawn in _stratum_draws(rng, size)]
    if pool is None or len(blocks) < 2:
        return _count_and_sum(blocks, columns, index, counts)
    other = pool.submit(_count_and_sum, blocks[1::2], columns)
    return _count_and_sum(blocks[0::2], columns, index, counts) + other.result()


def _count_and_sum(blocks, columns: np.ndarray, index: np.ndarray | None = None,
                   counts: np.ndarray | None = None) -> np.ndarray:
    if index is None:
        widest = max(width for _, width, _ in blocks)
        index, counts = np.empty(2 * widest, dtype=np.intp), np.empty(widest)
    acc = np.zeros(columns.shape[0])
    for lo, width, drawn in blocks:
        if drawn.size > index.size:
            index = np.empty(drawn.size, dtype=np.intp)
        # bincount casts other integer types itself, about five times slower than this
        at = index[: drawn.size]
        np.copyto(at, drawn)
        np.copyto(counts[:width], np.bincount(at, minlength=width))
        acc += columns[:, lo : lo + width] @ counts[:width]
    return acc


def _scratch(spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    widest = max((min(size, _BLOCK) for _, size in spans), default=1)
    return np.empty(2 * widest, dtype=np.intp), np.empty(widest)
