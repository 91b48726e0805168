"""Lookups ("Patrick James", "white flag"): what answering them by the passages that hold
their words changes, against the judge alone, in the same run.

    python benchmarks/lookups.py [--perspectrum ../shared/perspectrum]

On the seed index (built if needed), with ``Settings.answer_lookups`` off, then on:

- names: every catalog actor's name and alias that some passage holds word for word (BM25
  stems): the share answered, and the share whose first citation (or any) holds it;
- off-topic: the Perspectrum dev claims and the training off-topic claims asked of the seed
  corpus (none is phrased as a question, so each is a lookup): the share answered;
- the evaluation questions read as lookups: none, so none of their answers can change;
- Perspectrum dev through ``Index.ask`` (its claims are lookups too): nDCG@10, both-sides@10;
- warm ``Index.ask`` p50 over the names.

Nothing here chooses a parameter: lookup.py has none.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from askcorpus.api import Index, open_index
from askcorpus.evaluation.metrics import claim_metrics
from askcorpus.lookup import holds, looked_up
from askcorpus.training import benchmark_claims, benchmark_index, load_questions

ROOT = Path(__file__).resolve().parent.parent


def held_names(index: Index) -> list[str]:
    """Catalog names and aliases that one passage holds word for word."""
    passages = zip(index.passages(), index.searchable(), strict=True)
    texts = [p.text for p, searchable in passages if searchable]
    names = sorted({n for a in index.actors.values() for n in (a.name, *a.aliases)})
    return [n for n in names if any(holds(n, t) for t in texts)]


def answered_share(index: Index, texts: Sequence[str]) -> float:
    return float(np.mean([index.ask(t, k=5).status != "no_answer" for t in texts]))


def cited(index: Index, names: Sequence[str], depth: int) -> float:
    """The share of ``names`` whose first ``depth`` citations hold them in a passage."""
    return float(np.mean([any(holds(name, c.passage.text)
                              for c in index.ask(name, k=5).citations[:depth])
                          for name in names]))


def ask_ms(indexes: Sequence[Index], texts: Sequence[str], rounds: int = 3
           ) -> list[list[float]]:
    """Each index's warm ``ask`` times in ms, taking turns text by text so load hits all alike."""
    times: list[list[float]] = [[] for _ in indexes]
    for _ in range(rounds):
        for text in texts:
            for index, spent in zip(indexes, times, strict=True):
                started = time.perf_counter()
                index.ask(text, k=5)
                spent.append((time.perf_counter() - started) * 1000)
    return times


def perspectrum(index: Index, claims: list[dict]) -> dict[str, float]:
    rankings = {c["id"]: [x.passage.doc_id for x in index.ask(c["text"], k=10).citations]
                for c in claims}
    scores = claim_metrics(claims, rankings)
    return {"nDCG@10": scores["nDCG@10"], "both_sides@10": scores["both_sides@10"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--perspectrum", default=str(ROOT.parent / "shared" / "perspectrum"))
    args = parser.parse_args(argv)
    seeds = open_index(args.index, rebuild_from=ROOT / "seeds")
    bench, _ = benchmark_index(args.perspectrum)
    claims = benchmark_claims(args.perspectrum, "dev")
    off_topic = [c["text"] for c in claims] + [
        q["question"] for q in load_questions(ROOT / "train" / "off_topic.jsonl")]
    questions = [q["question"] for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    names = held_names(seeds)
    seeds.ask("warm-up query", k=1)
    print(f"{len(names)} catalog names held by a passage; {len(off_topic)} off-topic claims; "
          f"{sum(bool(looked_up(q)) for q in questions)} of {len(questions)} evaluation "
          "questions read as lookups")
    print("| lookups | names answered | citation [1] holds the name | a citation holds it "
          "| off-topic answered | Perspectrum dev nDCG@10 | both sides@10 "
          "| ask p50 on names (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    variants = [i.with_settings(replace(i.settings, answer_lookups=on))
                for on in (False, True) for i in (seeds, bench)]
    latency = [float(np.median(t)) for t in ask_ms(variants[::2], names)]
    for on, s, b, ms in zip((False, True), variants[::2], variants[1::2], latency, strict=True):
        p = perspectrum(b, claims)
        print(f"| {'answered by their holders' if on else 'left to the judge'} "
              f"| {answered_share(s, names):.3f} | {cited(s, names, 1):.3f} "
              f"| {cited(s, names, 5):.3f} "
              f"| {answered_share(s, off_topic):.3f} | {p['nDCG@10']:.3f} "
              f"| {p['both_sides@10']:.3f} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
