"""Short questions ("Who is Yuri Kim?", "What is the CSTO?"): answered when the corpus
says, abstained on when it does not, by each judge in the same run.

    python benchmarks/short_questions.py [--models DIR ...]

eval/short.jsonl holds 30 of them: 18 about actors the seed catalog describes (every other
actor of catalog.toml, reserved: no training question of 7 words or fewer names them, which
tests/test_training_data.py checks) and 12 about on-topic people and things the seed
documents never mention. For each judge (the 0.1 rules, the shipped models, and any
``--models`` folder, e.g. an earlier release's), with lookups (lookup.py) off and on, it
prints the share of answerable ones answered, the share whose answer cites a passage naming
the subject, and the share of unanswerable ones abstained on.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from askcorpus.answering import Judge, RuleJudge
from askcorpus.api import Index, open_index
from askcorpus.learned import LearnedJudge, Models
from askcorpus.lookup import holds
from askcorpus.settings import Settings
from askcorpus.training import load_questions

ROOT = Path(__file__).resolve().parent.parent


def score(index: Index, rows: list[dict]) -> dict[str, float]:
    answered, named, abstained = [], [], []
    for row in rows:
        answer = index.ask(row["question"], k=5)
        if row["answerable"]:
            answered.append(answer.status != "no_answer")
            named.append(any(holds(row["subject"], c.passage.text) for c in answer.citations))
        else:
            abstained.append(answer.status == "no_answer")
    return {"answered": float(np.mean(answered)), "names the subject": float(np.mean(named)),
            "abstained": float(np.mean(abstained)), "n answerable": len(answered),
            "n unanswerable": len(abstained)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--questions", default=str(ROOT / "eval" / "short.jsonl"))
    parser.add_argument("--models", nargs="*", default=[],
                        help="models folders to compare (askcorpus train --out)")
    args = parser.parse_args(argv)
    index = open_index(args.index, rebuild_from=ROOT / "seeds")
    rows = load_questions(args.questions)
    index.ask("warm-up query", k=1)
    print(f"{len(rows)} short questions ({args.questions})")
    print("| judge | lookups | answerable answered | cites a passage naming the subject "
          "| unanswerable abstained |")
    print("|---|---|---|---|---|")
    for lookups in (False, True):
        for name, judge in judges(replace(index.settings, answer_lookups=lookups),
                                  args.models).items():
            s = score(index.with_judge(judge), rows)
            print(f"| {name} | {'on' if lookups else 'off'} "
                  f"| {s['answered']:.3f} of {s['n answerable']} | {s['names the subject']:.3f} "
                  f"| {s['abstained']:.3f} of {s['n unanswerable']} |")
    return 0


def judges(settings: Settings, folders: list[str]) -> dict[str, Judge]:
    rules = RuleJudge(settings)
    out: dict[str, Judge] = {"rules (0.1)": rules,
                             "shipped models": LearnedJudge(Models.load(), rules)}
    for folder in folders:
        out[f"models in {folder}"] = LearnedJudge(Models.load(Path(folder)), rules)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
