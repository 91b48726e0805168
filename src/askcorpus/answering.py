"""Answering: from retrieved candidates to an Answer — relevance, every side, contested, quotes.

This module is the one home of the answer logic. ``answer()`` is a pure function of what
retrieval found (a ``Retrieval``), the corpus (a ``CorpusView``), a sentence scorer and the
settings; the decisions themselves (rank, answerable, which sides address the question,
contested) are asked of a ``Judge``. ``RuleJudge`` holds the hand-written rules below; learned
judges plug in at the same seam.

Abstention and relevance thresholds (calibrated with ``askcorpus eval`` on
``eval/questions.jsonl``: answerable vs. unanswerable questions, see eval/REPORT.md):

* ``min_dense`` — a question is answered only when some candidate's cosine similarity with
  it reaches this value. all-MiniLM-L6-v2 gives off-topic pairs 0.0-0.25 and on-topic
  answers 0.4-0.8; the chosen value sits where false abstention stays under 5%.
* ``confident_dense`` and ``min_lexical_support`` — between ``min_dense`` and
  ``confident_dense`` a question is answered only when BM25 backs it: the best BM25 score
  reaches this fraction of the most the question's exact words could score in this corpus
  (``Lexical.support``, so the rule means the same in a 3-document and an 11k-passage
  corpus). On-topic questions the corpus does not answer reach cosines of 0.47-0.69, the
  range of answerable ones; on the seed set this rule raised abstention on unanswerable
  questions from 0.41 to 0.53 while false abstention went from 0.011 to 0.043.
* ``relevance_margin`` — a side's passage is considered at all only when its cosine is
  within this margin of the best passage's.
* ``side_min_dense`` and ``side_max_rank`` — a side counts as *addressing* the question (and
  two contest parties addressing it make it ``contested``) only when its best passage
  reaches this cosine and lies within this many places of the ranking by cosine. The seed
  corpus is so topical that every side sits within 0.2 of the best passage for almost any
  on-topic question, so a margin-only rule flags nearly everything (F1 0.60).
* ``asked_side_min_dense`` — a question that itself asks how parties answer, deny, accept
  or frame something, or what each or both say (``asks_for_sides``), is asked for sides:
  each side then needs only this cosine, at any rank. Such questions are written in the
  words of the dispute, not of the rebuttal ("how did Baku's representative answer the
  findings?" vs. "Amnesty International has not done any investigation"), so a bi-encoder
  ranks the rebuttal low.
* A question asking for a count (``asks_for_figure``) is contested only when both parties'
  leading passages give a figure, and each side leads with a passage that gives one.

  ``python benchmarks/contested_grid.py`` runs the grid behind these values on the 110 seed
  questions: contested precision 0.82 / recall 0.96 (F1 0.89), against 0.85 / 0.71 for the
  rank rule alone (0.60 / 10). Tuned on one half of the questions and scored on the other, the F1 is
  0.74: the values fit this set better than they will fit the next one. Denial cues in the
  passages themselves ("false", "denies", "so-called"…) decided no seed question that the
  rules above did not, so none is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from askcorpus.features import gives_figure
from askcorpus.lookup import holders, holders_first, looked_up
from askcorpus.retrieve import Candidate
from askcorpus.segment import sentence_spans
from askcorpus.settings import Settings
from askcorpus.types import Answer, Citation, Passage, SummaryLine
from askcorpus.view import CorpusView

# Words by which a question asks for the parties' positions rather than for a fact.
_ASKS_FOR_SIDES = re.compile(
    r"\b(agree[sd]?|disagree[sd]?|accept(s|ed)?|reject(s|ed)?|den(y|ies|ied)|disput(e|es|ed)"
    r"|answer(s|ed)?|respond(s|ed)?|react(s|ed)?|repl(y|ies|ied)|judge[sd]?|read|see|view"
    r"|present(s|ed)?|portray(s|ed)?|label(s|led)?|fram(e|es|ed)|characteri[sz](e|es|ed)"
    r"|each|both|the two|either side|other side|other voices|square with|trusted|true"
    r"|or (does|do|did|is|are|was|were|has|have))\b", re.IGNORECASE)

# A question whose answer is a figure, and the figures a passage can give.
_ASKS_FOR_FIGURE = re.compile(r"\b(how (many|much)|what (number|figures?|share|percentage))\b",
                              re.IGNORECASE)

# Scores the sentences of passages against the question: (passage, sentence spans) -> scores.
SentenceScorer = Callable[[Passage, list[tuple[int, int]]], np.ndarray]
# Which of a passage's sentences is its highlight, from their texts and cosines (learned.py).
SentencePicker = Callable[[list[str], np.ndarray], int]


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found for one question: everything a Judge may read.

    ``fused`` are the fused candidates among the allowed rows, best first; ``per_side`` the
    fused candidates searched within each perspective (so a side that the overall ranking
    drowns out is still found); ``lexical_support`` is ``Lexical.support`` over the first
    ``Settings.answer_depth`` fused candidates; ``lexical_ceiling`` the most BM25 (stems)
    could score for the question in this corpus, so candidate scores can be compared
    across questions; ``closest`` gives the best cosine an allowed passage has with any text
    (it encodes the text; None where retrieval has no encoder to offer).
    """

    question: str
    fused: tuple[Candidate, ...]
    per_side: Mapping[str, tuple[Candidate, ...]] = field(default_factory=dict)
    lexical_support: float = 0.0
    lexical_ceiling: float = 0.0
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    closest: Callable[[str], float] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Verdict:
    """The decisions of one answer: citation order, whether to answer, sides, contested."""

    ranked: tuple[Candidate, ...]
    answerable: bool
    sides: dict[str, list[Candidate]]
    contested: bool
    pick: SentencePicker | None = None  # None: the hand-written highlight rule
    held: tuple[Candidate, ...] = ()  # a lookup's passages holding every word typed


