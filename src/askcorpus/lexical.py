"""Lexical search: BM25 (bm25s) over passage words, with a tokenizer that never raises."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
# A short English stopword list: enough to keep "the of and" from matching everything.
STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have",
    "he", "her", "his", "i", "if", "in", "into", "is", "it", "its", "of", "on", "or", "our",
    "she", "so", "that", "the", "their", "them", "there", "these", "they", "this", "those",
    "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why",
    "will", "with", "you", "your", "do", "does", "did", "how", "than", "then", "not", "no",
    "can", "been", "being", "about", "after", "again", "all", "also", "am", "any",
    "because", "before", "between", "both", "each", "few", "more", "most", "other", "over",
    "own", "same", "some", "such", "through", "too", "under", "until", "up", "very", "s",
    "t", "just", "don", "should", "now",
])


def tokenize(text: str) -> list[str]:
    """Lower-case NFKC word tokens without stopwords; NFC and NFD forms give the same tokens."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD.findall(folded) if w not in STOPWORDS and not w.isspace()]


class Lexical:
    """A BM25 index over a fixed list of texts (row i = passage i)."""

    def __init__(self, retriever: object, size: int) -> None:
        self._retriever = retriever
        self.size = size
        self._max: np.ndarray | None = None

    @classmethod
    def build(cls, texts: list[str]) -> Lexical:
        import bm25s

        retriever = bm25s.BM25()
        tokens = [tokenize(t) or ["\u2205"] for t in texts]
        retriever.index(tokens, show_progress=False)
        return cls(retriever, len(texts))

    def save(self, folder: Path) -> None:
        self._retriever.save(str(folder))  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexical:
        import bm25s

        retriever = bm25s.BM25.load(str(folder), load_corpus=False, mmap=False)
        return cls(retriever, size)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when it has no searchable words)."""
        tokens = [t for t in tokenize(query) if t in self._vocab()]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)  # type: ignore

    def ceiling(self, query: str) -> float:
        """The most BM25 any one passage could score for ``query``: the sum, over its distinct
        words, of the best score each word reaches in the corpus. Dividing by it makes a
        lexical score comparable across corpora of different sizes."""
        vocab = self._vocab()
        ids = {vocab[t] for t in tokenize(query) if t in vocab}
        return float(sum(self._token_max()[i] for i in ids))

    def _token_max(self) -> np.ndarray:
        if getattr(self, "_max", None) is None:
            scores = self._retriever.scores  # type: ignore[attr-defined]
            data, indptr = scores["data"], scores["indptr"]
            best = np.zeros(len(indptr) - 1, dtype=np.float32)
            filled = np.flatnonzero(np.diff(indptr))
            if len(filled):
                best[filled] = np.maximum.reduceat(data, indptr[:-1][filled])
            self._max = best
        return self._max

    def _vocab(self) -> dict[str, int]:
        return self._retriever.vocab_dict  # type: ignore[attr-defined]
