"""Training: fit the learned decisions from question files, deterministically, in numpy.

``askcorpus train`` reads ``train/questions.jsonl`` (never ``eval/questions.jsonl``), runs
every question through the index's retrieval, labels each candidate passage by whether it
overlaps a gold quote, and fits five standardised L2 logistic regressions with Newton's
method (IRLS, ``fitting.py``; the same optimum every run, no random seed needed):

* ranker: P(passage answers the question) over candidate features;
* asks_sides: P(the question asks for the parties' positions) over the question vector and
  the TF-IDF of its words and word pairs (``wording.py``; vocabulary from the training
  questions, unstandardised: both parts are unit vectors);
* answerable: P(the corpus answers it) over question features built from *out-of-fold*
  ranker probabilities (a model scored on its own training questions would look surer
  than it will be on new ones);
* contested: P(the contest parties disagree) over each party's best out-of-fold relevance
  and the out-of-fold asks_sides probability;
* highlight: P(this sentence of a passage holds the gold quote) over sentence features, from
  the passages that hold a gold quote in some of their sentences and not in others.

Decision thresholds are chosen on out-of-fold predictions of the training questions only.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.answering import Retrieval
from askcorpus.api import Index, build, open_index
from askcorpus.building import outdated_model
from askcorpus.errors import CorpusError, IndexFolderError
from askcorpus.features import (
    CANDIDATE_FEATURES,
    CONTEST_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    overlaps,
    sentence_rows,
)
from askcorpus.fitting import fit_logistic, fit_monotone
from askcorpus.hashing import sha256_file
from askcorpus.learned import (
    NAMES,
    Logistic,
    Models,
    Scored,
    asks_design,
    contest_features,
    question_features,
    score_candidates,
)
from askcorpus.settings import Settings
from askcorpus.types import Passage
from askcorpus.view import CorpusView
from askcorpus.wording import Wording

FOLDS = 5
OTHER_CORPUS_WEIGHT = 0.3
BENCHMARK_CACHE = Path.home() / ".cache" / "askcorpus" / "perspectrum"
# L2 strengths (on standardised features): mild for the few-feature models. asks_sides reads
# unit vectors as they are (scikit-learn's C = 10), the best of C in 0.3, 1, 3, 10 by
# out-of-fold F1 on the training questions.
L2 = {"ranker": 1.0, "answerable": 10.0, "contested": 1.0, "asks_sides": 0.1, "highlight": 1.0}
# The direction each QUESTION_FEATURE must push "the corpus answers this": more relevance,
# closeness and exact-word support for, names and figures of the question missing against,
# a corpus close to the words the first passages lack for.
ANSWERABLE_SIGNS = (1, 1, 1, -1, -1, -1, 1)
# Abstention is asymmetric: throwing away a found answer costs more than showing a weak one
# with its citation, so the threshold keeps out-of-fold false abstention at most this.
MAX_FALSE_ABSTENTION = 0.04


@dataclass(frozen=True)
class Example:
    """One question with what retrieval found and which candidates hold its evidence."""

    question: dict[str, Any]
    retrieval: Retrieval
    scored: Scored  # candidates and features (probs from whichever ranker scored them)
    labels: np.ndarray  # 1 where the candidate overlaps a gold quote
    view: CorpusView = field(repr=False, compare=False)  # the corpus it was asked of
    sides_labelled: bool = True  # whether "contested" means something for its corpus
    evidence: tuple[tuple[str, int, int], ...] = ()  # gold quotes: (document, start, end)


def examples(index: Index, questions: Sequence[dict[str, Any]], models: Models) -> list[Example]:
    """Retrieval, candidate features and gold labels for every question (probs: ``models``)."""
    out = []
    for q in questions:
        retrieval = index.retrieve(q["question"], k=10)
        scored = score_candidates(models, retrieval, index.view)
        spans = locate_evidence(index, q)
        labels = np.array([overlaps_gold(index.view.passages[c.row], spans)
                           for c in scored.candidates], dtype=np.float64)
        out.append(Example(q, retrieval, scored, labels, index.view, evidence=tuple(spans)))
    return out


def fit(data: Sequence[Example], *, folds: int = FOLDS,
        model_stamp: dict[str, Any] | None = None,
        log: Callable[[str], None] | None = None) -> tuple[Models, dict[str, Any]]:
    """The four models trained on ``data``, and their out-of-fold figures.

    Each example carries the corpus it was asked of (``Example.view``). ``model_stamp`` names
    the embedding model whose vectors the features were computed with (the models apply only
    to indexes built with it).
    """
    model_stamp = model_stamp or {}
    fold_of = np.arange(len(data)) % folds
    ranker = _fit_ranker(data)
    fold_rankers = [_fit_ranker([e for e, f in zip(data, fold_of, strict=True) if f != k])
                    for k in range(folds)]
    oof = [_rescore(e.scored, fold_rankers[f]) for e, f in zip(data, fold_of, strict=True)]
    labels = np.concatenate([e.labels for e in data])
    ranker = _with(ranker, threshold=_f1_threshold(np.concatenate([s.probs for s in oof]),
                                                   labels))

    # Whether a question asks for the parties' positions is learned where parties exist.
    sided = np.array([e.sides_labelled for e in data])
    contested = np.array([float(e.question["contested"]) for e in data])
    asks = _fit_asks([e for e, s in zip(data, sided, strict=True) if s])
    oof_asks = np.zeros(len(data))
    for k in range(folds):
        held = sided & (fold_of == k)
        fold_model = _fit_asks([e for e, s, f in zip(data, sided, fold_of, strict=True)
                                if s and f != k])
        oof_asks[held] = fold_model.probability(_asks_x(fold_model, [
            e for e, h in zip(data, held, strict=True) if h]))

    answerable = np.array([float(e.question["answerable"]) for e in data])
    q_x = np.array([question_features(s, e.retrieval, e.view)
                    for s, e in zip(oof, data, strict=True)])
    abstain = fit_monotone(q_x, answerable, l2=L2["answerable"], names=QUESTION_FEATURES,
                           signs=ANSWERABLE_SIGNS)
    oof_answerable = _out_of_fold(q_x, answerable, fold_of, L2["answerable"],
                                  QUESTION_FEATURES, signs=ANSWERABLE_SIGNS)
    abstain = _with(abstain, threshold=abstention_threshold(oof_answerable, answerable,
                                                            counted=sided))

    # Contested is decided only for questions that are answered, in a corpus with parties.
    keep = (answerable == 1) & sided
    c_x = np.array([contest_features(oof[i], data[i].view, asks_sides=float(oof_asks[i]))
                    for i in np.flatnonzero(keep)])
    contest = fit_logistic(c_x, contested[keep], l2=L2["contested"], names=CONTEST_FEATURES)
    oof_contest = _out_of_fold(c_x, contested[keep], fold_of[keep], L2["contested"],
                               CONTEST_FEATURES)
    contest = _with(contest, threshold=_f1_threshold(oof_contest, contested[keep]))

    highlight, passages = _fit_highlight(data)
    figures = {"questions": len(data), "candidates": len(labels),
               "highlight_passages": passages,
               "relevant_candidates": int(labels.sum()),
               "ranker_oof_hit@5": _hit_at(oof, data, 5),
               "ranker_threshold": round(ranker.threshold, 4),
               "answerable_threshold": round(abstain.threshold, 4),
               "contested_threshold": round(contest.threshold, 4)}
    if log:
        log(f"trained on {len(data)} questions: " + json.dumps(figures))
    stamp = {"trained_on": len(data), "folds": folds, **model_stamp}
    return Models(_with(ranker, info=stamp), _with(abstain, info=stamp),
                  _with(contest, info=stamp), _with(asks, info=stamp),
                  _with(highlight, info=stamp)), figures


def _fit_ranker(data: Sequence[Example]) -> Logistic:
    """Candidates of questions from other corpora (Perspectrum claims) count for
    OTHER_CORPUS_WEIGHT of the seed questions' weight in all, so they teach what transfers
    without outvoting the corpus the models answer."""
    x = np.concatenate([e.scored.features for e in data])
    y = np.concatenate([e.labels for e in data])
    own = sum(len(e.labels) for e in data if e.sides_labelled)
    other = sum(len(e.labels) for e in data if not e.sides_labelled)
    share = OTHER_CORPUS_WEIGHT * own / other if other else 1.0
    weights = np.concatenate([np.full(len(e.labels), 1.0 if e.sides_labelled else share)
                              for e in data])
    return fit_logistic(x, y, l2=L2["ranker"], names=CANDIDATE_FEATURES, weights=weights)


def _fit_highlight(data: Sequence[Example]) -> tuple[Logistic, int]:
    """The highlight model, from every passage of a seed question that holds a gold quote in
    some of its sentences and not in others; and how many passages that was."""
    xs, ys = [], []
    min_words = Settings().min_highlight_words
    for e in data:
        sentences = e.view.sentences
        if not e.evidence or e.retrieval.vector is None or sentences is None:
            continue
        for c in (c for c, label in zip(e.scored.candidates, e.labels, strict=True) if label):
            x, y = sentence_rows(e.scored.terms, e.view.passages[c.row],
                                 sentences.scores(c.row, e.retrieval.vector), e.evidence,
                                 min_words=min_words)
            if 0 < y.sum() < len(y):
                xs.append(x)
                ys.append(y)
    if not xs:
        return _zero(SENTENCE_FEATURES), 0
    return fit_logistic(np.concatenate(xs), np.concatenate(ys), l2=L2["highlight"],
                        names=SENTENCE_FEATURES), len(xs)


def _fit_asks(data: Sequence[Example]) -> Logistic:
    """asks_sides from the questions of ``data``: vocabulary first, then the weights."""
    wording = Wording.fit([e.question["question"] for e in data])
    model = replace(untrained_asks(len(data[0].retrieval.vector)), wording=wording)
    y = np.array([float(e.question["contested"]) for e in data])
    fitted = fit_logistic(_asks_x(model, data), y, l2=L2["asks_sides"],
                          names=[*model.features, *wording.names()], standardize=False)
    return replace(fitted, wording=wording)


def _asks_x(model: Logistic, data: Sequence[Example]) -> np.ndarray:
    return np.array([asks_design(model.wording, e.retrieval.vector, e.question["question"])
                     for e in data])


def untrained_asks(dim: int) -> Logistic:
    """asks_sides with every weight zero, over the question vector only."""
    return Logistic(tuple(f"v{i}" for i in range(dim)), np.zeros(dim), np.ones(dim),
                    np.zeros(dim), 0.0)


def _rescore(scored: Scored, ranker: Logistic) -> Scored:
    probs = ranker.probability(scored.features) if len(scored.features) else np.zeros(0)
    return replace(scored, probs=np.asarray(probs))


def _out_of_fold(x: np.ndarray, y: np.ndarray, fold_of: np.ndarray, l2: float,
                 names: Sequence[str], signs: Sequence[int] | None = None) -> np.ndarray:
    """Each row's probability from a model fitted without the row's fold."""
    out = np.zeros(len(x))
    for k in np.unique(fold_of):
        held = fold_of == k
        model = (fit_monotone(x[~held], y[~held], l2=l2, names=names, signs=signs)
                 if signs is not None else
                 fit_logistic(x[~held], y[~held], l2=l2, names=names))
        out[held] = model.probability(x[held])
    return out


def _f1_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that maximises F1 on these (out-of-fold) predictions."""
    best, chosen = -1.0, 0.5
    for t in np.unique(np.round(probs, 3)):
        predicted = probs >= t
        tp = float((predicted & (labels == 1)).sum())
        f1 = 2 * tp / (predicted.sum() + labels.sum()) if tp else 0.0
        if f1 > best:
            best, chosen = f1, float(t)
    return chosen


