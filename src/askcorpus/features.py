"""Features: what a learned decision reads about a question and its candidate passages.

Learning to rank from a few hundred questions works when the model reads a handful of
signals a person would use (Liu, "Learning to Rank for Information Retrieval", 2009):
how close in meaning, how many of the question's own words, names, figures and years a
passage holds, whether its speaker or side is the one asked about. Every feature is a number in a
small range, computed from the question, the passage and the retrieval scores; the weights
come from training (``training.py``), never from hand tuning.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from askcorpus.lexical import stems, tokenize, words
from askcorpus.lookup import QUESTION_OPENERS
from askcorpus.retrieve import Candidate
from askcorpus.segment import sentence_spans
from askcorpus.types import Document, Passage
from askcorpus.view import CorpusView

CANDIDATE_FEATURES = (
    "dense", "sentence", "dense_gap", "dense_rank", "lexical", "lexical_rank", "fused_rank",
    "word_overlap", "name_overlap", "has_names", "number_overlap", "has_numbers",
    "figure_match", "speaker_named", "side_named", "attributed", "heading", "length",
    "year_match")
# How the question is worded (its length, its other candidates' scores) is left out on
# purpose: with them the abstention model learned how our training questions were written
# (unanswerable ones were shorter) and abstained on short real questions.
# "unmatched": how close the corpus comes to the question's words that its first passages
# lack. An on-topic question whose fact the corpus lacks ("What was Azerbaijan's GDP in
# 2020?") matches the corpus on its topic and not on what it asks about; a paraphrase's
# missing words still mean something the corpus says.
QUESTION_FEATURES = (
    "top_prob", "top_dense", "lexical_support", "names_missing", "numbers_missing",
    "figure_missing", "unmatched")
# How many of the ranked passages a question's words are looked for in (2, 3 and 5 measured
# out of fold on the training questions; 3 separated unanswerable ones best).
UNMATCHED_DEPTH = 3
# Verbs of saying: in "Who wrote ...?" or "Which professor commented ...?" they ask for a
# speaker, which a passage gives as "said" or by quoting; they are not a fact it must hold.
_SAYING = frozenset([
    "say", "says", "said", "saying", "tell", "tells", "told", "telling", "comment", "comments",
    "commented", "commenting", "remark", "remarked", "write", "writes", "wrote", "written",
    "writing", "report", "reports", "reported", "reportedly", "describe", "describes",
    "described", "argue", "argues", "argued", "assert", "asserted", "declare", "declared",
    "announce", "announced", "mention", "mentioned", "note", "noted", "insist", "insisted",
    "warn", "warns", "warned", "predict", "predicts", "predicted", "according", "accuse",
    "accused", "suggest", "suggested", "explain", "explained", "express", "expressed", "quote",
    "quoted", "add", "added", "reply", "replied", "respond", "responded",
])
# Words that frame a question ("how many", "name ...", "who said") rather than say what it
# is about.
_FRAME_WORDS = QUESTION_OPENERS | {"many", "much"} | _SAYING
# Measured on out-of-fold predictions of the training questions (contested F1): the question
# vector's "asks for the parties' positions" alone 0.789, with the weaker party's best
# relevance 0.795; the party's dense cosine, rank and best sentence added nothing.
CONTEST_FEATURES = ("party_min_prob", "asks_sides")
# Which sentence of a cited passage is its highlight (and a side's summary line).
SENTENCE_FEATURES = (
    "cosine", "cosine_gap", "word_overlap", "stem_overlap", "name_overlap", "figure_match",
    "words", "long_enough", "ends_sentence", "position", "first")

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_ASKS_FIGURE = re.compile(r"\bhow (many|much)\b|\bwhat (number|share|percentage|proportion)\b",
                          re.IGNORECASE)
# A count or amount: digits that are not a year, or a number word. Footnote marks are
# superscripts, which \d does not match.
_FIGURE = re.compile(r"(?<![\w.])(?!(?:19|20)\d\d\b)\d[\d,]*(?:\.\d+)?\b"
                     r"|\b(dozens?|hundreds?|thousands?|millions?|tens of)\b", re.IGNORECASE)


def gives_figure(text: str) -> bool:
    """Whether ``text`` states a count or an amount."""
    return _FIGURE.search(text) is not None


@dataclass(frozen=True)
class QuestionTerms:
    """What a question names: its content words, proper names, figures, actors and sides."""

    words: frozenset[str]
    stems: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]
    years: frozenset[str]
    wants_figure: bool
    speakers: frozenset[str]
    sides: frozenset[str]
    length: int

    @classmethod
    def of(cls, question: str, view: CorpusView) -> QuestionTerms:
        folded = question.casefold()
        names = {w.casefold() for w in _CAPITALISED.findall(question)[1:]
                 if w.casefold() in set(words(w))}
        speakers, sides = set(), set()
        for actor in view.actors.values():
            named = [a.casefold() for a in (actor.name, *actor.aliases) if _mentions(folded, a)]
            if named:  # actor names and aliases count as names, whole phrases included
                names.update(named)
                speakers.add(actor.name)
                sides.add(actor.perspective)
        return cls(frozenset(words(question)), frozenset(tokenize(question)), frozenset(names),
                   frozenset(n.rstrip(".,") for n in _NUMBER.findall(question)),
                   frozenset(_YEAR.findall(question)), bool(_ASKS_FIGURE.search(question)),
                   frozenset(speakers), frozenset(sides), len(question.split()))


def candidate_matrix(terms: QuestionTerms, candidates: Sequence[Candidate],
                     view: CorpusView, *, lexical_ceiling: float,
                     query: np.ndarray | None) -> np.ndarray:
    """One row of CANDIDATE_FEATURES per candidate (in the order given)."""
    if not candidates:
        return np.zeros((0, len(CANDIDATE_FEATURES)), dtype=np.float32)
    best_dense = max(c.dense for c in candidates)
    dense_rank = _ranks([c.dense for c in candidates])
    lexical_rank = _ranks([c.lexical for c in candidates])
    if view.sentences is not None and query is not None:
        sentence = view.sentences.best([c.row for c in candidates], query)
    else:
        sentence = np.array([c.dense for c in candidates], dtype=np.float32)
    rows = []
    for i, c in enumerate(candidates):
        passage = view.passages[c.row]
        rows.append(_candidate_row(terms, passage, c, view, best_dense=best_dense,
                                   dense_rank=dense_rank[i], lexical_rank=lexical_rank[i],
                                   fused_rank=i, ceiling=lexical_ceiling,
                                   sentence=float(sentence[i])))
    return np.asarray(rows, dtype=np.float32)


def unmatched_words(question: str, texts: Sequence[str]) -> str:
    """The question's words that none of ``texts`` holds (BM25 stems; stopwords and the words
    that frame a question aside), lower-cased, in the question's order."""
    held = {stem for text in texts for stem in tokenize(text)}
    found = words(question)
    return " ".join(word for word, stem in zip(found, stems(found), strict=True)
                    if word not in _FRAME_WORDS and stem not in held)


