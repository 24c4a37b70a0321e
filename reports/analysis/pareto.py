"""Pareto fronts: the cases no other case beats on both cost (latency, energy) and quality."""

from __future__ import annotations

import numpy as np


def pareto_front(cost, quality) -> np.ndarray:
    """Boolean mask of the points on the front where lower `cost` and higher `quality` are better: no other point
    has cost <= and quality >= with one strictly better. Of identical points, one is on the front."""
    cost, quality = np.asarray(cost, dtype=float), np.asarray(quality, dtype=float)
    order = np.lexsort((-quality, cost))  # by cost, then the best quality first among equal costs
    best = np.maximum.accumulate(quality[order])
    previous = np.concatenate([[-np.inf], best[:-1]])
    mask = np.zeros(len(cost), dtype=bool)
    mask[order] = quality[order] > previous
    return mask
