"""Warm query latency of askcorpus next to a bare "encode + FAISS search" baseline, same run.

Usage: python benchmarks/query_latency.py [--index index] [--corpus seeds] [--n 50]
Prints the median and p95 of each, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from askcorpus.api import open_index


def _questions(n: int) -> list[str]:
    path = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    questions = [r["question"] for r in rows]
    return (questions * (n // len(questions) + 1))[:n]


def _timed(fn: Callable[[str], object], items: list[str]) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="index")
    parser.add_argument("--corpus", default="seeds")
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    index = open_index(args.index, rebuild_from=args.corpus, log=True)
    encoder = index.encoder()
    dense = index.retriever.dense  # the baseline searches the same FAISS index
    questions = _questions(args.n)

    def baseline(q: str) -> None:
        dense.search(encoder.encode([q])[0], 10)

    for q in questions[:5]:  # warm up both paths (model, caches)
        baseline(q)
        index.ask(q)
    base = _timed(baseline, questions)
    full = _timed(lambda q: index.ask(q, k=5), questions)
    search = _timed(lambda q: index.search(q, k=10), questions)
    for name, xs in (("encode + FAISS (baseline)", base), ("Index.search (hybrid)", search),
                     ("Index.ask (full)", full)):
        print(f"{name:28} median {statistics.median(xs):7.1f} ms   p95 "
              f"{float(np.percentile(xs, 95)):7.1f} ms   ratio to baseline "
              f"{statistics.median(xs) / statistics.median(base):5.2f}x")


if __name__ == "__main__":
    main()
