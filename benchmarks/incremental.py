"""Incremental build at scale: a full build of N Perspectrum passages as a JSONL corpus, then a
rebuild after editing one document, in one run (issue target: <= 0.05x the full build).

    python benchmarks/incremental.py [--perspectrum ../shared/perspectrum] [--documents 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import askcorpus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perspectrum", default="../shared/perspectrum")
    parser.add_argument("--documents", type=int, default=10_000)
    args = parser.parse_args()
    lines = (Path(args.perspectrum) / "corpus.jsonl").read_text("utf-8").splitlines()
    lines = lines[:args.documents]
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        (corpus / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        started = time.perf_counter()
        askcorpus.build(corpus, index)
        full = time.perf_counter() - started
        middle = len(lines) // 2
        row = json.loads(lines[middle])
        row["text"] += " This sentence was edited."
        lines[middle] = json.dumps(row)
        (corpus / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        started = time.perf_counter()
        askcorpus.build(corpus, index)
        incremental = time.perf_counter() - started
    print(f"full build of {len(lines)} documents {full:.1f} s; rebuild after editing one "
          f"{incremental:.1f} s; ratio {incremental / full:.3f}")


if __name__ == "__main__":
    main()
