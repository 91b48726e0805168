"""Learned stages under evaluation: one row per stage, and k-fold cross-validation.

Held-out: the shipped models were trained on ``train/questions.jsonl`` only, so scoring
``eval/questions.jsonl`` with them is a held-out figure. Cross-validation: the training and
evaluation questions together, split in k folds; each fold is answered by models trained on
the other folds (from scratch, with the same recipe as ``askcorpus train``), and the answers
of all folds are scored together. A large gap between the two lines means the models fit
their questions rather than the task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from askcorpus.answering import Judge, RuleJudge
from askcorpus.api import Index
from askcorpus.evaluation.seeds import gold_spans, run_question, score_rankings, summarize
from askcorpus.learned import LearnedJudge, Models, shipped_models
from askcorpus.training import FOLDS, Example, examples, fit, untrained

RULES = "rules (0.1)"
RANK = "+ learned rank"
ABSTAIN = "+ learned no-answer"
CONTEST = "+ learned contested"


def stage_judges(index: Index, models: Models | None = None) -> dict[str, Judge]:
    """The previous release's rules, then the learned stages added one at a time."""
    models = models or shipped_models()
    rules = RuleJudge(index.settings)
    return {RULES: rules,
            RANK: LearnedJudge(models, rules, frozenset({"rank"})),
            ABSTAIN: LearnedJudge(models, rules, frozenset({"rank", "answerable"})),
            CONTEST: LearnedJudge(models, rules, frozenset({"rank", "answerable", "contested"}))}


@dataclass(frozen=True)
class Prepared:
    """What cross-validation answers and trains on, retrieved once."""

    questions: tuple[dict[str, Any], ...]  # training then evaluation questions, in file order
    evaluation_ids: frozenset[str]
    data: tuple[Example, ...]  # one per question
    extra: tuple[Example, ...]  # trained on in every fold, never scored


def prepare(index: Index, training: Sequence[dict[str, Any]],
            evaluation: Sequence[dict[str, Any]], *,
            always_train: Sequence[dict[str, Any]] = (),
            extra_examples: Sequence[Example] = ()) -> Prepared:
    """Retrieval and candidate features for every question, ready for ``score_folds``."""
    questions = (*training, *evaluation)
    untrained_models = untrained(index.manifest.model.dim)
    return Prepared(questions, frozenset(q["id"] for q in evaluation),
                    tuple(examples(index, questions, untrained_models)),
                    (*examples(index, always_train, untrained_models), *extra_examples))


def cross_validate(index: Index, training: Sequence[dict[str, Any]],
                   evaluation: Sequence[dict[str, Any]], *, folds: int = FOLDS,
                   always_train: Sequence[dict[str, Any]] = (),
                   extra_examples: Sequence[Example] = (),
                   log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The full system's figures when every question is answered by models that never saw it.

    Questions are dealt to folds in file order (id order), so each fold mixes every
    document and question type; ``always_train`` questions (off-topic ones) join every
    fold's training and are never scored, like ``extra_examples`` (Perspectrum train claims,
    from their own index).
    """
    started = time.perf_counter()
    prepared = prepare(index, training, evaluation, always_train=always_train,
                       extra_examples=extra_examples)
    return {**score_folds(index, prepared, folds=folds, log=log),
            "seconds": round(time.perf_counter() - started, 1)}


def score_folds(index: Index, prepared: Prepared, *, folds: int = FOLDS, share: float = 1.0,
                draw: int = 0, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Cross-validation over ``prepared``. With ``share`` under 1, each fold's models are
    trained on that share of the other folds' questions only (drawn at random with seed
    ``draw``; the ``extra`` examples are always whole) and still answer every question of the
    held fold: a point of the learning curve."""
    questions = prepared.questions
    fold_of = [i % folds for i in range(len(questions))]
    kept = np.random.default_rng(draw).random(len(questions)) < share
    outcomes = []
    for k in range(folds):
        train = [e for e, f, keep in zip(prepared.data, fold_of, kept, strict=True)
                 if f != k and keep] + list(prepared.extra)
        models, _ = fit(train)
        judge = LearnedJudge(models, RuleJudge(index.settings))
        outcomes += [run_question(index, q, "cv", judge)
                     for q, f in zip(questions, fold_of, strict=True) if f == k]
        if log:
            log(f"cross-validation fold {k + 1}/{folds}: {len(train)} training questions")
    score_rankings(outcomes, {q["id"]: gold_spans(index, q) for q in questions})
    return {"all": summarize(outcomes, "cv"),
            "eval_questions": summarize([o for o in outcomes
                                         if o.qid in prepared.evaluation_ids], "cv"),
            "folds": folds, "questions": len(questions)}


def rules_on_unseen(index: Index, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The 0.1 rules on questions their thresholds were not chosen on (the training set):
    the fair comparison for the learned decisions' cross-validated figures."""
    rules = RuleJudge(index.settings)
    outcomes = [run_question(index, q, RULES, rules) for q in questions]
    score_rankings(outcomes, {q["id"]: gold_spans(index, q) for q in questions})
    return summarize(outcomes, RULES)
