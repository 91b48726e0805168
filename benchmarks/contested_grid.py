"""How the contested-flag settings were chosen, and how well the choice holds on unseen questions.

Usage: python benchmarks/contested_grid.py [--index index] [--corpus seeds]

Runs the real ``Index.ask`` (full system) on every question of eval/questions.jsonl for each
combination of ``side_min_dense``, ``side_max_rank`` and ``asked_side_min_dense`` and prints
contested-flag precision / recall / F1. Because the defaults were picked on the same 110
questions, it also reports a two-fold check: pick the best combination on the odd-numbered
questions, score it on the even-numbered ones, and the other way round.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from askcorpus.api import Index, open_index
from askcorpus.evaluation.metrics import flag_prf
from askcorpus.training import read_jsonl as load_jsonl

QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
SIDE_MIN_DENSE = (0.55, 0.60, 0.65)
SIDE_MAX_RANK = (5, 7, 10, 15)
# 1.0 switches the asked-for-sides rule off (it only ever loosens side_min_dense).
ASKED_SIDE_MIN_DENSE = (0.45, 0.50, 0.55, 1.0)

Combo = tuple[float, int, float]


def flags(index: Index, questions: list[dict], combo: Combo) -> dict[str, bool]:
    side_min, max_rank, asked_min = combo
    tuned = index.with_settings(replace(index.settings, side_min_dense=side_min,
                                        side_max_rank=max_rank, asked_side_min_dense=asked_min))
    return {q["id"]: tuned.ask(q["question"], k=10).status == "contested" for q in questions}


def score(questions: list[dict], predicted: dict[str, bool]) -> dict[str, float | None]:
    return flag_prf([q["contested"] for q in questions], [predicted[q["id"]] for q in questions])


def best(questions: list[dict], runs: dict[Combo, dict[str, bool]]) -> Combo:
    return max(runs, key=lambda combo: (score(questions, runs[combo])["f1"] or 0.0))


def fmt(prf: dict[str, float | None]) -> str:
    return " ".join(f"{k[0].upper()} {v:.3f}" if v is not None else f"{k[0].upper()} n/a"
                    for k, v in prf.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="index")
    parser.add_argument("--corpus", default="seeds")
    args = parser.parse_args()
    index = open_index(args.index, rebuild_from=args.corpus, log=True)
    defaults = index.settings
    questions = load_jsonl(QUESTIONS)
    grid = list(itertools.product(SIDE_MIN_DENSE, SIDE_MAX_RANK, ASKED_SIDE_MIN_DENSE))
    runs = {combo: flags(index, questions, combo) for combo in grid}
    print("side_min_dense side_max_rank asked_side_min_dense   all 110 questions")
    for combo in sorted(runs, key=lambda c: -(score(questions, runs[c])["f1"] or 0.0)):
        prf = fmt(score(questions, runs[combo]))
        print(f"{combo[0]:>14} {combo[1]:>13} {combo[2]:>20}   {prf}")
    default = (defaults.side_min_dense, defaults.side_max_rank, defaults.asked_side_min_dense)
    print(f"\ndefaults {default}: {fmt(score(questions, runs[default]))}"
          if default in runs else f"\ndefaults {default} are outside the grid")
    odd = [q for q in questions if int(q["id"][1:]) % 2 == 1]
    even = [q for q in questions if int(q["id"][1:]) % 2 == 0]
    held_out: dict[str, bool] = {}
    for tune, test, name in ((odd, even, "odd -> even"), (even, odd, "even -> odd")):
        chosen = best(tune, runs)
        held_out.update({q["id"]: runs[chosen][q["id"]] for q in test})
        print(f"{name}: chose {chosen} (tuned F1 {score(tune, runs[chosen])['f1']:.3f}); "
              f"held out: {fmt(score(test, runs[chosen]))}")
    print(f"two-fold held-out, all questions: {fmt(score(questions, held_out))}")


if __name__ == "__main__":
    main()
