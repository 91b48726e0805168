"""Fine-tuning the encoder's low-rank factors: real model, real trainer, real seed passages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

import askcorpus
from askcorpus import finetune
from askcorpus.adapter import tuned_model
from askcorpus.embedding import SentenceEncoder, resolve_model
from askcorpus.lexical import words
from askcorpus.settings import BASE_MODEL
from askcorpus.training import load_questions

ROOT = Path(__file__).resolve().parent.parent


def _holds(passage: str, quotes: list[str]) -> bool:
    """Whether the passage overlaps a quote: one of them shares a stretch of words with it."""
    return any(q[:25] in passage or passage[-25:] in q or q[-25:] in passage
               or passage[:25] in q for q in quotes)


def test_question_triplets_hold_the_gold_quote_and_a_hard_negative(
        seed_index: askcorpus.Index) -> None:
    rows = load_questions(ROOT / "train" / "questions.jsonl")[:40]
    triplets = finetune.question_pairs(seed_index, rows)
    assert len(triplets) >= 30
    by_question = {r["question"]: r for r in rows}
    shared = 0
    for question, passage, negative in triplets:
        quotes = [e["quote"] for e in by_question[question]["evidence"]]
        assert _holds(passage, quotes), (question, passage[:80])
        assert not _holds(negative, quotes) and negative != passage, (question, negative[:80])
        shared += bool(set(words(question)) & set(words(negative)))
    # The negatives are BM25's best non-gold passages: they share the question's words.
    assert shared >= 0.9 * len(triplets)


def test_claim_pairs_are_perspectives_of_train_claims_only(tmp_path: Path) -> None:
    rows = {"corpus": [{"id": "p1", "text": "Curfews keep children safe"},
                       {"id": "p2", "text": "Curfews punish the innocent"},
                       {"id": "p3", "text": "Uniforms build discipline"},
                       {"id": "p4", "text": "Night curfews are ignored"}],
            "queries-train": [{"id": "c1", "text": "Child curfews are right",
                               "relevant": {"p1": "SUPPORT", "p2": "UNDERMINE", "p9": "SUPPORT"}}],
            "queries-dev": [{"id": "c2", "text": "School uniforms should be required",
                             "relevant": {"p3": "SUPPORT"}}]}
    for name, lines in rows.items():
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    # The best BM25 perspective outside the claim's gold is the first negative (it shares
    # "curfews"); the second positive gets the next one.
    assert finetune.claim_pairs(tmp_path) == [
        ("Child curfews are right", "Curfews keep children safe", "Night curfews are ignored"),
        ("Child curfews are right", "Curfews punish the innocent", "Uniforms build discipline")]


def test_a_short_fine_tune_writes_factors_that_merge_and_encode(
        seed_index: askcorpus.Index, tmp_path: Path) -> None:
    rows = load_questions(ROOT / "train" / "questions.jsonl")[:12]
    pairs = finetune.question_pairs(seed_index, rows)[:16]
    base, revision = resolve_model(BASE_MODEL)
    out = tmp_path / "factors.safetensors"
    figures = finetune.finetune(pairs, base, out, rank=2, batch_size=8, log=lambda _: None)
    factors = load_file(str(out))
    assert figures["adapted_weights"] == 36 and len(factors) == 72
    assert any(np.abs(v).max() > 0 for k, v in factors.items() if k.endswith("lora_B"))
    folder, tuned_revision = tuned_model(base, revision, out, cache_dir=tmp_path / "cache")
    vectors = SentenceEncoder(str(folder)).encode([q for q, _, _ in pairs[:2]])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()
    assert tuned_revision != revision