class Judge(Protocol):
    """Decides an answer from what retrieval found; ``RuleJudge`` is the hand-written one,
    ``learned.LearnedJudge`` the trained one."""

    def judge(self, retrieval: Retrieval, view: CorpusView) -> Verdict: ...


def lookup_notice(words: str) -> str:
    return f"Read as a lookup of “{words}”: the passages that hold all its words come first."


def answer(retrieval: Retrieval, view: CorpusView, *, k: int, settings: Settings,
           scorer: SentenceScorer, judge: Judge | None = None,
           notices: tuple[str, ...] = ()) -> Answer:
    """The Answer to ``retrieval.question``: quotes only, every side that addresses it shown.

    Steps (DESIGN.md, "Answers"): rank; abstain when nothing answers; find each side's best
    passage; decide contested; number the citations and pick each one's best sentence.
    """
    verdict = (judge or RuleJudge(settings)).judge(retrieval, view)
    if not verdict.answerable:
        return no_answer(retrieval.question, verdict.ranked[:3], view, notices)
    chosen = select(verdict.ranked, verdict.sides, k)
    status = "contested" if verdict.contested else "answered"
    first = frozenset(c.row for c in verdict.held)
    built = assemble(retrieval.question, status, sides_of(chosen, view, first=first), view,
                     scorer, min_words=settings.min_highlight_words, pick=verdict.pick,
                     first=first)
    if verdict.held:
        built = lookup_answer(built, verdict.held, view)
    return replace(built, notices=notices + built.notices)


def lookup_answer(built: Answer, held: Sequence[Candidate], view: CorpusView) -> Answer:
    """A lookup's answer speaks for the sides whose passages hold the words: its summary
    quotes those sides only, and its blindspot notice counts only them."""
    holding = {view.passages[c.row].perspective: [c] for c in held}
    summary = tuple(line for line in built.summary if line.perspective in holding)
    notice = lookup_notice(looked_up(built.question) or built.question)
    return replace(built, summary=summary,
                   notices=(notice, *_blindspot(built.status, holding, view)))


