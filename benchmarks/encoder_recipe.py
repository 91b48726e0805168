"""Is another encoder recipe better? Score it on a fold of the training questions it never saw.

The shipped encoder was trained on every training question, so the cross-validation of
``askcorpus eval`` cannot tell two encoder recipes apart, and the evaluation questions may not
choose one. This script trains the encoder's factors without one fold of the training
questions (``finetune.finetune``, the recipe of ``askcorpus train --encoder`` with the learning
rate and epochs given here), builds the seed index with them, fits the decisions without the
fold (``training.fit``) and scores the fold's answerable questions: hit@1, hit@5 and R@5 of the
learned ranking and of dense retrieval alone. Run it once per recipe and compare the lines.

    python benchmarks/encoder_recipe.py --learning-rate 2e-4 --epochs 1 --out /tmp/recipe-a
    python benchmarks/encoder_recipe.py --learning-rate 5e-4 --epochs 1 --out /tmp/recipe-b

About 30 minutes per epoch on 2 CPU cores (models/README.md has the figures it gave);
``--max-pairs`` trains on fewer pairs, for a quick check that it runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus import finetune, training
from askcorpus.adapter import tuned_model
from askcorpus.api import build, open_index
from askcorpus.embedding import resolve_model
from askcorpus.learned import Scored, shipped_models
from askcorpus.settings import BASE_MODEL

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for factors and index")
    parser.add_argument("--learning-rate", type=float, default=2e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--fold", type=int, default=0, help="the held-out fold (of 5)")
    parser.add_argument("--index", default=str(ROOT / "index"),
                        help="the seed index (its passages give the training pairs)")
    parser.add_argument("--questions", default=str(ROOT / "train" / "questions.jsonl"))
    parser.add_argument("--off-topic", default=str(ROOT / "train" / "off_topic.jsonl"))
    parser.add_argument("--perspectrum", default=str(ROOT.parent / "shared" / "perspectrum"))
    parser.add_argument("--max-pairs", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(run(args)))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    questions = training.load_questions(args.questions)
    held = np.arange(len(questions)) % training.FOLDS == args.fold
    factors = args.out / "encoder-lora.safetensors"
    base, revision = resolve_model(BASE_MODEL)
    if not factors.is_file():
        seed_index = (open_index(args.index) if Path(args.index).exists()
                      else build(None, args.index))
        pairs = finetune.question_pairs(
            seed_index, [q for q, h in zip(questions, held, strict=True) if not h])
        pairs += finetune.claim_pairs(args.perspectrum)
        finetune.finetune(pairs[:args.max_pairs], base, factors,
                          learning_rate=args.learning_rate, epochs=args.epochs)
    folder, _ = tuned_model(base, revision, factors=factors, cache_dir=args.out / "models")
    index = build(None, args.out / "index", model=str(folder))
    models = shipped_models()  # only to compute features: the ranker is refitted below
    data = training.examples(index, questions, models)
    off_topic = training.examples(index, training.load_questions(args.off_topic), models)
    kept = [e for e, h in zip(data, held, strict=True) if not h]
    fitted, _ = training.fit(kept + off_topic)
    scored = [e for e, h in zip(data, held, strict=True) if h and e.question["answerable"]]
    learned = [replace(e.scored, probs=fitted.ranker.probability(e.scored.features))
               for e in scored]
    dense = [replace(e.scored, probs=np.array([c.dense for c in e.scored.candidates]))
             for e in scored]
    return {"learning_rate": args.learning_rate, "epochs": args.epochs, "fold": args.fold,
            "pairs_cap": args.max_pairs, "answerable_held_out": len(scored),
            **figures("ranker", learned, scored), **figures("dense", dense, scored)}


def figures(name: str, scored: Sequence[Scored], data: Sequence[training.Example]
            ) -> dict[str, float]:
    """hit@1, hit@5 and R@5 of ``scored``'s order over each question's fused candidates (R@5
    over the questions with a gold passage among them)."""
    recall5 = []
    for s, e in zip(scored, data, strict=True):
        n = len(e.retrieval.fused)
        gold = e.labels[:n]
        if gold.sum():
            top = np.argsort(-s.probs[:n], kind="stable")[:5]
            recall5.append(float(gold[top].sum() / gold.sum()))
    return {f"{name}_hit@1": training._hit_at(scored, data, 1),
            f"{name}_hit@5": training._hit_at(scored, data, 5),
            f"{name}_R@5": round(float(np.mean(recall5)), 4)}


if __name__ == "__main__":
    raise SystemExit(main())
