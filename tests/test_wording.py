"""The question's wording as TF-IDF: scikit-learn's vectoriser, reproduced in numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from askcorpus.learned import Logistic, asks_design, shipped_models
from askcorpus.training import read_jsonl
from askcorpus.wording import Wording, terms

ROOT = Path(__file__).resolve().parent.parent


def test_terms_are_words_then_neighbouring_pairs() -> None:
    assert terms("Do BOTH sides agree, a b?") == [
        "do", "both", "sides", "agree", "do both", "both sides", "sides agree"]


def test_the_vector_equals_scikit_learns_tfidf_on_the_training_questions() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    questions = [r["question"] for r in read_jsonl(ROOT / "train" / "questions.jsonl")]
    ours = Wording.fit(questions)
    theirs = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(questions)
    assert list(ours.vocabulary) == sorted(theirs.vocabulary_)
    order = [theirs.vocabulary_[t] for t in ours.vocabulary]
    asked = [*questions[:50], "Who is to blame for the blockade, Baku or Yerevan?"]
    expected = theirs.transform(asked).toarray()[:, order]
    got = np.array([ours.vector(q) for q in asked])
    assert np.allclose(got, expected, atol=1e-12)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0)
    assert not ours.vector("zzz qqq").any()  # no known term: the zero vector, not NaN


def test_a_model_with_a_vocabulary_round_trips_through_json() -> None:
    wording = Wording.fit(["both sides say", "both sides deny", "who said it"])
    model = Logistic(("v0", *wording.names()), np.zeros(1 + len(wording.vocabulary)),
                     np.ones(1 + len(wording.vocabulary)),
                     np.arange(1 + len(wording.vocabulary), dtype=float), -1.0,
                     wording=wording)
    again = Logistic.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.wording is not None and again.wording.vocabulary == wording.vocabulary
    x = asks_design(again.wording, np.array([0.3]), "Do both sides deny it?")
    assert again.probability(x) == pytest.approx(model.probability(x))


def test_the_shipped_asks_sides_model_reads_vector_and_wording() -> None:
    asks = shipped_models().asks_sides
    assert asks.wording is not None and len(asks.wording.vocabulary) > 500
    assert len(asks.features) == 384 + len(asks.wording.vocabulary)
    assert asks.features[384:] == tuple(asks.wording.names())
