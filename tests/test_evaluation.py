"""The evaluation harness: metric code on hand-computed cases, and a small real seed run."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from askcorpus import training
from askcorpus.evaluation import learning, metrics, perspectrum, report, seeds
from askcorpus.evaluation.metrics import Gold
from askcorpus.evaluation.seeds import Outcome

ROOT = Path(__file__).resolve().parent.parent


def test_credit_gives_each_gold_quote_to_the_first_overlapping_citation() -> None:
    gold = [Gold("q-e0", "A", 10, 20, ""), Gold("q-e1", "A", 15, 30, ""),
            Gold("q-e2", "B", 0, 5, "")]
    ranking = [("A", 0, 12),    # overlaps e0 -> e0
               ("A", 12, 40),   # overlaps e0 (taken) and e1 -> e1
               ("B", 5, 9),     # [5, 9) only touches [0, 5): no overlap
               ("A", 0, 100),   # e0 and e1 both taken -> nothing
               ("C", 0, 5),     # other document
               ("B", 4, 5)]     # overlaps e2 by one character -> e2
    assert metrics.credit(ranking, gold) == [("q-e0",), ("q-e1",), (), (), (), ("q-e2",)]


def test_one_citation_finds_every_gold_quote_it_overlaps() -> None:
    gold = [Gold("q-e0", "A", 10, 20, ""), Gold("q-e1", "A", 30, 40, ""),
            Gold("q-e2", "A", 50, 60, "")]
    credited = metrics.credit([("B", 0, 99), ("A", 0, 45), ("A", 45, 99)], gold)
    assert credited == [(), ("q-e0", "q-e1"), ("q-e2",)]
    m = metrics.ranking_metrics({"q": ["q-e0", "q-e1", "q-e2"]}, {"q": credited})["q"]
    # Rank 2 finds two of three quotes, rank 3 the last: R@1 0, R@5 = R@10 = 1, RR 1/2.
    assert (m["R@1"], m["R@5"], m["R@10"]) == (0.0, 1.0, 1.0)
    assert m["MRR@10"] == pytest.approx(0.5)
    # nDCG counts each result once: gains at ranks 2 and 3 against an ideal of 3 at 1..3.
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["nDCG@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)


def test_ranking_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": ["q1-e0", "q1-e1"], "q2": ["q2-e0"], "q3": ["q3-e0"]}
    credited = {"q1": [(), ("q1-e0",), ("q1-e1",)],  # hits at ranks 2 and 3 of 2 relevant
                "q2": [("q2-e0",), ()],              # hit at rank 1
                "q3": []}                            # nothing returned (e.g. abstained)
    m = metrics.ranking_metrics(qrels, credited)
    # q1: R@1 = 0/2, R@5 = 2/2, RR = 1/2,
    #     DCG = 1/log2(3) + 1/log2(4) = 0.630930 + 0.5; IDCG = 1 + 1/log2(3) = 1.630930
    #     nDCG@10 = 1.130930 / 1.630930 = 0.693426
    assert m["q1"]["R@1"] == 0.0 and m["q1"]["R@5"] == 1.0 and m["q1"]["R@10"] == 1.0
    assert m["q1"]["MRR@10"] == pytest.approx(0.5)
    ndcg_q1 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m["q1"]["nDCG@10"] == pytest.approx(ndcg_q1) == pytest.approx(0.693426, abs=1e-6)
    # q2: a hit at rank 1 of 1 relevant -> every metric is 1.
    assert m["q2"] == {"hit@5": 1.0, "R@1": 1.0, "R@5": 1.0, "R@10": 1.0, "MRR@10": 1.0,
                       "nDCG@10": 1.0}
    # hit@5: any gold item in the first five (q1 and q2), none for q3.
    assert [m[q]["hit@5"] for q in ("q1", "q2", "q3")] == [1.0, 1.0, 0.0]
    # q3: an empty ranking still counts, as zeros.
    assert set(m["q3"].values()) == {0.0}
    # Means over the three questions: R@1 = 1/3, MRR = (0.5 + 1 + 0) / 3 = 0.5.
    assert np.mean([m[q]["R@1"] for q in m]) == pytest.approx(1 / 3)
    assert np.mean([m[q]["MRR@10"] for q in m]) == pytest.approx(0.5)


def test_ranking_metrics_cut_at_ten() -> None:
    m = metrics.ranking_metrics({"q": ["q-e0"]}, {"q": [()] * 10 + [("q-e0",)]})
    assert m["q"]["R@10"] == 0.0 and m["q"]["MRR@10"] == 0.0


def test_side_recall_and_contested_flag() -> None:
    assert metrics.side_recall(["armenian", "azerbaijani", "international"],
                                  {"armenian", "azerbaijani", "unlabeled"}) == pytest.approx(2 / 3)
    assert metrics.side_recall([], {"armenian"}) == 1.0
    # gold    T T F F ; predicted T F T F -> tp 1, precision 1/2, recall 1/2, F1 1/2
    prf = metrics.flag_prf([True, True, False, False], [True, False, True, False])
    assert prf == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    # Nothing predicted: precision undefined, recall 0, F1 undefined.
    assert metrics.flag_prf([True, False], [False, False]) == {
        "precision": None, "recall": 0.0, "f1": None}
    # Predicted but all wrong: precision 0, recall 0, F1 0.
    assert metrics.flag_prf([True, False], [False, True])["f1"] == 0.0


def _outcome(qid: str, *, answerable: bool, contested: bool, sides: list[str],
             status: str | None, shown: set[str], r10: float = 1.0) -> Outcome:
    question = {"id": qid, "question": qid, "answerable": answerable, "contested": contested,
                "sides": sides, "type": "contested" if contested else "factoid",
                "evidence": []}
    scores = dict.fromkeys(seeds.RANKING, r10) if answerable else {}
    return Outcome(question, "full", [], shown, status, 0.01, 1, 1, scores)


def test_summarize_full_system() -> None:
    outcomes = [
        _outcome("a", answerable=True, contested=True, sides=["armenian", "azerbaijani"],
                 status="contested", shown={"armenian", "azerbaijani"}),
        _outcome("b", answerable=True, contested=True, sides=["armenian", "azerbaijani"],
                 status="answered", shown={"armenian"}, r10=0.5),
        _outcome("c", answerable=True, contested=False, sides=["armenian"],
                 status="contested", shown={"armenian", "azerbaijani"}),
        _outcome("d", answerable=True, contested=False, sides=["international"],
                 status="no_answer", shown=set(), r10=0.0),
        _outcome("e", answerable=False, contested=False, sides=[], status="no_answer",
                 shown=set()),
        _outcome("f", answerable=False, contested=False, sides=[], status="answered",
                 shown={"armenian"})]
    s = seeds.summarize(outcomes, "full")
    assert s["R@10"] == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    assert s["side_recall"] == pytest.approx((1 + 0.5) / 2)        # contested a, b
    assert s["side_recall_answerable"] == pytest.approx((1 + 0.5 + 1 + 0) / 4)
    # flagged contested: a (right), c (wrong); gold contested: a, b -> P 1/2, R 1/2
    assert (s["contested_precision"], s["contested_recall"]) == (0.5, 0.5)
    assert s["abstention_rate"] == 0.5                              # e yes, f no
    assert s["false_abstention_rate"] == 0.25                       # d of a, b, c, d
    assert s["citation_validity"] == 1.0
    assert (s["n"], s["n_answerable"], s["n_contested"], s["n_unanswerable"]) == (6, 4, 2, 2)
    reasons = {(f["id"], f["reason"]) for f in seeds.failures(outcomes, {
        o.qid: [] for o in outcomes})}
    assert reasons == {("b", "wrong status"), ("b", "missed evidence"), ("b", "missed side"),
                       ("c", "wrong status"), ("d", "wrongly abstained"),
                       ("d", "missed evidence"), ("f", "answered unanswerable")}
    other = seeds.summarize([replace(o, status=None) for o in outcomes[:2]], "dense")
    assert other["contested_f1"] is None and other["abstention_rate"] is None


def test_abstention_is_also_given_apart_for_on_topic_and_off_topic_questions() -> None:
    def unanswerable(qid: str, status: str, *, off_topic: bool) -> Outcome:
        o = _outcome(qid, answerable=False, contested=False, sides=[], status=status,
                     shown=set())
        return replace(o, question={**o.question, "off_topic": off_topic})

    outcomes = [unanswerable("gdp", "answered", off_topic=False),
                unanswerable("drones", "answered", off_topic=False),
                unanswerable("election", "no_answer", off_topic=False),
                unanswerable("recipe", "no_answer", off_topic=True)]
    s = seeds.summarize(outcomes, "full")
    assert s["abstention_rate"] == 0.5
    assert s["abstention_on_topic"] == pytest.approx(1 / 3)
    assert s["abstention_off_topic"] == 1.0
    # A question file without the label counts every question as on-topic.
    bare = seeds.summarize([_outcome("x", answerable=False, contested=False, sides=[],
                                     status="no_answer", shown=set())], "full")
    assert (bare["abstention_on_topic"], bare["abstention_off_topic"]) == (1.0, None)


def test_both_sides_and_benchmark_metrics() -> None:
    relevant = {"p1": "SUPPORT", "p2": "UNDERMINE", "p3": "SUPPORT"}
    assert metrics.both_sides(relevant, ["x", "p1", "y", "p2"]) is True
    assert metrics.both_sides(relevant, ["p1", "p3"]) is False
    assert metrics.both_sides(relevant, ["p2"] + ["x"] * 10 + ["p1"]) is False  # cut at 10
    assert metrics.both_sides({"p1": "SUPPORT"}, ["p1"]) is None    # one stance: not counted
    queries = [{"id": "c1", "text": "", "relevant": relevant},
               {"id": "c2", "text": "", "relevant": {"p9": "SUPPORT", "p8": "UNDERMINE"}}]
    m = metrics.claim_metrics(queries, {"c1": ["p1", "x", "p2"], "c2": ["x", "p9"]})
    # c1: R@10 = 2/3, RR = 1, DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3) + 1/log2(4)
    # c2: R@10 = 1/2, RR = 1/2, nDCG = (1/log2(3)) / (1 + 1/log2(3))
    ndcg1 = 1.5 / (1.5 + 1 / math.log2(3))
    ndcg2 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert m["R@10"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m["MRR@10"] == pytest.approx(0.75)
    assert m["nDCG@10"] == pytest.approx((ndcg1 + ndcg2) / 2)
    assert m["both_sides@10"] == pytest.approx(0.5)               # c1 yes, c2 no
    assert m["n_both"] == 2
    better = metrics.claim_metrics(queries, {"c1": ["p1", "x", "p2"], "c2": ["p9", "p8"]})
    assert metrics.paired(better, m) == {"ndcg_wins": 1, "ndcg_losses": 0,
                                           "both_sides_gained": 1, "both_sides_lost": 0}


def test_mmr_trades_relevance_for_novelty() -> None:
    vectors = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0]], dtype=np.float32)
    candidates = [(0, 0.9), (1, 0.89), (2, 0.5)]
    # lambda 1: relevance order. lambda 0.5, second pick: row 1 scores
    # 0.5 * 0.89 - 0.5 * 0.99 = -0.05, row 2 scores 0.5 * 0.5 - 0.5 * 0 = 0.25 -> row 2.
    assert perspectrum.mmr(candidates, vectors, 1.0) == [0, 1, 2]
    assert perspectrum.mmr(candidates, vectors, 0.5) == [0, 2, 1]
    assert perspectrum.mmr(candidates, vectors, 0.5, k=2) == [0, 2]
    assert perspectrum.mmr([], vectors, 0.5) == []


def test_seed_eval_on_real_index(seed_index, tmp_path: Path) -> None:
    """The first questions through the real index and the CLI path; JSON has every metric."""
    home = tmp_path / "eval"
    home.mkdir()
    shutil.copy(ROOT / "eval" / "questions.jsonl", home / "questions.jsonl")
    (tmp_path / "tests" / "data").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "attribution_gold.jsonl", tmp_path / "tests" / "data")
    assert report.run(questions=home / "questions.jsonl", corpus=None,
                      index=seed_index.index_dir, limit=8, report=True) == 0
    results = json.loads((home / "results" / "latest.json").read_text(encoding="utf-8"))
    assert results["meta"]["questions"] == 8
    for config in seeds.CONFIGS:
        assert set(seeds.METRICS) <= set(results["configs"][config])
        assert results["configs"][config]["citation_validity"] == 1.0
        for by_type in results["by_type"][config].values():
            assert set(seeds.METRICS) <= set(by_type)
    assert results["configs"]["full"]["contested_recall"] is not None
    assert results["configs"]["dense"]["contested_f1"] is None
    assert 0.0 <= results["configs"]["hybrid"]["R@10"] <= 1.0
    att = results["attribution"]
    assert att["n"] > 100 and 0.0 <= att["perspective_accuracy"] <= 1.0
    assert {"failures", "per_question"} <= set(results)
    assert "| metric |" in (home / "REPORT.md").read_text(encoding="utf-8")


def test_cross_validation_on_a_share_still_scores_every_question(seed_index) -> None:
    """A learning-curve point trains each fold on fewer questions and never drops one from
    scoring; the whole share is plain cross-validation."""
    train_rows = training.load_questions(ROOT / "train" / "questions.jsonl")[::8]
    eval_rows = training.load_questions(ROOT / "eval" / "questions.jsonl")[::11]
    prepared = learning.prepare(seed_index, train_rows, eval_rows)
    sizes: dict[float, list[int]] = {}
    results = {}
    for share in (1.0, 0.5):
        logged: list[str] = []
        results[share] = learning.score_folds(seed_index, prepared, share=share,
                                              log=logged.append)
        sizes[share] = [int(line.split(": ")[1].split()[0]) for line in logged]
    questions = len(train_rows) + len(eval_rows)
    for result in results.values():
        assert result["all"]["n"] == questions
        assert result["eval_questions"]["n"] == len(eval_rows)
    assert sizes[1.0] == [questions - len(range(k, questions, 5)) for k in range(5)]
    assert all(half < whole * 0.75 for half, whole in zip(sizes[0.5], sizes[1.0], strict=True))