def ranked_answer(retrieval: Retrieval, view: CorpusView, *, k: int, settings: Settings,
                  scorer: SentenceScorer) -> Answer:
    """The first ``k`` candidates as they rank, with no abstention and no side logic."""
    chosen = list(retrieval.fused[:k])
    return assemble(retrieval.question, "answered", sides_of(chosen, view), view, scorer,
                    min_words=settings.min_highlight_words)


@dataclass(frozen=True)
class RuleJudge:
    """The hand-written decisions, with the calibration notes of this module's docstring."""

    settings: Settings

    def judge(self, retrieval: Retrieval, view: CorpusView) -> Verdict:
        s = self.settings
        ranked = retrieval.fused
        held = holders(retrieval.question, ranked, view) if s.answer_lookups else ()
        answerable = bool(held) or is_answerable(
            ranked[:s.answer_depth], lexical_support=retrieval.lexical_support,
            min_dense=s.min_dense, confident_dense=s.confident_dense,
            min_lexical_support=s.min_lexical_support)
        if not answerable:
            return Verdict(ranked, False, {}, False)
        asked = s.asked_side_min_dense < s.side_min_dense and asks_for_sides(retrieval.question)
        answers = self._figure_test(retrieval, view)
        strong = strong_sides(
            relevant_per_side(retrieval.per_side, ranked, min_dense=s.min_dense,
                              margin=s.relevance_margin, depth=s.side_depth), ranked,
            side_min_dense=s.asked_side_min_dense if asked else s.side_min_dense,
            side_max_rank=len(ranked) if asked else s.side_max_rank, answers=answers)
        contested = status_of(strong, view, answers=answers) == "contested"
        return as_lookup(Verdict(ranked, True, strong, contested), held, view)

    @staticmethod
    def _figure_test(retrieval: Retrieval, view: CorpusView
                     ) -> Callable[[Candidate], bool] | None:
        if not asks_for_figure(retrieval.question):
            return None
        return lambda c: gives_figure(view.passages[c.row].text)


def as_lookup(verdict: Verdict, held: Sequence[Candidate], view: CorpusView) -> Verdict:
    """A lookup's verdict: answered, and the passages holding every word typed (``held``)
    come first, overall and within their side; the others follow as the judge ranked them.
    Without ``held`` (a question, or words no passage holds) the verdict is unchanged."""
    if not held:
        return verdict
    sides = dict(verdict.sides)
    for side in {view.passages[c.row].perspective for c in held}:
        own = [c for c in held if view.passages[c.row].perspective == side]
        sides[side] = list(holders_first(sides.get(side, []), own))
    return Verdict(holders_first(verdict.ranked, held), True, sides, verdict.contested,
                   verdict.pick, tuple(held))


def relevant_per_side(per_side: Mapping[str, Sequence[Candidate]], fused: Sequence[Candidate],
                      *, min_dense: float, margin: float, depth: int
                      ) -> dict[str, list[Candidate]]:
    """Each side's candidates that are close enough in meaning to the best passage overall."""
    best_overall = max((c.dense for c in fused), default=0.0)
    floor = max(min_dense, best_overall - margin)
    out: dict[str, list[Candidate]] = {}
    for side, candidates in per_side.items():
        kept = [c for c in candidates if c.dense >= floor]
        if kept:
            out[side] = kept[:depth]
    return out


def is_answerable(candidates: Sequence[Candidate], *, lexical_support: float, min_dense: float,
                  confident_dense: float, min_lexical_support: float) -> bool:
    """Answer when the best passage is close in meaning, or fairly close and lexically backed.

    ``lexical_support`` is ``Lexical.support`` over the same candidates.
    """
    if not candidates:
        return False
    dense = max(c.dense for c in candidates)
    return dense >= min_dense and (dense >= confident_dense
                                   or lexical_support >= min_lexical_support)