def abstention_threshold(probs: np.ndarray, answerable: np.ndarray, *,
                         counted: np.ndarray) -> float:
    """The highest threshold whose false abstention on the ``counted`` answerable questions
    stays in bound.

    Only the questions of the corpus the models answer are counted: another corpus's claims
    (Perspectrum's) are all answerable and rarely abstained on, so counting them would let
    this corpus's false abstention rise to about twice the bound.
    """
    asked = probs[counted & (answerable == 1)]
    for t in sorted(np.unique(np.round(probs[counted], 3)), reverse=True):
        if float((asked < t).mean()) <= MAX_FALSE_ABSTENTION:
            return float(t)
    return 0.0


def _hit_at(scored: Sequence[Scored], data: Sequence[Example], n: int) -> float:
    """Share of answerable questions with a gold passage among the first n fused candidates,
    ordered by learned relevance."""
    hits = []
    for s, e in zip(scored, data, strict=True):
        if not e.question["answerable"]:
            continue
        fused = len(e.retrieval.fused)
        order = np.argsort(-s.probs[:fused], kind="stable")[:n]
        hits.append(float(e.labels[order].max()) if len(order) else 0.0)
    return round(float(np.mean(hits)), 4) if hits else 0.0


def _with(model: Logistic, **changes: Any) -> Logistic:
    return replace(model, **changes)


