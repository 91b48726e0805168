"""Retrieval: dense and lexical candidates for a question, fused, with the scores kept apart.

The dense ranking comes from FAISS (``Dense.top``: exact or HNSW, under an ID selector when a
filter applies), the lexical one from BM25 over every row; the fused candidates carry both
scores, a candidate found by BM25 alone taking its cosine from the vector FAISS stores. The
exact numpy scan of every row survives as ``Scores.dense`` / ``exact_candidates`` for
experiments and for the test that the FAISS path answers the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from askcorpus.dense import Dense
from askcorpus.fusion import ranked, reciprocal_rank_fusion
from askcorpus.lexical import Lexical

Mode = Literal["lexical", "dense", "hybrid", "full"]
MODES: tuple[Mode, ...] = ("lexical", "dense", "hybrid", "full")


# FAISS is asked for this many rows beyond the depth; they are rescored with numpy and cut
# at the depth with the passage-id tie-break, so float noise between FAISS's kernels and
# numpy's never changes which rows make the cut.
DENSE_MARGIN = 8


@dataclass(frozen=True)
class Scores:
    """One question's query vector and every row's BM25 score (``None`` when lexical search is
    off); ``dense``, every row's cosine, is computed only if asked for (an exact scan)."""

    query: np.ndarray
    lexical: np.ndarray | None
    vectors: np.ndarray = field(repr=False)

    @cached_property
    def dense(self) -> np.ndarray:
        return self.vectors @ self.query


@dataclass(frozen=True)
class Candidate:
    """A passage row with every score that decided its place."""

    row: int
    fused: float
    dense: float
    lexical: float


class Retriever:
    """Dense (FAISS) + lexical (BM25) search over one index's rows."""

    def __init__(self, dense: Dense, lexical: Lexical, vectors: np.ndarray | None,
                 ids: list[str]) -> None:
        # ``vectors`` is unused: the FAISS index holds the only copy (``self.vectors``).
        self.dense = dense
        self.lexical = lexical
        self.ids = ids
        self._tiebreak = dict(enumerate(ids))

    @property
    def vectors(self) -> np.ndarray:
        """The passage vectors as FAISS stores them (a read-only view, row i = passage i)."""
        return self.dense.vectors

    def score_all(self, query_vector: np.ndarray, query: str, mode: Mode) -> Scores:
        """The question's vector and BM25 scores (computed once per question)."""
        lexical = self.lexical.scores(query) if mode != "dense" else None
        return Scores(query_vector, lexical, self.dense.vectors)

    def candidates(self, scores: Scores, allowed: np.ndarray, *, depth: int, rrf_k: int = 60,
                   lexical_weight: float, use_dense: bool = True
                   ) -> list[Candidate]:
        """Fused candidates among ``allowed`` rows (a boolean mask), best first.

        The dense ranking is FAISS's top ``depth`` among the allowed rows; BM25's is its top
        ``depth`` among them; only the union is scored for the other side.
        """
        rows = np.flatnonzero(allowed)
        if len(rows) == 0:
            return []
        rankings: dict[str, list[int]] = {}
        if use_dense:
            found, _ = self.dense.top(scores.query, depth + DENSE_MARGIN,
                                      None if len(rows) == self.dense.size else rows)
            rankings["dense"] = _top(found, self.dense.cosines(found, scores.query), depth,
                                     self._tiebreak, positive=False)
        if scores.lexical is not None:
            rankings["lexical"] = _top(rows, scores.lexical[rows], depth, self._tiebreak,
                                       positive=True)
        return self._fuse(rankings, scores, rrf_k, lexical_weight, None)

    def exact_candidates(self, scores: Scores, allowed: np.ndarray, *, depth: int,
                         rrf_k: int = 60, lexical_weight: float, use_dense: bool = True
                         ) -> list[Candidate]:
        """``candidates`` from an exact numpy scan of every allowed row (the reference)."""
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
        return self._fuse(rankings, scores, rrf_k, lexical_weight, scores.dense)

    def closest(self, query_vector: np.ndarray | None, allowed: np.ndarray) -> float:
        """The best cosine an ``allowed`` row has with ``query_vector`` (0 for no vector)."""
        if query_vector is None:
            return 0.0
        rows, _ = self.dense.top(query_vector, 1 + DENSE_MARGIN, allowed)
        return float(self.dense.cosines(rows, query_vector).max()) if len(rows) else 0.0

    def best_dense(self, query_vector: np.ndarray, rows: np.ndarray, k: int) -> list[int]:
        """Best rows by inner product within ``rows``, through FAISS's id selector."""
        return [i for i, _ in self.dense.search(query_vector, k, allowed=rows)]

    def _fuse(self, rankings: dict[str, list[int]], scores: Scores, rrf_k: int,
              lexical_weight: float, dense: np.ndarray | None) -> list[Candidate]:
        fused = reciprocal_rank_fusion(rankings, weights={"dense": 1.0,
                                                           "lexical": lexical_weight}, k=rrf_k)
        order = ranked(fused, self._tiebreak)
        cosines = dense[order] if dense is not None else self.dense.cosines(order, scores.query)
        return [Candidate(row, fused[row], float(cosine),
                          float(scores.lexical[row]) if scores.lexical is not None else 0.0)
                for row, cosine in zip(order, cosines.tolist(), strict=True)]


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
