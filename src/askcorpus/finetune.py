"""Fine-tune the encoder: low-rank (LoRA) factors on MiniLM, learned from question-passage pairs.

``askcorpus train --encoder`` runs this before the decision models (whose features are this
encoder's cosines). The examples are the seed training questions with the passages that hold
their gold quotes, and the Perspectrum train claims with their supporting and undermining
perspectives; the loss is sentence-transformers' MultipleNegativesRankingLoss (every other
passage of the batch is a negative), so a few thousand pairs move the vectors without a new
head to learn, the recipe that raised Perspectrum dev nDCG@10 in issue 11's trial.

Each example also carries one hard negative: a passage of the same corpus that BM25 ranks
high for the question but that holds none of its gold (Karpukhin et al., "Dense Passage
Retrieval", 2020). In-batch negatives are mostly passages of the other corpus, which any
model tells apart; the hard one teaches the distinctions inside one conflict's documents.
BM25 picks them, not a model, so the same data always gives the same triplets.

Only the factors are trained and kept: ``A`` (rank × in) and ``B`` (out × rank, scaled) per
adapted weight, a megabyte in ``models/encoder-lora.safetensors`` that ``adapter.py`` merges
into the packaged weights. Needs torch, sentence-transformers' trainer and ``datasets``
(training only; answering and building never import this module).
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.adapter import FACTORS
from askcorpus.api import Index
from askcorpus.embedding import resolve_model
from askcorpus.lexical import Lexical
from askcorpus.settings import BASE_MODEL
from askcorpus.training import (
    benchmark_claims,
    load_questions,
    locate_evidence,
    overlaps_gold,
    read_jsonl,
)

TARGETS = ("query", "key", "value", "dense")


Triplet = tuple[str, str, str]  # (question, passage holding its answer, hard negative)


def question_pairs(index: Index, questions: Sequence[dict[str, Any]]) -> list[Triplet]:
    """(question, passage, negative) for every passage of ``index`` that overlaps a gold
    quote; the negatives are the question's best BM25 passages without its gold."""
    passages = index.passages()
    texts = [p.text for p in passages]
    lexical = Lexical.build(texts)
    out = []
    for question in questions:
        if not question.get("answerable") or not question.get("evidence"):
            continue
        spans = locate_evidence(index, question)
        gold = [i for i, p in enumerate(passages) if overlaps_gold(p, spans)]
        negatives = _hard_negatives(lexical, question["question"], set(gold), len(gold))
        out += _triplets(question["question"], [texts[i] for i in gold],
                         [texts[n] for n in negatives])
    return out


def claim_pairs(folder: str | Path) -> list[Triplet]:
    """(claim, perspective, negative) for every perspective that supports or undermines a
    train claim; the negatives are the claim's best BM25 perspectives outside its gold."""
    rows = read_jsonl(Path(folder) / "corpus.jsonl")
    texts = [row["text"] for row in rows]
    row_of = {row["id"]: i for i, row in enumerate(rows)}
    lexical = Lexical.build(texts)
    out = []
    for claim in benchmark_claims(folder, "train"):
        gold = [row_of[pid] for pid in claim["relevant"] if pid in row_of]
        negatives = _hard_negatives(lexical, claim["text"], set(gold), len(gold))
        out += _triplets(claim["text"], [texts[i] for i in gold], [texts[n] for n in negatives])
    return out


def _triplets(question: str, positives: list[str], negatives: list[str]) -> list[Triplet]:
    """One triplet per positive; a corpus with fewer negatives than positives reuses them."""
    if not negatives:
        return []
    return [(question, text, negatives[i % len(negatives)]) for i, text in enumerate(positives)]


def _hard_negatives(lexical: Lexical, query: str, gold: set[int], count: int) -> list[int]:
    """The ``count`` best BM25 rows for ``query`` that are not gold (one per positive)."""
    scores = lexical.scores(query)
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if int(i) not in gold][:count]