def question_row(terms: QuestionTerms, ranked: Sequence[Candidate], probs: np.ndarray,
                 features: np.ndarray, *, lexical_support: float, unmatched: float,
                 top: int = 5) -> np.ndarray:
    """QUESTION_FEATURES for a question whose candidates are ranked (probs best first)."""
    order = np.argsort(-probs, kind="stable")[:top]
    head = features[order] if len(order) else np.zeros((1, len(CANDIDATE_FEATURES)))
    col = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}
    names_found = float(head[:, col["name_overlap"]].max()) if terms.names else 1.0
    numbers_found = float(head[:, col["number_overlap"]].max()) if terms.numbers else 1.0
    return np.array([
        float(probs.max()) if len(probs) else 0.0, max((c.dense for c in ranked), default=0.0),
        lexical_support, 1.0 - names_found, 1.0 - numbers_found,
        float(terms.wants_figure and not head[:, col["figure_match"]].any()), unmatched],
        dtype=np.float32)


def sentence_matrix(terms: QuestionTerms, texts: Sequence[str], cosines: np.ndarray, *,
                    min_words: int) -> np.ndarray:
    """One row of SENTENCE_FEATURES per sentence of one passage (in passage order)."""
    best = float(np.max(cosines)) if len(cosines) else 0.0
    rows = []
    for i, text in enumerate(texts):
        folded, count = text.casefold(), len(text.split())
        rows.append([
            float(cosines[i]), float(cosines[i]) - best,
            len(terms.words & set(words(text))) / len(terms.words) if terms.words else 0.0,
            len(terms.stems & set(tokenize(text))) / len(terms.stems) if terms.stems else 0.0,
            (sum(_mentions(folded, n) for n in terms.names) / len(terms.names)
             if terms.names else 0.0),
            float(terms.wants_figure and gives_figure(text)), math.log1p(count),
            float(count >= min_words), float(text.rstrip()[-1:] in ".!?\"”’'"),
            i / len(texts), float(i == 0)])
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), len(SENTENCE_FEATURES))


