"""Would more training questions help? The cross-validation of ``askcorpus eval`` rerun with
each fold's models trained on a share of its questions only.

    python benchmarks/learning_curve.py [--shares 0.25 0.5 0.75 1] [--draws 2]

The 864 training and evaluation questions are dealt to 5 folds as ``askcorpus eval`` deals
them; every question is still answered by models that never saw it, but those models are
trained on the given share of the other folds' questions (drawn at random, ``--draws``
times; the off-topic and Perspectrum train claims are always whole). A figure still rising
between the last two shares is one that more questions of the same kind could lift; a flat
one needs something other than more data. Takes about 2 minutes per share and draw here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from askcorpus import training
from askcorpus.api import open_index
from askcorpus.evaluation import learning

ROOT = Path(__file__).resolve().parent.parent
SHOWN = ("hit@5", "R@5", "nDCG@10", "contested_precision", "contested_recall", "contested_f1",
         "abstention_on_topic", "abstention_off_topic", "false_abstention_rate",
         "highlight_accuracy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--perspectrum", default=str(ROOT.parent / "shared" / "perspectrum"))
    parser.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--draws", type=int, default=2)
    args = parser.parse_args(argv)
    index = open_index(args.index, rebuild_from=ROOT / "seeds")
    _, claims = training.training_claims(args.perspectrum)
    prepared = learning.prepare(
        index, training.load_questions(ROOT / "train" / "questions.jsonl"),
        training.load_questions(ROOT / "eval" / "questions.jsonl"),
        always_train=training.load_questions(ROOT / "train" / "off_topic.jsonl"),
        extra_examples=claims)
    rows = []
    for share in args.shares:
        draws = 1 if share >= 1 else args.draws  # every draw of the whole set is the same
        figures = [learning.score_folds(index, prepared, share=share, draw=d)["all"]
                   for d in range(draws)]
        rows.append((share, [float(np.mean([f[m] for f in figures])) for m in SHOWN]))
        print(f"share {share:g} done ({draws} draw{'s' if draws > 1 else ''})", flush=True)
    questions = len(prepared.questions)
    print(f"\n{questions} questions in 5 folds; each fold trains on the share of the other "
          f"{questions * 4 // 5} shown, plus {len(prepared.extra)} claims always\n")
    print("| share | " + " | ".join(SHOWN) + " |")
    print("|---" * (len(SHOWN) + 1) + "|")
    for share, values in rows:
        print(f"| {share:g} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
