"""Lexical search: BM25 (bm25s) over passage words, with a tokenizer that never raises.

One BM25 index holds two vocabularies per passage: Snowball stems, which rank ("killed"
finds "kill"; seeds lexical R@5 0.582 -> 0.636), and the exact words marked with "=", which
measure how much of a question a passage literally contains (the abstention rule's lexical
support; stems make near-misses look like matches and lowered abstention on unanswerable
questions from 0.53 to 0.41). Every passage gets both, so its length doubles for every row
alike and BM25's length normalisation, and therefore each vocabulary's scores, are exactly
those of a separate index.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

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


# Recorded in the manifest: an index whose BM25 words were made differently must be rebuilt.
TOKENIZER = "nfkc-casefold-words-stopwords-snowball-english+exact"
_EXACT = "="
_stemmers = threading.local()  # PyStemmer objects are not thread-safe


def words(text: str) -> list[str]:
    """Lower-case NFKC words without stopwords (NFC and NFD give the same)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in _WORD.findall(folded) if w not in STOPWORDS and not w.isspace()]


def tokenize(text: str) -> list[str]:
    """The Snowball English stems of ``words(text)``: what BM25 ranks with."""
    return stems(words(text))


def stems(found: list[str]) -> list[str]:
    """The Snowball English stem of each of ``found`` (words as ``words`` gives them)."""
    return _stemmer().stemWords(found) if found else []


def exact_tokens(text: str) -> list[str]:
    return [_EXACT + w for w in words(text)]


def index_tokens(text: str) -> list[str]:
    """What BM25 indexes for a passage: ``tokenize(text) + exact_tokens(text)``, from one pass
    of ``words`` (half the work of a build's tokenizing); a text without words gets a
    placeholder so that it stays a row."""
    found = words(text)
    if not found:
        return ["\u2205"]
    return _stemmer().stemWords(found) + [_EXACT + w for w in found]


def _stemmer() -> Any:  # PyStemmer ships no type information
    stemmer = getattr(_stemmers, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.stemmer = Stemmer.Stemmer("english")
    return stemmer


class Lexical:
    """A BM25 index over a fixed list of texts (row i = passage i)."""

    def __init__(self, retriever: object, size: int) -> None:
        self._retriever = retriever
        self.size = size
        self._max: np.ndarray | None = None

    @classmethod
    def build(cls, texts: list[str], *, k1: float = 1.5, b: float = 0.75) -> Lexical:
        """Index ``texts`` with Lucene's BM25 (Robertson & Zaragoza 2009) at ``k1`` and ``b``."""
        import bm25s

        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        tokens = [index_tokens(t) for t in texts]
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
        return self._scores(tokenize(query))

    def support(self, query: str, rows: list[int]) -> float:
        """How much of ``query``'s exact wording the best of ``rows`` holds, from 0 to 1.

        Its exact-word BM25 score divided by the most any passage could score: the sum, over
        the query's distinct words, of the best score each word reaches in the corpus. The
        ratio means the same in a 3-document and an 11k-passage corpus.
        """
        tokens = exact_tokens(query)
        ceiling = self._ceiling(tokens)
        if not rows or not ceiling:
            return 0.0
        return float(self._scores(tokens)[rows].max()) / ceiling

    def ceiling(self, query: str) -> float:
        """The most any passage could score for ``query`` (stems): a scale for BM25 scores."""
        return self._ceiling(tokenize(query))

    def _scores(self, tokens: list[str]) -> np.ndarray:
        tokens = [t for t in tokens if t in self._vocab()]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)  # type: ignore

    def _ceiling(self, tokens: list[str]) -> float:
        vocab = self._vocab()
        ids = {vocab[t] for t in tokens if t in vocab}
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
