"""What reading "what the corpus lacks" (the ``unmatched`` feature) costs and what it decides,
against the same models blinded to it, in the same run.

    python benchmarks/unmatched.py

The abstention model reads, among its features, how close the corpus comes to the question's
words that its first three passages lack (features.py, ``unmatched``): one more encode per
question. Blinded, the judge is handed retrieval without ``closest``, so the feature reads 1
(nothing lacking) and nothing more is encoded. The same shipped models answer both ways:

- the evaluation questions (never trained on): the share of unanswerable ones abstained on,
  of answerable ones wrongly abstained on;
- ``eval/short.jsonl`` (held out): the same two shares;
- warm ``Index.ask`` p50 and p95 over the evaluation questions, taking turns question by
  question so machine load hits both alike (``lookups.ask_ms``).

It chooses nothing; the models were trained with the feature (``askcorpus train``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from lookups import ask_ms  # the same turn-taking timer

from askcorpus.answering import Judge, Retrieval, Verdict
from askcorpus.api import Index, open_index
from askcorpus.training import load_questions
from askcorpus.view import CorpusView

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Blinded:
    """A judge handed retrieval that cannot look up what the corpus lacks."""

    inner: Judge

    def judge(self, retrieval: Retrieval, view: CorpusView) -> Verdict:
        return self.inner.judge(replace(retrieval, closest=None), view)


def abstention(index: Index, rows: Sequence[dict]) -> tuple[float, float]:
    """(share of unanswerable rows abstained on, share of answerable ones abstained on)."""
    abstained = {True: [], False: []}
    for row in rows:
        abstained[bool(row["answerable"])].append(index.ask(row["question"]).status
                                                  == "no_answer")
    return float(np.mean(abstained[False])), float(np.mean(abstained[True]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    args = parser.parse_args(argv)
    seeds = open_index(args.index, rebuild_from=ROOT / "seeds")
    blinded = seeds.with_judge(Blinded(seeds.judge()))
    evaluation = load_questions(ROOT / "eval" / "questions.jsonl")
    short = load_questions(ROOT / "eval" / "short.jsonl")
    for row in evaluation[:5]:  # warm both
        seeds.ask(row["question"])
        blinded.ask(row["question"])
    timed = [(float(np.median(t)), float(np.percentile(t, 95)))
             for t in ask_ms([blinded, seeds], [row["question"] for row in evaluation])]
    print("| unmatched | eval: unanswerable abstained | eval: answerable abstained | "
          "short: unanswerable abstained | short: answerable abstained | ask p50 / p95 (ms) |")
    print("|---|---|---|---|---|---|")
    for label, index, (p50, p95) in (("blinded (reads 1)", blinded, timed[0]),
                                     ("read", seeds, timed[1])):
        e_unanswerable, e_answerable = abstention(index, evaluation)
        s_unanswerable, s_answerable = abstention(index, short)
        print(f"| {label} | {e_unanswerable:.3f} | {e_answerable:.3f} | {s_unanswerable:.3f} "
              f"| {s_answerable:.3f} | {p50:.1f} / {p95:.1f} |")
    print(f"ask p50 ratio read / blinded: {timed[1][0] / timed[0][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
