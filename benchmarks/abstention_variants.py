"""How the abstention threshold's bound was chosen, and a feature that was not kept: out of
fold on the training questions only, never on the evaluation questions.

    python benchmarks/abstention_variants.py [--draws 3]

The data is what ``askcorpus train`` fits on. For each of ``--draws`` random 5-fold splits,
rankers are fitted without each fold (as in training.py); then, for each fold, the abstention
model is fitted on the other folds and its threshold chosen there from inner out-of-fold
predictions, the highest keeping false abstention at most training.MAX_FALSE_ABSTENTION over:

- every answerable example, the Perspectrum train claims included (the rule before);
- the seed corpus's questions only (the rule now);
- the same, with one more feature: the question's best cosine with a document's topic (the
  normalised mean of its passages' vectors), which tells a question about something the
  corpus never discusses from one it discusses.

It prints, over the seed training questions, the AUC of P(answerable), abstention and false
abstention at the fold's threshold, and the share of the 150 off-topic training claims
answered, averaged over the draws. Takes 3-5 minutes here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from unmatched_variants import arguments, auc, training_data

from askcorpus import training
from askcorpus.api import Index
from askcorpus.features import QUESTION_FEATURES
from askcorpus.fitting import fit_monotone
from askcorpus.learned import question_features

# name -> (the bound counts the seed corpus only, the topic feature added)
VARIANTS = {"bound over every answerable example (before)": (False, False),
            "bound over the seed corpus's questions (shipped)": (True, False),
            "the same + the question's closeness to a document's topic": (True, True)}


def topics(index: Index) -> np.ndarray:
    """Each document's normalised mean passage vector."""
    vectors, rows = index.retriever.vectors, {}
    for row, passage in enumerate(index.view.passages):
        rows.setdefault(passage.doc_id, []).append(row)
    means = np.array([vectors[r].mean(axis=0) for r in rows.values()])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def scores(x: np.ndarray, answerable: np.ndarray, own: np.ndarray, fold_of: np.ndarray,
           own_bound: bool, names: Sequence[str], signs: Sequence[int]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Each row's out-of-fold P(answerable) and the threshold its fold's training chose."""
    probs, thresholds = np.zeros(len(x)), np.zeros(len(x))
    l2 = training.L2["answerable"]
    for k in range(training.FOLDS):
        train, held = fold_of != k, fold_of == k
        inner = training._out_of_fold(x[train], answerable[train],
                                      np.arange(train.sum()) % training.FOLDS, l2, names,
                                      signs=signs)
        counted = own[train] if own_bound else np.ones(train.sum(), dtype=bool)
        thresholds[held] = training.abstention_threshold(inner, answerable[train],
                                                         counted=counted)
        model = fit_monotone(x[train], answerable[train], l2=l2, names=names, signs=signs)
        probs[held] = model.probability(x[held])
    return probs, thresholds


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv)
    index, bench, data = training_data(args)
    answerable = np.array([float(e.question["answerable"]) for e in data])
    own = np.array([e.sides_labelled for e in data])
    off_topic = own & np.array([e.question["id"].startswith("tp") for e in data])
    seed = own & ~off_topic
    topic_of = {id(index.view): topics(index), id(bench.view): topics(bench)}
    topic = np.array([float((topic_of[id(e.view)] @ e.retrieval.vector).max()) for e in data])
    results: dict[str, list[list[float]]] = {name: [] for name in VARIANTS}
    for draw in range(args.draws):
        fold_of = np.random.default_rng(draw).permutation(len(data)) % training.FOLDS
        rankers = [training._fit_ranker([e for e, f in zip(data, fold_of, strict=True)
                                         if f != k]) for k in range(training.FOLDS)]
        x = np.array([question_features(training._rescore(e.scored, rankers[f]), e.retrieval,
                                        e.view) for e, f in zip(data, fold_of, strict=True)])
        for name, (own_bound, with_topic) in VARIANTS.items():
            names = [*QUESTION_FEATURES, "on_topic"] if with_topic else list(QUESTION_FEATURES)
            signs = [*training.ANSWERABLE_SIGNS, 1] if with_topic else training.ANSWERABLE_SIGNS
            design = np.column_stack([x, topic]) if with_topic else x
            p, t = scores(design, answerable, own, fold_of, own_bound, names, signs)
            y = answerable
            results[name].append([auc(p[seed], y[seed]),
                                  float((p < t)[seed & (y == 0)].mean()),
                                  float((p < t)[seed & (y == 1)].mean()),
                                  float((p >= t)[off_topic].mean())])
        print(f"draw {draw + 1} of {args.draws} done", flush=True)
    print(f"\n{int(seed.sum())} seed training questions and {int(off_topic.sum())} off-topic "
          f"claims scored, {len(data)} trained on\n")
    print("| variant | AUC answerable vs not | abstention | false abstention | "
          "off-topic answered |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        a, abstained, false, off = np.mean(runs, axis=0)
        print(f"| {name} | {a:.3f} | {abstained:.3f} | {false:.3f} | {off:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
