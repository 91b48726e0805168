"""Retrieval: dense and lexical candidates for a question, fused, with the scores kept apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from askcorpus.dense import Dense
from askcorpus.fusion import ranked, reciprocal_rank_fusion
from askcorpus.lexical import Lexical

Mode = Literal["lexical", "dense", "hybrid", "full"]
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid", "full")


@dataclass(frozen=True)
class Scores:
    """Every row's dense cosine and BM25 score (``None`` when lexical search is off)."""

    dense: np.ndarray
    lexical: np.ndarray | None


@dataclass(frozen=True)
class Candidate:
    """A passage row with every score that decided its place."""

    row: int
    fused: float
    dense: float
    lexical: float


class Retriever:
    """Dense (FAISS) + lexical (BM25) search over one index's rows."""

    def __init__(self, dense: Dense, lexical: Lexical, vectors: np.ndarray,
                 ids: list[str]) -> None:
        self.dense = dense
        self.lexical = lexical
        self.vectors = vectors
        self.ids = ids
        self._tiebreak = dict(enumerate(ids))

    def score_all(self, query_vector: np.ndarray, query: str, mode: Mode) -> Scores:
        """Dense and lexical scores of every row for one question (computed once per question)."""
        dense = self.vectors @ query_vector if mode != "lexical" else None
        lexical = self.lexical.scores(query) if mode != "dense" else None
        return Scores(dense if dense is not None else self.vectors @ query_vector, lexical)

    def candidates(self, scores: Scores, allowed: np.ndarray, *, depth: int, rrf_k: int = 60,
                   lexical_weight: float, use_dense: bool = True
                   ) -> list[Candidate]:
        """Fused candidates among ``allowed`` rows (a boolean mask), best first."""
        rows = np.flatnonzero(allowed)
        if len(rows) == 0:
            return []
        rankings: dict[str, list[int]] = {}
        if use_dense:
            rankings["dense"] = _top(rows, scores.dense[rows], depth, self._tiebreak,
                                     positive=False)
        if scores.lexical is not None:
            rankings["lexical"] = _top(rows, scores.lexical[rows], depth, self._tiebreak,
                                       positive=True)
        fused = reciprocal_rank_fusion(rankings, weights={"dense": 1.0,
                                                           "lexical": lexical_weight}, k=rrf_k)
        order = ranked(fused, self._tiebreak)
        return [Candidate(row, fused[row], float(scores.dense[row]),
                          float(scores.lexical[row]) if scores.lexical is not None else 0.0)
                for row in order]

    def best_dense(self, query_vector: np.ndarray, rows: np.ndarray, k: int) -> list[int]:
        """Best rows by exact inner product within ``rows``, through FAISS's id selector."""
        return [i for i, _ in self.dense.search(query_vector, k, allowed=rows)]


def lexical_weight(question: str, *, named: float, plain: float) -> float:
    """BM25's weight in the fusion: ``named`` when the question names someone (a capitalised
    word after the first) or holds a figure, ``plain`` otherwise (Settings says why)."""
    words = question.split()
    is_named = any(w[:1].isupper() for w in words[1:]) or any(ch.isdigit() for ch in question)
    return named if is_named else plain


def _top(rows: np.ndarray, scores: np.ndarray, depth: int, tiebreak: dict[int, str], *,
         positive: bool) -> list[int]:
    """The ``depth`` best rows, ties broken by passage id; only the head is sorted in Python."""
    keep = np.isfinite(scores) & ((scores > 0) if positive else True)
    rows, scores = rows[keep], scores[keep]
    if len(rows) > depth:
        # Everything tied with the depth-th score stays in, so the tie-break decides the cut.
        threshold = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        head = scores >= threshold
        rows, scores = rows[head], scores[head]
    pairs = sorted(zip(scores.tolist(), rows.tolist(), strict=True),
                   key=lambda pair: (-pair[0], tiebreak[pair[1]]))
    return [row for _, row in pairs[:depth]]
