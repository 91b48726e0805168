"""FAISS vs exact scan on Perspectrum: is the top 10 of `Index.search` the exact numpy scan's?

    python benchmarks/faiss_exact.py [--perspectrum ../shared/perspectrum] [--split dev]
"""

from __future__ import annotations

import argparse

from askcorpus.retrieve import lexical_weight
from askcorpus.training import benchmark_claims, benchmark_index


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--perspectrum", default="../shared/perspectrum")
    parser.add_argument("--split", default="dev")
    args = parser.parse_args()
    index, _ = benchmark_index(args.perspectrum)
    retriever, s = index.retriever, index.settings
    mask, depth = index.view.allowed(None, None), max(10, s.candidates)
    claims = [c["text"] for c in benchmark_claims(args.perspectrum, args.split)]
    for mode in ("hybrid", "dense"):
        same = 0
        for claim in claims:
            scores = retriever.score_all(index.encode_query(claim), claim, mode)
            weight = lexical_weight(claim, named=s.named_lexical_weight,
                                    plain=s.plain_lexical_weight)
            exact = retriever.exact_candidates(scores, mask, depth=depth, rrf_k=s.rrf_k,
                                               lexical_weight=weight)[:10]
            found = index.search(claim, k=10, mode=mode)
            same += [c.passage.passage_id for c in found] == [
                index.passages()[c.row].passage_id for c in exact]
        print(f"{mode}: top 10 identical for {same} of {len(claims)} claims")


if __name__ == "__main__":
    main()
