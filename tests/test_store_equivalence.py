"""Same answers from either store: the seed evaluation through FAISS and through milvus-lite.

Real model, real milvus-lite, every question of eval/questions.jsonl, through the public API.
Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus.evaluation.metrics import credit
from askcorpus.evaluation.seeds import Outcome, gold_spans, run_question, score_rankings
from askcorpus.milvus_store import MilvusSearch
from askcorpus.training import read_jsonl

QUESTIONS = read_jsonl(Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl")


@pytest.fixture(scope="module")
def milvus_seed_index(seed_index: askcorpus.Index,
                      tmp_path_factory: pytest.TempPathFactory) -> askcorpus.Index:
    """The seed index rebuilt with the Milvus store (a copy: the vectors are reused, so both
    stores hold the very same vectors and any difference comes from the store)."""
    target = tmp_path_factory.mktemp("milvus-seeds") / "index"
    shutil.copytree(seed_index.index_dir, target)
    index = askcorpus.build(seed_index.manifest.corpus.root, target, store="milvus")
    assert isinstance(index.retriever.dense.searcher, MilvusSearch)
    return index


def _overlap(a: askcorpus.Index, b: askcorpus.Index, mode: str) -> float:
    shared = []
    for q in QUESTIONS:
        top_a = {c.passage.passage_id for c in a.search(q["question"], 10, mode=mode)}
        top_b = {c.passage.passage_id for c in b.search(q["question"], 10, mode=mode)}
        shared.append(len(top_a & top_b) / max(len(top_a), 1))
    return float(np.mean(shared))


def test_top_10_overlap_on_every_eval_question(seed_index: askcorpus.Index,
                                               milvus_seed_index: askcorpus.Index) -> None:
    dense = _overlap(seed_index, milvus_seed_index, "dense")
    hybrid = _overlap(seed_index, milvus_seed_index, "hybrid")
    print(f"\ntop-10 overlap FAISS vs milvus-lite on {len(QUESTIONS)} questions: "
          f"dense {dense:.4f}, hybrid {hybrid:.4f}")
    assert dense >= 0.99 and hybrid >= 0.99


def _figures(index: askcorpus.Index) -> tuple[dict[str, float], list[Outcome]]:
    gold = {q["id"]: gold_spans(index, q) for q in QUESTIONS}
    outcomes = [run_question(index, q, "full") for q in QUESTIONS]
    score_rankings(outcomes, gold)
    answerable = [o for o in outcomes if o.question["answerable"]]
    hit = np.mean([any(credit(o.ranking[:5], gold[o.qid])) for o in answerable])
    recall = np.mean([o.scores["R@5"] for o in answerable])
    assert len(answerable) > 50
    return {"hit@5": float(hit), "R@5": float(recall)}, outcomes


def test_seed_evaluation_figures_and_answers_equal_faiss(
        seed_index: askcorpus.Index, milvus_seed_index: askcorpus.Index) -> None:
    faiss_figures, faiss_outcomes = _figures(seed_index)
    milvus_figures, milvus_outcomes = _figures(milvus_seed_index)
    same = np.mean([(a.status, a.ranking) == (b.status, b.ranking)
                    for a, b in zip(faiss_outcomes, milvus_outcomes, strict=True)])
    print(f"\nseed eval (full system, {len(QUESTIONS)} questions): FAISS {faiss_figures}, "
          f"milvus-lite {milvus_figures}; identical answers {same:.3f}")
    for name, value in faiss_figures.items():
        assert abs(value - milvus_figures[name]) <= 0.01, name
    assert same == 1.0  # exact search in both stores: no answer differs