def locate_evidence(index: Index, question: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(document, start, end) of each gold quote of ``question``; a quote the document does
    not hold is an error, never a silent miss."""
    spans = []
    for ev in question["evidence"]:
        start = index.document(ev["doc"]).text.find(ev["quote"])
        if start < 0:
            raise CorpusError(f"{question['id']}: evidence quote not found in {ev['doc']}: "
                              f"{ev['quote'][:60]!r}; the questions and the corpus disagree.")
        spans.append((ev["doc"], start, start + len(ev["quote"])))
    return spans


def overlaps_gold(passage: Passage, spans: Sequence[tuple[str, int, int]]) -> bool:
    return overlaps(passage.doc_id, passage.start, passage.end, spans)


def claim_examples(index: Index, claims: Sequence[dict[str, Any]], models: Models
                   ) -> list[Example]:
    """Perspectrum-style claims (``relevant``: passage id -> stance) as ranking examples.

    Every perspective that supports or undermines the claim is a passage that answers it;
    the benchmark's corpus has no contest parties, so these examples teach relevance and
    abstention, never "contested".
    """
    out = []
    for claim in claims:
        retrieval = index.retrieve(claim["text"], k=10)
        scored = score_candidates(models, retrieval, index.view)
        relevant = claim["relevant"]
        labels = np.array([index.view.passages[c.row].doc_id in relevant
                           for c in scored.candidates], dtype=np.float64)
        question = {"id": claim["id"], "question": claim["text"], "answerable": True,
                    "contested": False, "evidence": [], "sides": [], "type": "claim"}
        out.append(Example(question, retrieval, scored, labels, index.view,
                           sides_labelled=False))
    return out


def benchmark_index(folder: str | Path, cache: Path = BENCHMARK_CACHE) -> tuple[Index, bool]:
    """The index of a Perspectrum folder's corpus.jsonl, reused while the file is unchanged."""
    source = Path(folder) / "corpus.jsonl"
    if not source.is_file():
        raise CorpusError(f"No corpus.jsonl in {folder}; pass a Perspectrum folder such as "
                          "../shared/perspectrum.")
    corpus, index_dir = cache / "corpus", cache / "index"
    copy = corpus / "corpus.jsonl"
    corpus.mkdir(parents=True, exist_ok=True)
    if not copy.is_file() or sha256_file(copy) != sha256_file(source):
        shutil.copyfile(source, copy)
    try:
        index = open_index(index_dir)
        if not outdated_model(index.manifest, Settings().model):
            return index, False
    except IndexFolderError:
        pass  # missing or broken: built below
    return build(corpus, index_dir), True


def training_claims(folder: str | Path) -> tuple[Index, list[Example]]:
    """A Perspectrum folder's index, and its train claims as training examples (features from
    untrained models, as every question ``askcorpus train`` fits on)."""
    bench, _ = benchmark_index(folder)
    blank = untrained(bench.manifest.model.dim)
    return bench, claim_examples(bench, benchmark_claims(folder, "train"), blank)


def benchmark_claims(folder: str | Path, split: str,
                     limit: int | None = None) -> list[dict[str, Any]]:
    return read_jsonl(Path(folder) / f"queries-{split}.jsonl", limit)


def read_jsonl(path: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The package's one JSON Lines reader: one object per non-blank line."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit] if limit is not None else rows


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    rows = read_jsonl(path)
    if not rows:
        raise CorpusError(f"{path} holds no questions; pass a JSON Lines question file.")
    return rows


def train(index: Index, questions: str | Path, out: Path, *,
          off_topic: str | Path | None = None, perspectrum: str | Path | None = None,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """`askcorpus train`: fit every model on ``questions`` (plus the ``off_topic`` ones, which
    the corpus cannot answer at all, and the train claims of a ``perspectrum`` folder) and
    write them to ``out``."""
    started = time.perf_counter()
    rows = load_questions(questions) + (load_questions(off_topic) if off_topic else [])
    blank = untrained(index.manifest.model.dim)
    data = examples(index, rows, blank)
    if perspectrum is not None:
        data += training_claims(perspectrum)[1]
    models, figures = fit(data, model_stamp=embedding_stamp(index), log=log)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    models.save(out)
    (out / "training.json").write_text(json.dumps(
        {**figures, "questions_file": str(questions), "off_topic_file": str(off_topic),
         "perspectrum": str(perspectrum),
         "index_passages": index.manifest.counts.passages,
         "model": index.manifest.model.name}, indent=1) + "\n",
        encoding="utf-8")
    log(f"Wrote {', '.join(n for n in NAMES)} to {out} in {figures['seconds']} s")
    return figures


def untrained(dim: int) -> Models:
    """Models with every weight zero: enough to compute features before any training."""
    return Models(_zero(CANDIDATE_FEATURES), _zero(QUESTION_FEATURES),
                  _zero(CONTEST_FEATURES), untrained_asks(dim), _zero(SENTENCE_FEATURES))


def _zero(names: Sequence[str]) -> Logistic:
    n = len(names)
    return Logistic(tuple(names), np.zeros(n), np.ones(n), np.zeros(n), 0.0)


def embedding_stamp(index: Index) -> dict[str, Any]:
    """The embedding model an index was built with, as the learned models record it."""
    model = index.manifest.model
    return {"embedding_model": model.name, "embedding_revision": model.revision,
            "embedding_dim": model.dim}
