"""How the abstention model's ``unmatched`` feature was chosen: each variant scored out of
fold on the training questions only, never on the evaluation questions.

    python benchmarks/unmatched_variants.py [--draws 3]

The data is what ``askcorpus train`` fits on: ``train/questions.jsonl``, the off-topic claims
and the Perspectrum train claims. For each of ``--draws`` random 5-fold splits, rankers are
fitted without each fold (as in training.py), then the abstention model with the shipped six
features plus one variant of ``unmatched`` is scored out of fold. It prints, over the seed
training questions (the off-topic and Perspectrum claims are trained on, not scored), the AUC
of P(answerable) against the labels and the abstention and false abstention at the threshold
training chose when the feature was added (false abstention bounded over every answerable
example; since the seventh round the bound counts the seed corpus's questions only, see
``abstention_variants.py``), averaged over the draws. Takes 2-4 minutes here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from askcorpus import training
from askcorpus.api import Index, open_index
from askcorpus.features import QUESTION_FEATURES, unmatched_words
from askcorpus.learned import Scored, question_features
from askcorpus.lexical import tokenize, words
from askcorpus.lookup import QUESTION_OPENERS

ROOT = Path(__file__).resolve().parent.parent
Missing = Callable[[str, Sequence[str]], str]


def without_saying(question: str, texts: Sequence[str]) -> str:
    """``unmatched_words`` with only the question words set aside, not the verbs of saying."""
    held = {stem for text in texts for stem in tokenize(text)}
    frame = QUESTION_OPENERS | {"many", "much"}
    return " ".join(w for w, s in zip(words(question), tokenize(question), strict=True)
                    if w not in frame and s not in held)


# name -> (passages looked in, in learned order or fused order, how the missing words are found)
VARIANTS: dict[str, tuple[int, str, Missing] | None] = {
    "shipped features before it": None,
    "words the first 2 passages lack": (2, "learned", unmatched_words),
    "words the first 3 passages lack (shipped)": (3, "learned", unmatched_words),
    "words the first 5 passages lack": (5, "learned", unmatched_words),
    "first 3, verbs of saying not set aside": (3, "learned", without_saying),
    "first 3 fused (not learned) candidates": (3, "fused", unmatched_words),
}


def variant(example: training.Example, scored: Scored, depth: int, order: str,
            missing: Missing) -> float:
    retrieval = example.retrieval
    n = len(retrieval.fused)
    first = (np.argsort(-scored.probs[:n], kind="stable")[:depth] if order == "learned"
             else np.arange(min(depth, n)))
    text = missing(retrieval.question,
                   [example.view.passages[retrieval.fused[i].row].text for i in first])
    return retrieval.closest(text) if text and retrieval.closest else 1.0


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The chance that an answerable question scores above an unanswerable one."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    return float((pos[:, None] > neg[None, :]).mean()
                  + 0.5 * (pos[:, None] == neg[None, :]).mean())


def arguments(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """The options both variant benchmarks take."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--perspectrum", default=str(ROOT.parent / "shared" / "perspectrum"))
    parser.add_argument("--draws", type=int, default=3)
    return parser.parse_args(argv)


def training_data(args: argparse.Namespace) -> tuple[Index, Index, list[training.Example]]:
    """The seed index, the Perspectrum index, and every example ``askcorpus train`` fits on
    (features from untrained models: the rankers are fitted per fold)."""
    index = open_index(args.index, rebuild_from=ROOT / "seeds")
    blank = training.untrained(index.manifest.model.dim)
    rows = (training.load_questions(ROOT / "train" / "questions.jsonl")
            + training.load_questions(ROOT / "train" / "off_topic.jsonl"))
    data = training.examples(index, rows, blank)
    bench, claims = training.training_claims(args.perspectrum)
    data += claims
    return index, bench, data


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv)
    _, _, data = training_data(args)
    answerable = np.array([float(e.question["answerable"]) for e in data])
    seed = np.array([e.sides_labelled and not e.question["id"].startswith("tp") for e in data])
    names, signs = QUESTION_FEATURES, training.ANSWERABLE_SIGNS
    results: dict[str, list[list[float]]] = {name: [] for name in VARIANTS}
    for draw in range(args.draws):
        fold_of = np.random.default_rng(draw).permutation(len(data)) % training.FOLDS
        rankers = [training._fit_ranker([e for e, f in zip(data, fold_of, strict=True)
                                         if f != k]) for k in range(training.FOLDS)]
        oof = [training._rescore(e.scored, rankers[f])
               for e, f in zip(data, fold_of, strict=True)]
        shipped = np.array([question_features(s, e.retrieval, e.view)
                            for s, e in zip(oof, data, strict=True)])
        for name, spec in VARIANTS.items():
            x = shipped[:, :-1] if spec is None else np.column_stack([shipped[:, :-1], [
                variant(e, s, *spec) for s, e in zip(oof, data, strict=True)]])
            n = x.shape[1]
            probs = training._out_of_fold(x, answerable, fold_of, training.L2["answerable"],
                                          names[:n], signs=signs[:n])
            t = training.abstention_threshold(probs, answerable,
                                              counted=np.ones(len(probs), dtype=bool))
            y, p = answerable[seed], probs[seed]
            results[name].append([auc(p, y), float((p[y == 0] < t).mean()),
                                  float((p[y == 1] < t).mean())])
        print(f"draw {draw + 1} of {args.draws} done", flush=True)
    print(f"\n{int(seed.sum())} seed training questions scored, {len(data)} trained on\n")
    print("| variant | AUC answerable vs not | abstention | false abstention |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        a, abstained, false = np.mean(runs, axis=0)
        print(f"| {name} | {a:.3f} | {abstained:.3f} | {false:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
