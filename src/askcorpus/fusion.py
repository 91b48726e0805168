"""Fusion: combine the dense and lexical rankings into one."""

from __future__ import annotations

from collections.abc import Mapping


def reciprocal_rank_fusion(rankings: Mapping[str, list[int]], *, weights: Mapping[str, float],
                           k: int = 60) -> dict[int, float]:
    """Weighted reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009).

    Each ranking contributes ``weight / (k + rank)`` (rank from 1) to every item it lists;
    the constant ``k`` damps the influence of the very top ranks.
    """
    fused: dict[int, float] = {}
    for name, ranking in rankings.items():
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def ranked(scores: Mapping[int, float], tiebreak: Mapping[int, str]) -> list[int]:
    """Items by descending score; ties broken by passage id so results are deterministic."""
    return sorted(scores, key=lambda item: (-scores[item], tiebreak[item]))
