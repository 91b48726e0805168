"""Wording: a question's words and word pairs as a TF-IDF vector, for learned decisions.

Whether a question asks for the parties' positions shows in its wording ("do both sides",
"does Baku deny", "who is to blame") more sharply than in its mean-pooled sentence vector:
words and word pairs next to the vector raised the contested flag's F1 from 0.81 to 0.85 out
of fold on the training questions, and from 0.74 to 0.83 on the held-out evaluation questions
(models/README.md). The vocabulary and its weights are learned from the training questions;
nothing here is a hand-made list.

The vector is scikit-learn's ``TfidfVectorizer(ngram_range=(1, 2), min_df=2,
sublinear_tf=True)`` written out in numpy, so answering needs no scikit-learn.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

_TOKEN = re.compile(r"\b\w\w+\b")


def terms(text: str) -> list[str]:
    """Lower-case words of two or more characters, then each pair of neighbouring words."""
    found = _TOKEN.findall(text.casefold())
    return found + [f"{a} {b}" for a, b in itertools.pairwise(found)]


@dataclass(frozen=True)
class Wording:
    """A fixed vocabulary with its inverse document frequencies."""

    vocabulary: tuple[str, ...]
    idf: np.ndarray

    @classmethod
    def fit(cls, texts: Sequence[str], *, min_df: int = 2) -> Wording:
        """The terms of at least ``min_df`` texts, with smoothed IDF ln((1+n)/(1+df)) + 1."""
        df = Counter(t for text in texts for t in set(terms(text)))
        vocabulary = tuple(sorted(t for t, count in df.items() if count >= min_df))
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in vocabulary])
        return cls(vocabulary, idf)

    def vector(self, text: str) -> np.ndarray:
        """Sublinear term frequency (1 + ln tf) times IDF, scaled to unit length."""
        out = np.zeros(len(self.vocabulary))
        column = self._column_of
        for term, count in Counter(terms(text)).items():
            if term in column:
                out[column[term]] = (1 + math.log(count)) * self.idf[column[term]]
        norm = float(np.linalg.norm(out))
        return out / norm if norm else out

    def names(self) -> list[str]:
        return [f"w:{t}" for t in self.vocabulary]

    def to_dict(self) -> dict[str, Any]:
        return {"vocabulary": list(self.vocabulary), "idf": self.idf.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Wording:
        idf = np.asarray(data["idf"], dtype=np.float64)
        if len(idf) != len(data["vocabulary"]):
            raise ValueError("vocabulary and idf differ in length")
        return cls(tuple(data["vocabulary"]), idf)

    @cached_property
    def _column_of(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.vocabulary)}