def finetune(pairs: Sequence[Triplet], base: Path, out: Path, *, rank: int = 16,
             epochs: float = 1.0, learning_rate: float = 2e-4, batch_size: int = 32,
             max_tokens: int = 128, seed: int = 0,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train LoRA factors on ``pairs`` (question, passage, hard negative) from the model
    folder ``base``; write them to ``out``."""
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    try:
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )
        from sentence_transformers.sentence_transformer.training_args import BatchSamplers
    except ImportError:  # sentence-transformers 5
        from sentence_transformers.losses import MultipleNegativesRankingLoss
        from sentence_transformers.training_args import BatchSamplers

    started = time.perf_counter()
    torch.manual_seed(seed)
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    model = SentenceTransformer(str(base), device="cpu")
    model.max_seq_length = max_tokens
    adapted = _add_lora(model[0].auto_model, rank)
    data = Dataset.from_dict({"anchor": [a for a, _, _ in shuffled],
                              "positive": [b for _, b, _ in shuffled],
                              "negative": [n for _, _, n in shuffled]})
    scratch = tempfile.TemporaryDirectory(prefix="askcorpus-finetune-")
    args = SentenceTransformerTrainingArguments(
        output_dir=scratch.name, num_train_epochs=epochs,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate,
        warmup_steps=0.1, seed=seed, data_seed=seed, save_strategy="no", report_to=[],
        batch_sampler=BatchSamplers.NO_DUPLICATES, use_cpu=True, logging_steps=50,
        disable_tqdm=True)
    SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                               loss=MultipleNegativesRankingLoss(model)).train()
    scratch.cleanup()
    _save_factors(adapted, out)
    figures = {"pairs": len(pairs), "hard_negatives": "bm25", "rank": rank, "epochs": epochs,
               "learning_rate": learning_rate, "batch_size": batch_size, "seed": seed,
               "adapted_weights": len(adapted),
               "seconds": round(time.perf_counter() - started, 1),
               "bytes": out.stat().st_size}
    log(f"Trained encoder factors on {len(pairs)} pairs in {figures['seconds']} s -> {out}")
    return figures


def _add_lora(bert: Any, rank: int) -> dict[str, Any]:
    """Wrap every attention and feed-forward Linear of the encoder layers; freeze the rest."""
    import torch

    class LoRALinear(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.lora_A = torch.nn.Parameter(torch.empty(rank, base.in_features))
            torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            # B starts at zero: training begins from exactly the packaged model.
            self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, rank))
            self.scaling = 2.0  # alpha / rank with alpha = 2 * rank

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling

    for parameter in bert.parameters():
        parameter.requires_grad_(False)
    adapted = {}
    for name, module in list(bert.named_modules()):
        for child_name, child in list(module.named_children()):
            path = f"{name}.{child_name}"
            if (isinstance(child, torch.nn.Linear) and child_name in TARGETS
                    and path.startswith("encoder.layer")):
                wrapper = LoRALinear(child)
                setattr(module, child_name, wrapper)
                adapted[path] = wrapper
    return adapted


def _save_factors(adapted: dict[str, Any], out: Path) -> None:
    from safetensors.numpy import save_file

    factors = {}
    for path, module in sorted(adapted.items()):
        factors[f"{path}.lora_A"] = np.ascontiguousarray(
            module.lora_A.detach().numpy(), dtype=np.float32)
        factors[f"{path}.lora_B"] = np.ascontiguousarray(
            module.lora_B.detach().numpy() * module.scaling, dtype=np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file(factors, str(tmp), metadata={"format": "askcorpus-lora-1"})
    tmp.replace(out)


def record(figures: dict[str, Any], out: Path, sources: dict[str, str]) -> None:
    """Write what the encoder's training measured beside the factors."""
    (out.parent / "encoder.json").write_text(
        json.dumps({**figures, **sources}, indent=1) + "\n", encoding="utf-8")


def train_encoder(index: Index, questions: str | Path, perspectrum: str | Path | None,
                  out: Path = FACTORS, log: Callable[[str], None] = print) -> dict[str, Any]:
    """`askcorpus train --encoder`: the factors from the training questions over ``index``'s
    corpus and the Perspectrum train claims, written to ``out`` with ``encoder.json``."""
    pairs = question_pairs(index, load_questions(questions))
    if perspectrum:
        pairs += claim_pairs(perspectrum)
    base, _ = resolve_model(BASE_MODEL)
    figures = finetune(pairs, base, out, log=log)
    record(figures, out, {"questions_file": str(questions), "perspectrum": str(perspectrum)})
    return figures