def asks_for_sides(question: str) -> bool:
    """Whether the question asks how parties answer, frame or judge something."""
    return _ASKS_FOR_SIDES.search(question) is not None


def asks_for_figure(question: str) -> bool:
    """Whether the answer to the question is a count or an amount."""
    return _ASKS_FOR_FIGURE.search(question) is not None


def strong_sides(per_side: dict[str, list[Candidate]], fused: Sequence[Candidate], *,
                 side_min_dense: float, side_max_rank: int,
                 answers: Callable[[Candidate], bool] | None = None
                 ) -> dict[str, list[Candidate]]:
    """The sides whose best passage addresses the question directly (see module docstring).

    Each strong side's list starts with the passage that qualified it: the best qualifying
    one that ``answers`` accepts (a figure, for a question asking for one), if any.
    """
    # Rank by meaning alone: whether a side addresses the question should not move when
    # BM25's weighting changes (it did, by 0.06 F1, with stemming).
    rank = {c.row: i for i, c in enumerate(sorted(fused, key=lambda c: -c.dense))}
    strong: dict[str, list[Candidate]] = {}
    for side, cs in per_side.items():
        qualified = [c for c in cs if c.dense >= side_min_dense
                     and rank.get(c.row, len(fused)) < side_max_rank]
        if answers is not None:
            qualified.sort(key=lambda c: not answers(c))  # stable: relevance order otherwise
        if qualified:
            strong[side] = [qualified[0], *[c for c in cs if c is not qualified[0]]][:2]
    if not strong and fused:
        top_side = next((side for side, cs in per_side.items()
                         if any(c.row == fused[0].row for c in cs)), None)
        if top_side is not None:
            strong = {top_side: per_side[top_side][:2]}
    return strong


def select(fused: Sequence[Candidate], per_side: dict[str, list[Candidate]],
           k: int) -> list[Candidate]:
    """The top ``k`` fused passages plus the best relevant passage of every strong side."""
    chosen = list(fused[:k])
    rows = {c.row for c in chosen}
    for side_candidates in per_side.values():
        if side_candidates and side_candidates[0].row not in rows:
            chosen.append(side_candidates[0])
            rows.add(side_candidates[0].row)
    return chosen


def sides_of(chosen: Sequence[Candidate], view: CorpusView, *,
             first: frozenset[int] = frozenset()) -> dict[str, list[Candidate]]:
    """Chosen candidates grouped by perspective, contest parties first, each by relevance
    (the rows in ``first``, a lookup's holders, before the others)."""
    groups: dict[str, list[Candidate]] = {}
    for c in sorted(chosen, key=lambda c: (c.row not in first, -c.fused)):
        groups.setdefault(view.passages[c.row].perspective, []).append(c)
    order = [p for p in view.contest_parties if p in groups]
    order += [p for p in view.perspectives if p in groups and p not in order]
    order += sorted(p for p in groups if p not in order)
    return {side: groups[side] for side in order}


def status_of(strong: dict[str, list[Candidate]], view: CorpusView, *,
              answers: Callable[[Candidate], bool] | None = None) -> str:
    """Contested when two or more contest parties address the question directly.

    With ``answers`` (a question asking for a figure), only parties whose leading passage
    gives one count: two sides dispute a figure only when both state one.
    """
    parties = [p for p in view.contest_parties if p in strong
               and (answers is None or answers(strong[p][0]))]
    return "contested" if len(parties) >= 2 else "answered"