def sentence_rows(terms: QuestionTerms, passage: Passage, cosines: np.ndarray,
                  evidence: Sequence[tuple[str, int, int]], *, min_words: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """SENTENCE_FEATURES of a passage's sentences, and 1 where a sentence overlaps one of the
    gold quotes ``evidence`` (document, start, end): the highlight model's training rows."""
    spans, marks = gold_sentences(passage, evidence)
    x = sentence_matrix(terms, [passage.text[a:b] for a, b in spans], cosines,
                        min_words=min_words)
    return x, np.array(marks, dtype=np.float64)


def gold_sentences(passage: Passage, evidence: Sequence[tuple[str, int, int]]
                   ) -> tuple[list[tuple[int, int]], list[bool]]:
    """A passage's sentence spans (offsets in its text), and whether each overlaps one of the
    gold quotes ``evidence`` (document, start, end)."""
    spans = sentence_spans(passage.text)
    return spans, [overlaps(passage.doc_id, passage.start + a, passage.start + b, evidence)
                   for a, b in spans]


def overlaps(doc_id: str, start: int, end: int,
             evidence: Sequence[tuple[str, int, int]]) -> bool:
    """Whether characters ``start:end`` of document ``doc_id`` overlap one of the gold quotes
    ``evidence`` (document, start, end)."""
    return any(doc == doc_id and a < end and start < b for doc, a, b in evidence)


def contest_row(party_probs: Sequence[float], asks_sides: float) -> np.ndarray:
    """CONTEST_FEATURES: how well the weaker contest party answers, and whether the question
    asks for the parties' positions at all."""
    return np.array([min(party_probs, default=0.0), asks_sides], dtype=np.float32)


def _candidate_row(terms: QuestionTerms, passage: Passage, c: Candidate, view: CorpusView, *,
                   best_dense: float, dense_rank: int, lexical_rank: int, fused_rank: int,
                   ceiling: float, sentence: float) -> list[float]:
    text = passage.text
    folded = text.casefold()
    passage_words = set(words(text))
    word_overlap = len(terms.words & passage_words) / len(terms.words) if terms.words else 0.0
    name_overlap = (sum(_mentions(folded, n) for n in terms.names) / len(terms.names)
                    if terms.names else 0.0)
    number_overlap = (sum(n in text for n in terms.numbers) / len(terms.numbers)
                      if terms.numbers else 0.0)
    speaker = passage.speaker or ""
    return [
        c.dense, sentence, best_dense - c.dense, math.log1p(dense_rank),
        c.lexical / ceiling if ceiling else 0.0, math.log1p(lexical_rank), math.log1p(fused_rank),
        word_overlap,
        name_overlap, float(bool(terms.names)), number_overlap, float(bool(terms.numbers)),
        float(terms.wants_figure and gives_figure(text)),
        float(bool(speaker) and (speaker in terms.speakers or _mentions(
            " ".join(terms.names), speaker.split()[-1].casefold()))),
        float(passage.perspective in terms.sides), float(passage.speaker is not None),
        float(passage.kind == "heading"), math.log1p(len(text.split())),
        float(bool(terms.years) and _dated(terms.years, text, view.documents.get(passage.doc_id)))]


def _dated(years: frozenset[str], text: str, document: Document | None) -> bool:
    """Whether a passage or its source's date is in one of the years a question asks about:
    "in September 2023" points at the sources of 2023 even where a paragraph names no year."""
    source_year = (document.date or "")[:4] if document else ""
    return source_year in years or any(year in text for year in years)


def _ranks(values: Sequence[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0] * len(values)
    for rank, i in enumerate(order):
        ranks[i] = rank
    return ranks


def _mentions(folded_text: str, name: str) -> bool:
    name = name.casefold().strip()
    return bool(name) and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)",
                                    folded_text) is not None

