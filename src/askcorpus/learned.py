"""Learned decisions: the trained models shipped inside the package, and the Judge that uses them.

Each model is a standardised logistic regression stored as JSON (``models/*.json``: feature
names, means, scales, coefficients, intercept, decision threshold, and the figures it scored
when it was trained). Inference is a dot product in numpy, so answering a question imports
neither scikit-learn nor torch. ``askcorpus train`` (``training.py``) writes these files;
``models/README.md`` is the model card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.answering import Retrieval, RuleJudge, SentencePicker, Verdict, as_lookup
from askcorpus.errors import ModelError
from askcorpus.features import (
    CANDIDATE_FEATURES,
    CONTEST_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    UNMATCHED_DEPTH,
    QuestionTerms,
    candidate_matrix,
    contest_row,
    question_row,
    sentence_matrix,
    unmatched_words,
)
from askcorpus.lookup import holders
from askcorpus.retrieve import Candidate
from askcorpus.view import CorpusView
from askcorpus.wording import Wording

RANKER = "ranker.json"
ABSTAIN = "answerable.json"
CONTEST = "contested.json"
ASKS_SIDES = "asks_sides.json"
HIGHLIGHT = "highlight.json"
NAMES = (RANKER, ABSTAIN, CONTEST, ASKS_SIDES, HIGHLIGHT)


@dataclass(frozen=True)
class Logistic:
    """A standardised logistic regression: P(y=1 | x) = sigmoid(w . (x - mean) / scale + b)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float = 0.5
    info: dict[str, Any] = field(default_factory=dict, compare=False)
    # The vocabulary of the features named "w:<term>" (asks_sides), None for the others.
    wording: Wording | None = field(default=None, compare=False)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(y=1) for each row of ``x`` (or for one feature vector)."""
        z = ((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.coef
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))

    def decide(self, x: np.ndarray) -> np.ndarray:
        return self.probability(x) >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        out = {"features": list(self.features), "mean": self.mean.tolist(),
               "scale": self.scale.tolist(), "coef": self.coef.tolist(),
               "intercept": self.intercept, "threshold": self.threshold, "info": self.info}
        return out | ({"wording": self.wording.to_dict()} if self.wording else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if not len(data["features"]) == len(arrays[0]) == len(arrays[1]) == len(arrays[2]):
            raise ValueError("features, mean, scale and coef differ in length")
        wording = Wording.from_dict(data["wording"]) if "wording" in data else None
        return cls(tuple(data["features"]), *arrays, float(data["intercept"]),
                   float(data.get("threshold", 0.5)), dict(data.get("info", {})), wording)


_SHIPPED: list[Models] = []


def shipped_models() -> Models:
    """The models inside the package, read once per process."""
    if not _SHIPPED:
        _SHIPPED.append(Models.load())
    return _SHIPPED[0]


@dataclass(frozen=True)
class Models:
    """The four learned decisions an answer uses."""

    ranker: Logistic  # P(passage answers the question), over CANDIDATE_FEATURES
    answerable: Logistic  # P(the corpus answers the question), over QUESTION_FEATURES
    contested: Logistic  # P(the contest parties disagree on it), over CONTEST_FEATURES
    asks_sides: Logistic  # P(the question asks for the parties' positions), over its vector
    highlight: Logistic  # P(this sentence of a cited passage states the answer)

    def fits(self, name: str, revision: str | None, dim: int) -> bool:
        """Whether these models were trained on vectors of this embedding model."""
        info = self.ranker.info
        return (info.get("embedding_model"), info.get("embedding_revision"),
                info.get("embedding_dim")) == (name, revision, dim)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, model in zip(NAMES, (self.ranker, self.answerable, self.contested,
                                       self.asks_sides, self.highlight), strict=True):
            (folder / name).write_text(json.dumps(model.to_dict(), indent=1) + "\n",
                                       encoding="utf-8")

    @classmethod
    def load(cls, folder: Path | None = None) -> Models:
        """The models in ``folder``, or the ones shipped inside the package."""
        try:
            texts = [_read(folder, name) for name in NAMES]
            models = cls(*(Logistic.from_dict(json.loads(t)) for t in texts))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            where = folder or "the askcorpus package"
            raise ModelError(f"The learned models in {where} cannot be read ({exc}); "
                             "reinstall askcorpus or run `askcorpus train`.") from exc
        for model, expected in ((models.ranker, CANDIDATE_FEATURES),
                                (models.answerable, QUESTION_FEATURES),
                                (models.contested, CONTEST_FEATURES),
                                (models.highlight, SENTENCE_FEATURES)):
            if model.features != expected:
                raise ModelError(f"The learned models in {folder or 'the askcorpus package'} "
                                 "read other features than this askcorpus computes; run "
                                 "`askcorpus train` to retrain them.")
        return models


def _read(folder: Path | None, name: str) -> str:
    if folder is not None:
        return (folder / name).read_text(encoding="utf-8")
    return resources.files("askcorpus").joinpath("models", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Scored:
    """A question's candidates with their features and learned relevance, best first."""

    terms: QuestionTerms
    candidates: tuple[Candidate, ...]  # fused candidates, then per-side ones not among them
    features: np.ndarray
    probs: np.ndarray


def score_candidates(models: Models, retrieval: Retrieval, view: CorpusView) -> Scored:
    """Every candidate retrieval found (fused and per side), with its learned relevance."""
    terms = QuestionTerms.of(retrieval.question, view)
    by_row = {c.row: c for c in retrieval.fused}
    for side in retrieval.per_side.values():
        for c in side:
            by_row.setdefault(c.row, c)
    candidates = tuple(by_row.values())  # the fused ones first, in their order
    features = candidate_matrix(terms, candidates, view,
                                lexical_ceiling=retrieval.lexical_ceiling,
                                query=retrieval.vector)
    probs = models.ranker.probability(features) if len(candidates) else np.zeros(0)
    return Scored(terms, candidates, features, np.asarray(probs))


