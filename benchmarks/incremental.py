"""Incremental build at scale: a full build of N Perspectrum passages as a JSONL corpus, then
rebuilds after editing one document at a time, then a full build of the edited corpus, in one
run (issue target: <= 0.05x the full build). The last rebuild is checked against that second
full build: artifact by artifact, and by the top 10 of every Perspectrum dev claim.

    python benchmarks/incremental.py [--perspectrum ../shared/perspectrum] [--documents 10000]
                                     [--edits 3]

The model is loaded before the first build, so that no build is charged for it: a fresh
`askcorpus build` process pays it too (~6 s here), for a full build and a rebuild alike.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import askcorpus
from askcorpus.embedding import load_encoder
from askcorpus.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perspectrum", default="../shared/perspectrum")
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=3, help="rebuilds, one edit each")
    args = parser.parse_args()
    lines = (Path(args.perspectrum) / "corpus.jsonl").read_text("utf-8").splitlines()
    lines = lines[:args.documents]
    claims = [json.loads(line)["text"] for line in
              (Path(args.perspectrum) / "queries-dev.jsonl").read_text("utf-8").splitlines()]
    load_encoder(Settings().model).encode(["Load the model before timing any build."])
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        _write(corpus, lines)
        full = _timed(lambda: askcorpus.build(corpus, index))[0]
        rebuilds, rebuilt = [], None
        for edit in range(max(args.edits, 1)):
            _write(corpus, _edited(lines, (edit + 1) * len(lines) // (args.edits + 1)))
            seconds, rebuilt = _timed(lambda: askcorpus.build(corpus, index))
            rebuilds.append(seconds)
        again, reference = _timed(lambda: askcorpus.build(corpus, Path(scratch) / "full"))
        _report(len(lines), (full, again), rebuilds)
        _compare(rebuilt, reference, claims)  # type: ignore[arg-type]  # one rebuild at least


def _write(corpus: Path, lines: list[str]) -> None:
    (corpus / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _edited(lines: list[str], row: int) -> list[str]:
    """``lines`` with one more sentence in document ``row`` (edits accumulate)."""
    data = json.loads(lines[row])
    data["text"] += " This sentence was edited."
    lines[row] = json.dumps(data)
    return lines


def _timed(build: Callable[[], askcorpus.Index]) -> tuple[float, askcorpus.Index]:
    started = time.perf_counter()
    index = build()
    return time.perf_counter() - started, index


def _report(documents: int, fulls: tuple[float, float], rebuilds: list[float]) -> None:
    ratios = [r / f for r in rebuilds for f in fulls]
    print(f"{documents} documents: full builds {fulls[0]:.1f} s (original corpus) and "
          f"{fulls[1]:.1f} s (edited corpus); rebuilds after editing one document: "
          f"{', '.join(f'{r:.2f}' for r in rebuilds)} s; ratio {min(ratios):.3f}-"
          f"{max(ratios):.3f} (each rebuild over each full build)")


def _compare(rebuilt: askcorpus.Index, full: askcorpus.Index, claims: list[str]) -> None:
    """How the rebuilt index differs from a full build of the same corpus."""
    files = {name: (_read(rebuilt, name), _read(full, name)) for name in _files(full)}
    same = sorted(name for name, (a, b) in files.items() if a == b)
    differ = sorted(set(files) - set(same))
    gap = float(np.abs(rebuilt.retriever.vectors - full.retriever.vectors).max())
    top = sum([c.passage.passage_id for c in rebuilt.search(q, k=10)] ==
              [c.passage.passage_id for c in full.search(q, k=10)] for q in claims)
    print(f"vs a full build of the edited corpus: {len(same)} of {len(files)} artifacts "
          f"byte-identical{' (differ: ' + ', '.join(differ) + ')' if differ else ''}; "
          f"largest passage-vector difference {gap:.2g}; top-10 identical for {top} of "
          f"{len(claims)} dev claims")


def _files(index: askcorpus.Index) -> list[str]:
    folder = index.index_dir / index.generation
    return [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"]


def _read(index: askcorpus.Index, name: str) -> bytes:
    return (index.index_dir / index.generation / name).read_bytes()


if __name__ == "__main__":
    main()
