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
from askcorpus.settings import BASE_MODEL
from askcorpus.training import load_questions

ROOT = Path(__file__).resolve().parent.parent


def test_question_pairs_hold_the_gold_quote(seed_index: askcorpus.Index) -> None:
    rows = load_questions(ROOT / "train" / "questions.jsonl")[:40]
    pairs = finetune.question_pairs(seed_index, rows)
    assert len(pairs) >= 30
    by_question = {r["question"]: r for r in rows}
    for question, passage in pairs:
        quotes = [e["quote"] for e in by_question[question]["evidence"]]
        # The passage overlaps a quote: one of them shares a stretch of words with it.
        assert any(q[:25] in passage or passage[-25:] in q or q[-25:] in passage
                   or passage[:25] in q for q in quotes), (question, passage[:80])


def test_claim_pairs_are_perspectives_of_train_claims_only(tmp_path: Path) -> None:
    rows = {"corpus": [{"id": "p1", "text": "Curfews keep children safe"},
                       {"id": "p2", "text": "Curfews punish the innocent"},
                       {"id": "p3", "text": "Uniforms build discipline"}],
            "queries-train": [{"id": "c1", "text": "Child curfews are right",
                               "relevant": {"p1": "SUPPORT", "p2": "UNDERMINE", "p9": "SUPPORT"}}],
            "queries-dev": [{"id": "c2", "text": "School uniforms should be required",
                             "relevant": {"p3": "SUPPORT"}}]}
    for name, lines in rows.items():
        (tmp_path / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert finetune.claim_pairs(tmp_path) == [
        ("Child curfews are right", "Curfews keep children safe"),
        ("Child curfews are right", "Curfews punish the innocent")]


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
    vectors = SentenceEncoder(str(folder)).encode([q for q, _ in pairs[:2]])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()
    assert tuned_revision != revision