def question_features(scored: Scored, retrieval: Retrieval, view: CorpusView) -> np.ndarray:
    n = len(retrieval.fused)
    return question_row(scored.terms, retrieval.fused, scored.probs[:n], scored.features[:n],
                        lexical_support=retrieval.lexical_support,
                        unmatched=unmatched(scored, retrieval, view))


def unmatched(scored: Scored, retrieval: Retrieval, view: CorpusView) -> float:
    """The best cosine a passage has with the question's words that its first
    UNMATCHED_DEPTH passages (by learned relevance) lack; 1 when they lack none or when
    retrieval cannot look (no encoder)."""
    n = len(retrieval.fused)
    first = np.argsort(-scored.probs[:n], kind="stable")[:UNMATCHED_DEPTH]
    missing = unmatched_words(retrieval.question,
                              [view.passages[retrieval.fused[i].row].text for i in first])
    if not missing or retrieval.closest is None:
        return 1.0
    return retrieval.closest(missing)


def side_best(scored: Scored, view: CorpusView) -> dict[str, list[tuple[float, Candidate]]]:
    """Each perspective's candidates by learned relevance, best first."""
    out: dict[str, list[tuple[float, Candidate]]] = {}
    for prob, c in zip(scored.probs.tolist(), scored.candidates, strict=True):
        out.setdefault(view.passages[c.row].perspective, []).append((prob, c))
    return {side: sorted(pairs, key=lambda pair: -pair[0]) for side, pairs in out.items()}


def contest_features(scored: Scored, view: CorpusView, *, asks_sides: float) -> np.ndarray:
    """CONTEST_FEATURES: each contest party's best passage, and whether the question asks."""
    best = side_best(scored, view)
    parties = [p for p in view.contest_parties if p in view.corpus_sides]
    return contest_row([best[p][0][0] if p in best else 0.0 for p in parties], asks_sides)


def asks_sides(models: Models, retrieval: Retrieval) -> float:
    """P(the question asks for the parties' positions), from its vector and its wording."""
    if retrieval.vector is None:
        return 0.0
    return float(models.asks_sides.probability(asks_design(
        models.asks_sides.wording, retrieval.vector, retrieval.question)))


def asks_design(wording: Wording | None, vector: np.ndarray, question: str) -> np.ndarray:
    """asks_sides' input: the question vector, then its wording's TF-IDF (if the model has
    a vocabulary)."""
    if wording is None:
        return np.asarray(vector, dtype=np.float64)
    return np.concatenate([np.asarray(vector, dtype=np.float64), wording.vector(question)])


STAGES = ("rank", "answerable", "contested", "highlight")


@dataclass(frozen=True)
class LearnedJudge:
    """Rank, abstain and flag contested with the trained models (``askcorpus train``).

    ``stages`` names the decisions the models take; the others stay with ``fallback`` (the
    hand-written rules), so an evaluation can show what each learned stage adds.
    """

    models: Models
    fallback: RuleJudge
    stages: frozenset[str] = frozenset(STAGES)

    def judge(self, retrieval: Retrieval, view: CorpusView) -> Verdict:
        scored = score_candidates(self.models, retrieval, view)
        kept: list[Verdict] = []

        def rules() -> Verdict:
            """The rules' verdict, computed once and only for a stage left to them."""
            if not kept:
                kept.append(self.fallback.judge(retrieval, view))
            return kept[0]

        n = len(retrieval.fused)
        if "rank" in self.stages:
            order = np.argsort(-scored.probs[:n], kind="stable")
            ranked = tuple(_with_score(retrieval.fused[i], float(scored.probs[i]))
                           for i in order)
        else:
            ranked = rules().ranked
        if "answerable" in self.stages:
            answerable = bool(n) and bool(self.models.answerable.decide(
                question_features(scored, retrieval, view)))
        else:
            answerable = rules().answerable
        held = (holders(retrieval.question, ranked, view)
                if self.fallback.settings.answer_lookups else ())
        if not answerable and not held:
            return Verdict(ranked, False, {}, False)
        min_words = self.fallback.settings.min_highlight_words
        pick = (sentence_picker(self.models, scored.terms, min_words)
                if "highlight" in self.stages else None)
        if "contested" not in self.stages:
            return as_lookup(Verdict(ranked, True, rules().sides, rules().contested, pick),
                             held, view)
        contested = bool(self.models.contested.decide(contest_features(
            scored, view, asks_sides=asks_sides(self.models, retrieval))))
        sides = {}
        for side, pairs in side_best(scored, view).items():
            is_party = side in view.contest_parties
            if pairs[0][0] >= self.models.ranker.threshold or (contested and is_party):
                sides[side] = [_with_score(c, p) for p, c in pairs[:2]]
        return as_lookup(Verdict(ranked, True, sides, contested, pick), held, view)


def sentence_picker(models: Models, terms: QuestionTerms, min_words: int) -> SentencePicker:
    """The learned highlight: the sentence most likely to state the answer."""
    def pick(texts: list[str], cosines: np.ndarray) -> int:
        x = sentence_matrix(terms, texts, cosines, min_words=min_words)
        return int(np.argmax(models.highlight.probability(x)))
    return pick


def _with_score(c: Candidate, prob: float) -> Candidate:
    """The candidate with its learned relevance as the score a citation shows."""
    return Candidate(c.row, prob, c.dense, c.lexical)