def assemble(question: str, status: str, sides: dict[str, list[Candidate]],
             view: CorpusView, scorer: SentenceScorer, *, min_words: int,
             pick: SentencePicker | None = None, first: frozenset[int] = frozenset()
             ) -> Answer:
    """Number citations (contested: round-robin over sides, so no side outranks another;
    the rows in ``first``, a lookup's holders, before the others)."""
    if status == "contested":
        ordered = _round_robin(list(sides.values()))
    else:
        ordered = sorted((c for group in sides.values() for c in group),
                         key=lambda c: (c.row not in first, -c.fused))
    highlights = _highlights([view.passages[c.row] for c in ordered], scorer,
                             wants_figure=asks_for_figure(question), min_words=min_words,
                             pick=pick)
    citations = tuple(citation(i + 1, c, highlights[i], view) for i, c in enumerate(ordered))
    number = {c.row: i + 1 for i, c in enumerate(ordered)}
    side_numbers = tuple((side, tuple(number[c.row] for c in group))
                         for side, group in sides.items())
    summary = tuple(SummaryLine(side, citations[ns[0] - 1].highlighted_text, ns[0])
                    for side, ns in side_numbers if ns)
    return Answer(question=question, status=status, citations=citations, sides=side_numbers,
                  summary=summary, notices=_blindspot(status, sides, view),
                  perspective_labels=_labels(view))


def no_answer(question: str, nearest: Sequence[Candidate], view: CorpusView,
              notices: tuple[str, ...] = ()) -> Answer:
    """Nothing is presented as an answer; the nearest passages are kept, labelled as such."""
    shown = tuple(citation(i + 1, c, (0, 0), view) for i, c in enumerate(nearest))
    return Answer(question=question, status="no_answer", nearest=shown,
                  notices=(*notices, "No passage in this corpus answers this question."),
                  perspective_labels=_labels(view))


def _highlights(passages: list[Passage], scorer: SentenceScorer, *, wants_figure: bool,
                min_words: int, pick: SentencePicker | None = None) -> list[tuple[int, int]]:
    """The sentence of each passage that best answers the question: ``pick``'s choice, or
    by rule the closest in meaning, but a sentence of a few words ("Nagorno-Karabakh.") only
    when the passage has nothing longer, and one that gives a figure first when the question
    asks for one.
    """
    out = []
    for p in passages:
        spans = sentence_spans(p.text)
        scores = scorer(p, spans) if len(spans) > 1 else np.zeros(1)
        texts = [p.text[a:b] for a, b in spans]
        if pick is not None and len(spans) > 1:
            out.append(spans[pick(texts, scores)])
            continue
        keys = [(wants_figure and gives_figure(t), len(t.split()) >= min_words,
                 float(score)) for t, score in zip(texts, scores, strict=True)]
        out.append(spans[max(range(len(spans)), key=keys.__getitem__)])
    return out


def citation(n: int, c: Candidate, highlight: tuple[int, int], view: CorpusView) -> Citation:
    passage = view.passages[c.row]
    return Citation(n=n, passage=passage, document=view.documents[passage.doc_id],
                    score=c.fused, rank=n, highlight=highlight,
                    references=view.references(passage),
                    speaker_title=view.actor_titles.get(passage.speaker or "")
                    or passage.speaker_role)


def _round_robin(groups: list[list[Candidate]]) -> list[Candidate]:
    out = []
    for depth in range(max((len(g) for g in groups), default=0)):
        out.extend(g[depth] for g in groups if depth < len(g))
    return out


def _blindspot(status: str, sides: dict[str, list[Candidate]],
               view: CorpusView) -> tuple[str, ...]:
    present = [p for p in view.contest_parties if p in view.corpus_sides]
    speaking = [p for p in view.contest_parties if p in sides]
    if status != "answered" or len(present) < 2 or len(speaking) != 1:
        return ()
    label = view.perspectives[speaking[0]].label
    others = ", ".join(view.perspectives[p].label for p in present if p != speaking[0])
    return (f"Only {label} sources in this corpus address this question; "
            f"no {others} source does.",)


def _labels(view: CorpusView) -> tuple[tuple[str, str], ...]:
    return tuple((pid, p.label) for pid, p in view.perspectives.items())
